"""Target networks: parameter/activation counts (docs/methods.md#targets), shapes, layer semantics, registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alarmbench.nets.targets import A3ConvAE, A3DenseAE, ConvAE, DeepSVDDConvAE, DeepSVDDDenseAE, DenseAE, MnistCNN, build_target, deepsvdd_target, r2ad2_target


def dense_p(d: int, a: int, b: int, c: int) -> int:
    return 2 * d * a + 2 * a * b + 2 * b * c + 2 * a + 2 * b + c + d


@pytest.mark.parametrize(
    ("d", "dims", "p", "acts"),
    [
        (29, (20, 10, 5), 1754, 65),  # CreditCard / DoH
        (54, (40, 20, 10), 6504, 130),  # CoverType
        (122, (40, 20, 10), 12012, 130),  # NSL-KDD
        (6, (5, 3, 2), 126, 18),  # Mammography
        (80, (60, 40, 20), 16300, 220),  # IDS
    ],
)
def test_r2ad2_dense_ae_parameter_and_activation_counts(d: int, dims: tuple[int, int, int], p: int, acts: int) -> None:
    m = DenseAE(d, dims)
    assert m.n_parameters() == p == dense_p(d, *dims)
    assert m.n_activations() == acts == 2 * dims[0] + 2 * dims[1] + dims[2]
    assert m.bce_from_logits is False  # clipped Keras BCE (Reshape after the sigmoid)


def test_r2ad2_dense_ae_structure_dropout_and_logits() -> None:
    m = DenseAE(29, (20, 10, 5))
    drops = [l for l in m.modules() if isinstance(l, nn.Dropout)]
    assert len(drops) == 4 and all(l.p == 0.4 for l in drops)
    assert isinstance(m.encoder[-1], nn.ReLU)  # code activation, no dropout after the code
    assert isinstance(m.decoder[-1], nn.Linear)  # logits out; the loss applies the sigmoid
    m.eval()
    x = torch.rand(4, 29)
    z = m(x)
    assert z.shape == x.shape and (z < 0).any()  # pre-sigmoid values
    assert [a.shape[1] for a in m.hidden_activations(x)] == [20, 10, 5, 10, 20]
    assert m.parameter_names()[:2] == ["encoder.0.weight", "encoder.0.bias"]
    assert m.parameter_names()[-1] == "decoder.6.bias"


def test_conv_ae_counts_shapes_and_tf_same_transpose_cropping() -> None:
    m = ConvAE((28, 28))
    assert m.n_parameters() == 9657
    per_layer = [sum(p.numel() for p in l.parameters()) for l in m.modules() if isinstance(l, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    assert per_layer == [80, 584, 3144, 4608, 584, 584, 73]
    assert m.activation_sizes() == [6272, 1568, 8, 512, 2048, 1568] and m.n_activations() == 11976
    m.eval()
    assert m(torch.rand(3, 28, 28)).shape == (3, 28, 28)
    assert ConvAE((1, 28, 28))(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    # TF 'same' stride-2 transpose: full 2H+1 output with its LAST row/column dropped
    convt = m.decoder[4]
    h = torch.randn(1, 8, 8, 8)
    full = convt(h)
    assert full.shape[-1] == 17
    torch.testing.assert_close(m.decoder[5](full), full[..., :16, :16])
    with pytest.raises(ValueError, match="28×28"):
        ConvAE((32, 32))


def test_deepsvdd_aes_no_bias_leaky_relu_frozen_bn() -> None:
    d = DeepSVDDDenseAE(29, (20, 10, 5))
    assert all(l.bias is None for l in d.modules() if isinstance(l, nn.Linear))
    assert d.n_parameters() == 2 * 29 * 20 + 2 * 20 * 10 + 2 * 10 * 5
    assert isinstance(d.encoder[-1], nn.Linear)  # linear code
    assert all(a.negative_slope == 0.01 for a in d.modules() if isinstance(a, nn.LeakyReLU))
    assert d.encode(torch.rand(3, 29)).shape == (3, 5)
    c = DeepSVDDConvAE()
    assert all(getattr(l, "bias", None) is None for l in c.modules() if isinstance(l, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)))
    assert c.n_parameters() == 200 + 800 + 196 * 32 + 200 + 800 + 200
    assert not any(isinstance(l, nn.BatchNorm2d) for l in c.modules())  # frozen ⇒ fixed scale, no stats
    c.eval()
    assert c(torch.rand(2, 28, 28)).shape == (2, 28, 28) and c.encode(torch.rand(2, 28, 28)).shape == (2, 32)
    assert c.bce_from_logits is None
    with pytest.raises(TypeError):
        c.reconstruction_loss(torch.zeros(1, 28, 28), torch.zeros(1, 28, 28))


def test_a3_targets_counts_and_dropout_placement() -> None:
    conv = A3ConvAE()
    assert conv.activation_sizes() == [3136, 392, 128, 128, 512, 3136] and conv.n_activations() == 7432
    conv.eval()
    assert conv(torch.rand(2, 28, 28)).shape == (2, 28, 28)
    # the spatial dropout precedes the last ReLU: activations differ in training mode
    conv.train()
    torch.manual_seed(0)
    x = torch.rand(2, 28, 28)
    assert not torch.equal(conv.hidden_activations(x)[-1], conv.hidden_activations(x)[-1])
    dense = A3DenseAE(80, [150, 80, 40, 20])
    assert dense.n_activations() == 2 * (150 + 80 + 40) + 20
    assert [type(l) for l in dense.decoder[-2:]] == [nn.Dropout, nn.Linear] and dense.decoder[-2].p == 0.1
    assert dense.bce_from_logits is True and conv.bce_from_logits is True


def test_mnist_cnn_activations_and_logits() -> None:
    m = MnistCNN().eval()
    assert m.activation_sizes() == [21632, 36864, 128]
    assert m(torch.rand(3, 28, 28)).shape == (3, 10)
    s = MnistCNN(include_softmax=True).eval()
    acts = s.hidden_activations(torch.rand(2, 28, 28))
    assert len(acts) == 4 and torch.allclose(acts[-1].sum(1), torch.ones(2))
    assert s.activation_names()[-1] == "softmax"


def test_registry_builds_per_data_set() -> None:
    assert isinstance(r2ad2_target((28, 28), 8), ConvAE)
    assert isinstance(r2ad2_target(122, (40, 20, 10)), DenseAE)
    assert isinstance(deepsvdd_target((28, 28), 8), DeepSVDDConvAE)
    assert isinstance(deepsvdd_target(54, (40, 20, 10)), DeepSVDDDenseAE)
    assert build_target("a3_dense", 29, [50, 25, 10, 5]).n_activations() == 2 * (50 + 25 + 10) + 5
    with pytest.raises(ValueError, match="unknown target kind"):
        build_target("nope", 3)
