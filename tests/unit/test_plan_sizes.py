"""The plan's closed-form network sizes (alarmbench.plan.sizes, torch-free so the DAG build needs no
torch) against the real network classes counted on torch's meta device: every target kind, alarm
and fit network, on every (sample shape, hyper-parameters) family of the registry and on odd
shapes besides. A layer added to a class and not to its closed form fails here."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alarmbench.data import registry
from alarmbench.data.spec import HyperParams, default_hparams
from alarmbench.methods import deepsad_ruff
from alarmbench.methods.devnet import DevNet, DevNetNet
from alarmbench.nets.alarms import A3_2020Alarm, A3Alarm, R2AD2Alarm
from alarmbench.nets.keras import KerasLSTM
from alarmbench.nets.targets import build_target, deepsvdd_target, r2ad2_target
from alarmbench.plan import sizes


def _trainable(net) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _forward_macs(net, shape, run=None) -> tuple[int, int]:
    """(MACs of one row through `run(x)` (default net(x)), of them those inside net.encoder), from
    forward hooks: a Linear's weights, a convolution's output elements × weight[0], a transposed
    convolution's input elements × weight[0]."""
    macs = {"all": 0, "enc": 0}
    encoder = set(net.encoder.modules()) if hasattr(net, "encoder") else set()

    def count(module, inputs, output):
        if isinstance(module, nn.Linear):
            n = module.in_features * module.out_features
        else:
            per = module.weight[0].numel()
            n = (output[0] if isinstance(module, nn.Conv2d) else inputs[0][0]).numel() * per
        macs["all"] += int(n)
        if module in encoder:
            macs["enc"] += int(n)

    hooks = [m.register_forward_hook(count) for m in net.modules()
             if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    try:
        net.eval()
        with torch.no_grad():
            (run or net)(torch.zeros(1, *shape, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return macs["all"], macs["enc"]


def real_target_size(kind: str, shape: tuple[int, ...], hp: HyperParams) -> sizes.NetSize:
    with torch.device("meta"):
        if kind == "r2ad2":
            net = r2ad2_target(shape, hp.encoder)
        elif kind == "deepsvdd":
            net = deepsvdd_target(shape, hp.encoder)
        else:  # methods/a3.py's _build_a3_target
            net = build_target("a3_conv", shape) if hp.a3_target == "conv" else build_target("a3_dense", shape,
                                                                                             tuple(hp.a3_target))
        macs, _ = _forward_macs(net, shape, lambda x: net.forward_with_activations(x))
        _, enc_macs = _forward_macs(net, shape, net.encode)
        acts = sum(a[0].numel() for a in net.forward_with_activations(torch.zeros(1, *shape))[1])
    return sizes.NetSize(net.n_parameters(), macs, acts, _trainable(net.encoder), enc_macs)


def registry_families() -> list[tuple[tuple[int, ...], HyperParams]]:
    """Each distinct (sample shape, hyper-parameters) of the registry's data sets."""
    out = {}
    for spec in registry.REGISTRY.values():
        shape = spec.shape.sample_shape
        n = sizes.n_features(shape)
        hp = spec.hparams or default_hparams(n, spec.shape.rows)
        out[(shape, hp)] = None
    return list(out)


FAMILIES = registry_families() + [
    ((6,), HyperParams(encoder=(5,), a3_target=(4,))),  # one-layer AEs
    ((9,), HyperParams(encoder=(7, 3), a3_target=(8, 6, 4, 2))),
    ((1, 28, 28), HyperParams(encoder=16, a3_target="conv")),  # the original's int `layer_dims`
    ((3, 4), HyperParams(encoder=(5, 3, 2), a3_target=(5, 3))),  # a 2-d sample with dense dims: the dense AE
]


def test_the_families_cover_dense_and_image_data_sets():
    shapes = [s for s, _ in FAMILIES]
    assert (28, 28) in shapes and len({s for s in shapes if len(s) == 1}) >= 5


@pytest.mark.parametrize("kind", sizes.TARGET_KINDS)
@pytest.mark.parametrize("shape,hp", FAMILIES, ids=[f"{s}-{hp.encoder}" for s, hp in FAMILIES])
def test_target_sizes_equal_the_real_networks(kind, shape, hp):
    assert sizes.target_size(kind, shape, hp) == real_target_size(kind, shape, hp)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("n,dims", [(126, (100, 50, 25, 10)), (2000, (1000, 500, 200, 75)), (7, (3, 5, 2, 9))])
def test_r2ad2_alarm_sizes_equal_the_real_alarm(n, dims, k):
    with torch.device("meta"):
        alarm = R2AD2Alarm(n, k, dims)
    lstms = [m.lstm for m in alarm.alarm.modules() if isinstance(m, KerasLSTM)]
    dense = [m for m in alarm.alarm.modules() if isinstance(m, nn.Linear)]
    macs = sum(m.weight_ih_l0.numel() * k + m.weight_hh_l0.numel() * (k - 1) for m in lstms)
    macs += sum(m.weight.numel() for m in dense)
    first = lstms[0].weight_ih_l0.numel() * k if lstms else dense[0].weight.numel()
    real = sizes.AlarmSize(sum(p.numel() for p in alarm.bn_parameters()),
                           sum(p.numel() for p in alarm.alarm_parameters()), macs, first,
                           sum(m.hidden_size for m in lstms))
    assert sizes.r2ad2_alarm_size(n, k, dims) == real


@pytest.mark.parametrize("kind,cls", [("a3", A3Alarm), ("a3-2020", A3_2020Alarm)])
@pytest.mark.parametrize("n,dims", [(11976, (1000, 500, 200, 75)), (30, (500, 200, 75)), (5, (4,))])
def test_dense_alarm_sizes_equal_the_real_alarms(kind, cls, n, dims):
    with torch.device("meta"):
        alarm = cls(n, dims)
    real = sizes.AlarmSize(0, _trainable(alarm), _forward_macs(alarm, (n,))[0])
    assert sizes.dense_alarm_size(kind, n, dims) == real


@pytest.mark.parametrize("n", [1, 6, 29, 784])
def test_devnet_size_and_loop_equal_the_real_method(n):
    with torch.device("meta"):
        net = DevNetNet(n)
    assert sizes.devnet_size(n) == sizes.NetSize(_trainable(net), _forward_macs(net, (n,))[0])
    assert (sizes.DEVNET_BATCH_SIZE, sizes.DEVNET_BATCHES_PER_EPOCH, sizes.DEVNET_PAPER_EPOCHS) == (
        DevNet.batch_size, DevNet.batches_per_epoch, DevNet.paper_epochs)


@pytest.mark.parametrize("n,dims", [(3, None), (6, None), (7, None), (99, None), (100, None), (784, None),
                                    (10, (20, 5)), (10, (9,))])
def test_ruff_sizes_equal_the_real_autoencoder(n, dims):
    assert sizes.ruff_reference_dims(n) == deepsad_ruff.reference_dims(n)
    with torch.device("meta"):
        ae = deepsad_ruff.RuffAutoencoder(n, tuple(dims) if dims else deepsad_ruff.reference_dims(n))
        macs, enc = _forward_macs(ae, (n,))
    assert sizes.ruff_size(n, dims) == sizes.NetSize(_trainable(ae), macs, 0, _trainable(ae.encoder), enc)


def test_an_image_target_on_a_non_image_shape_is_refused_as_the_class_refuses_it():
    hp = HyperParams(encoder="conv", a3_target="conv")
    with pytest.raises(ValueError, match="28"):
        sizes.target_size("a3", (30, 30), hp)
    with pytest.raises(ValueError, match="28"):
        real_target_size("a3", (30, 30), hp)
