"""Sizes of the networks a cell trains, counted on the real network classes.

Every net is built on torch's meta device (no memory, no data, no initialisation arithmetic), so
the counts cannot drift from the code that trains: trainable parameters from `parameters()`,
multiply-accumulates (MACs) of one row's forward pass from forward hooks on the Linear and
convolution layers (the dense and the image targets alike), hidden activations from the target's
own taps. The recurrent alarm is counted per module: an LSTM's weights meet each row once per
time step (snapshot). Also the per-row FLOPs and gate values of R2-AD2's alarm step, read by
both the cost model (`costs`) and the run that measures the machine (`calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from alarmbench.data.spec import HyperParams


@dataclass(frozen=True)
class NetSize:
    params: int  # trainable parameters
    macs: int  # multiply-accumulates of one row's forward pass
    activations: int = 0  # hidden activation values per row (the A³ taps)
    encoder_params: int = 0  # trainable parameters of the encoder (φ)
    encoder_macs: int = 0


def _trainable(net) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _forward_macs(net, shape: tuple[int, ...], run=None) -> tuple[int, int]:
    """(MACs of one row through `run(x)` (default net(x)), of them those inside net.encoder)."""
    import torch
    from torch import nn

    macs = {"all": 0, "enc": 0}
    encoder = set(net.encoder.modules()) if hasattr(net, "encoder") else set()

    def count(module, inputs, output):
        if isinstance(module, nn.Linear):
            n = module.in_features * module.out_features
        else:  # weight[0] is what one output (Conv2d) or one input element (transposed conv) meets
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


TARGET_KINDS = ("r2ad2", "deepsvdd", "a3")


@lru_cache(maxsize=256)
def target_size(kind: str, shape: tuple[int, ...], hp: HyperParams) -> NetSize:
    """kind: "r2ad2" (the AE, the GAA snapshots, GradCon), "deepsvdd" (DeepSVDD-AE), "a3" (A³-2020 AE),
    built as the methods build them (nets.targets)."""
    import torch

    from alarmbench.nets.targets import build_target, deepsvdd_target, r2ad2_target

    shape = tuple(int(s) for s in shape)
    with torch.device("meta"):
        if kind == "r2ad2":
            net = r2ad2_target(shape, hp.encoder)
        elif kind == "deepsvdd":
            net = deepsvdd_target(shape, hp.encoder)
        elif kind == "a3":  # methods/a3.py's _build_a3_target
            net = build_target("a3_conv", shape) if hp.a3_target == "conv" else build_target("a3_dense", shape,
                                                                                             hp.a3_target)
        else:
            raise KeyError(f"unknown target kind {kind!r}; known: {', '.join(TARGET_KINDS)}")
        macs, _ = _forward_macs(net, shape, lambda x: net.forward_with_activations(x))
        _, enc_macs = _forward_macs(net, shape, net.encode)
    return NetSize(net.n_parameters(), macs, net.n_activations(), _trainable(net.encoder), enc_macs)


@dataclass(frozen=True)
class AlarmSize:
    bn_params: int  # R2-AD2's input BatchNorm (0 elsewhere)
    params: int  # trainable parameters of the alarm body
    macs: int  # MACs of one row's forward pass (an LSTM's input weights once per time step, its
    #            recurrent weights once per step after the first)
    first_macs: int = 0  # of `macs`, those of the first layer's input weights (no input gradient in the alarm step)
    lstm_units: int = 0  # hidden units of all LSTM layers (each has 4 gates per unit and time step)


@lru_cache(maxsize=256)
def r2ad2_alarm_size(n_params: int, k: int, dims: tuple[int, ...]) -> AlarmSize:
    """nets.alarms.R2AD2Alarm on k snapshots of an n_params-long gradient."""
    import torch

    from alarmbench.nets.alarms import R2AD2Alarm
    from alarmbench.nets.keras import KerasLSTM

    with torch.device("meta"):
        alarm = R2AD2Alarm(n_params, k, tuple(dims))
    lstms = [m.lstm for m in alarm.alarm.modules() if isinstance(m, KerasLSTM)]
    dense = [m for m in alarm.alarm.modules() if isinstance(m, torch.nn.Linear)]
    macs = sum(m.weight_ih_l0.numel() * k + m.weight_hh_l0.numel() * (k - 1) for m in lstms)
    macs += sum(m.weight.numel() for m in dense)
    first = lstms[0].weight_ih_l0.numel() * k if lstms else dense[0].weight.numel()
    return AlarmSize(sum(p.numel() for p in alarm.bn_parameters()), sum(p.numel() for p in alarm.alarm_parameters()),
                     macs, first, sum(m.hidden_size for m in lstms))


@lru_cache(maxsize=256)
def dense_alarm_size(kind: str, n_in: int, dims: tuple[int, ...]) -> AlarmSize:
    """kind "a3": A3Alarm (A3v2); "a3-2020": A3_2020Alarm."""
    import torch

    from alarmbench.nets.alarms import A3_2020Alarm, A3Alarm

    with torch.device("meta"):
        alarm = (A3Alarm if kind == "a3" else A3_2020Alarm)(n_in, tuple(dims))
    macs, _ = _forward_macs(alarm, (n_in,))
    return AlarmSize(0, _trainable(alarm), macs)


@lru_cache(maxsize=64)
def devnet_size(n_features: int) -> NetSize:
    import torch

    from alarmbench.methods.devnet import DevNetNet

    with torch.device("meta"):
        net = DevNetNet(n_features)
    return NetSize(_trainable(net), _forward_macs(net, (n_features,))[0])


@lru_cache(maxsize=64)
def ruff_size(n_features: int, dims: tuple[int, ...] | None) -> NetSize:
    """deepsad-ruff's autoencoder (pre-training) and its encoder φ (Deep SAD training)."""
    import torch

    from alarmbench.methods.deepsad_ruff import RuffAutoencoder, reference_dims

    dims = tuple(dims) if dims else reference_dims(n_features)
    with torch.device("meta"):
        ae = RuffAutoencoder(n_features, dims)
        macs, enc = _forward_macs(ae, (n_features,))
    return NetSize(_trainable(ae), macs, 0, _trainable(ae.encoder), enc)


def n_features(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


# ------------------------------------------------------------------------------ R2-AD2's alarm step
def r2ad2_step_flops(size: AlarmSize) -> float:
    """FLOPs of one real row of R2AD2.fit's mini-batch step (methods/r2ad2.py): the alarm step on
    the real row and its counter-example (forward, weight gradients, input gradients of every layer
    but the first) and the BN step on the real row (forward, input gradients down to the BN)."""
    alarm_step = 2.0 * size.macs + 2.0 * size.macs + 2.0 * (size.macs - size.first_macs)
    return 2 * alarm_step + 4.0 * size.macs


def r2ad2_gate_values(size: AlarmSize, k: int) -> float:
    """LSTM gate values of one real row's step: 4 gates per unit and time step, in the three
    passes through the alarm (the real row and its counter-example, then the real row again)."""
    return 3.0 * 4 * size.lstm_units * k
