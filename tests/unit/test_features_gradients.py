"""Per-sample gradient features (docs/methods.md#r2ad2-gradients): both engines (outer-product "layers" and torch.func
"vmap") equal a per-sample backward loop."""

from __future__ import annotations

import copy

import pytest
import torch

from alarmbench.features.gradients import PerSampleGradients, per_sample_gradients
from alarmbench.nets.targets import ConvAE, DenseAE
from alarmbench.nets.base import CropEnd, TargetNet


def loop_gradients(model: torch.nn.Module, x: torch.Tensor, *, from_logits: bool | None = None) -> torch.Tensor:
    """Reference: batch of one, model in eval mode, ordinary backward, flattened in named order."""
    m = copy.deepcopy(model).eval()
    if from_logits is not None:
        m.bce_from_logits = from_logits
    rows = []
    for i in range(x.shape[0]):
        m.zero_grad()
        m.reconstruction_loss(m(x[i : i + 1]), x[i : i + 1]).backward()
        rows.append(torch.cat([p.grad.reshape(-1) for _, p in m.named_parameters()]))
    return torch.stack(rows)


def perturbed(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: v + 0.05 * torch.randn(v.shape, generator=g, dtype=v.dtype) for k, v in model.state_dict().items()}


@pytest.fixture
def dense() -> DenseAE:
    torch.manual_seed(0)
    return DenseAE(29, (20, 10, 5)).double().train()  # train mode on purpose: extraction must use eval


ENGINES = pytest.mark.parametrize("engine", ["layers", "vmap"])


@ENGINES
def test_dense_equals_loop_clipped_formula_with_targets_outside_unit_interval(dense: DenseAE, engine: str) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.cat([torch.rand(5, 29, generator=g), torch.randn(5, 29, generator=g) + 0.5]).double()  # incl. N(0.5, 1)
    got = per_sample_gradients(dense, x, chunk_size=3, engine=engine)
    assert got.shape == (10, 1754)
    torch.testing.assert_close(got, loop_gradients(dense, x), rtol=1e-10, atol=1e-13)
    assert dense.training  # caller's mode untouched


@ENGINES
def test_conv_equals_loop_exact_formula(engine: str) -> None:
    torch.manual_seed(0)
    m = ConvAE().double()
    x = torch.rand(3, 28, 28, dtype=torch.float64)
    x[2] = torch.randn(28, 28, dtype=torch.float64) + 0.5
    got = per_sample_gradients(m, x, engine=engine)
    assert got.shape == (3, 9657)
    torch.testing.assert_close(got, loop_gradients(m, x), rtol=1e-9, atol=1e-12)


@ENGINES
def test_multiple_snapshots_stacked_and_chunking_invariant(dense: DenseAE, engine: str) -> None:
    snaps = [perturbed(dense, s) for s in (1, 2, 3)]
    x = torch.rand(7, 29, dtype=torch.float64) * 1.5 - 0.25
    ex = PerSampleGradients(dense, snaps, chunk_size=4, engine=engine)
    got = ex(x)
    assert got.shape == (7, 3, 1754) and ex.k == 3 and ex.n_params == 1754
    for j, sd in enumerate(snaps):
        m = copy.deepcopy(dense)
        m.load_state_dict(sd)
        torch.testing.assert_close(got[:, j], loop_gradients(m, x), rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(PerSampleGradients(dense, snaps, chunk_size=100, engine=engine)(x), got,
                               rtol=1e-12, atol=1e-16)
    streamed = torch.cat([c.clone() for c in ex.iter_chunks(x, reuse_buffer=True)])
    torch.testing.assert_close(streamed, got, rtol=0, atol=0)
    half = ex(x, out_dtype=torch.float16)
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.double(), got, rtol=1e-3, atol=1e-6)


@ENGINES
def test_conv_multiple_snapshots(engine: str) -> None:
    torch.manual_seed(0)
    m = ConvAE().double()
    snaps = [perturbed(m, 1), perturbed(m, 2)]
    x = torch.rand(2, 28, 28, dtype=torch.float64)
    got = PerSampleGradients(m, snaps, engine=engine)(x)
    for j, sd in enumerate(snaps):
        mj = copy.deepcopy(m)
        mj.load_state_dict(sd)
        torch.testing.assert_close(got[:, j], loop_gradients(mj, x), rtol=1e-9, atol=1e-12)


@ENGINES
def test_formula_choice_matters_at_saturation(dense: DenseAE, engine: str) -> None:
    sat = copy.deepcopy(dense)
    with torch.no_grad():
        sat.decoder[-1].bias.fill_(60.0)  # sigmoid(z) == 1.0 in float64 ⇒ clipped region
    x = torch.rand(4, 29, dtype=torch.float64)
    clipped = per_sample_gradients(sat, x, engine=engine)  # the dense AE's own (clipped) loss
    exact = per_sample_gradients(sat, x, from_logits=True, engine=engine)
    assert torch.count_nonzero(clipped) == 0
    assert torch.count_nonzero(exact) > 0
    torch.testing.assert_close(exact, loop_gradients(sat, x, from_logits=True), rtol=1e-10, atol=1e-13)


def test_parameter_order_and_snapshot_validation(dense: DenseAE) -> None:
    ex = PerSampleGradients(dense)
    assert ex.names == [n for n, _ in dense.named_parameters()]
    assert ex.offsets[1] == 29 * 20 and ex.offsets[-1] == 1754
    bad = dense.state_dict()
    bad.pop("decoder.6.bias")
    with pytest.raises(KeyError, match="decoder.6.bias"):
        PerSampleGradients(dense, [bad])
    as_module = copy.deepcopy(dense)
    as_module.load_state_dict(perturbed(dense, 5))
    x = torch.rand(3, 29, dtype=torch.float64)
    torch.testing.assert_close(PerSampleGradients(dense, [as_module])(x), PerSampleGradients(dense, [perturbed(dense, 5)])(x))
    with pytest.raises(ValueError, match="from_logits"):
        PerSampleGradients(torch.nn.Linear(2, 2))


class _OddConvAE(TargetNet):
    """Convolutions the R2-AD2 targets do not use: stride, dilation, output padding, no bias,
    a layer applied twice (its per-sample gradient is the sum of both uses)."""

    input_shape = (1, 9, 9)
    bce_from_logits = True

    def __init__(self) -> None:
        super().__init__()
        self.shared = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(1, 3, 3, stride=2, padding=1, dilation=2, bias=False), torch.nn.Tanh(),  # 4×4
            self.shared, torch.nn.ReLU(), self.shared, torch.nn.Sigmoid(),
            torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),  # 8×8
            torch.nn.ConvTranspose2d(2, 1, 2, dilation=2, bias=False),  # 10×10
            CropEnd(1),
        )

    def _finish(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return out


def test_layers_engine_strided_dilated_shared_convolutions_equal_loop() -> None:
    torch.manual_seed(0)
    m = _OddConvAE().double()
    x = torch.randn(4, 1, 9, 9, dtype=torch.float64) + 0.5
    ex = PerSampleGradients(m, engine="layers")
    assert ex.path == "per-snapshot"
    torch.testing.assert_close(ex(x)[:, 0], loop_gradients(m, x), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(ex(x), PerSampleGradients(m, engine="vmap")(x), rtol=1e-9, atol=1e-12)


class _NormedAE(DenseAE):
    """A dense AE with a trainable batch norm (inference mode): not an outer-product layer."""

    def __init__(self) -> None:
        super().__init__(6, (4, 2))
        self.encoder.insert(1, torch.nn.BatchNorm1d(4))


def test_auto_engine_falls_back_to_vmap_for_other_layers(dense: DenseAE) -> None:
    assert PerSampleGradients(dense).path == "stacked-dense"  # all snapshots in one pass
    assert PerSampleGradients(ConvAE()).path == "vmap"  # faster for the conv AE
    assert PerSampleGradients(ConvAE(), engine="layers").path == "per-snapshot"
    torch.manual_seed(0)
    m = _NormedAE().double()
    with torch.no_grad():
        m.encoder[1].running_mean.uniform_(-1, 1)
        m.encoder[1].weight.uniform_(0.5, 2)
    ex = PerSampleGradients(m)
    assert ex.engine == "vmap"
    x = torch.rand(5, 6, dtype=torch.float64)
    torch.testing.assert_close(ex(x)[:, 0], loop_gradients(m, x), rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="outer-product"):
        PerSampleGradients(m, engine="layers")
    with pytest.raises(ValueError, match="unknown engine"):
        PerSampleGradients(dense, engine="fast")
