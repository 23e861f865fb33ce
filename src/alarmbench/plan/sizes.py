"""Sizes of the networks a cell trains, in closed form from the layer lists of the real classes.

No torch: the workflow prints the plan summary every time it builds its DAG, and importing torch
to build the nets would cost ≈ 3 s CPU per Snakemake invocation (issue 25). Each function below
mirrors one class's layers (nets/dense.py, nets/conv.py, nets/alarms.py, methods/devnet.py,
methods/deepsad_ruff.py); tests/unit/test_plan_sizes.py counts the real classes on torch's meta
device (`parameters()`, forward hooks on the Linear and convolution layers, the target's own
taps) for every network family and shape the registry uses, and fails where the two disagree.

Counted: trainable parameters; multiply-accumulates (MACs) of one row's forward pass (a
convolution's output elements × its kernel's per-output weights; a transposed convolution's input
elements × its per-input weights); hidden activations (the target's ReLU/LeakyReLU outputs, the
A³ taps). The recurrent alarm is counted per module: an LSTM's weights meet each row once per time
step (snapshot).
Also the per-row FLOPs and gate values of R2-AD2's alarm step, read by both the cost model
(`costs`) and the run that measures the machine (`calibration`).
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


@dataclass(frozen=True)
class _Layer:
    params: int
    macs: int
    act: int = 0  # values of the activation (ReLU/LeakyReLU) that follows it, 0 if none


def _dense(n_in: int, n_out: int, bias: bool = True, act: bool = False) -> _Layer:
    return _Layer(n_in * n_out + (n_out if bias else 0), n_in * n_out, n_out if act else 0)


def _conv(c_in: int, c_out: int, k: int, cells: int, bias: bool = True, act: int = 0) -> _Layer:
    """A Conv2d with `cells` output positions, or a ConvTranspose2d with `cells` input positions:
    either way each of those positions meets c_in × c_out × k² weights."""
    return _Layer(c_in * c_out * k * k + (c_out if bias else 0), cells * c_in * c_out * k * k, act)


def _net(encoder: Sequence[_Layer], decoder: Sequence[_Layer]) -> NetSize:
    layers = [*encoder, *decoder]
    return NetSize(sum(x.params for x in layers), sum(x.macs for x in layers), sum(x.act for x in layers),
                   sum(x.params for x in encoder), sum(x.macs for x in encoder))


def _dense_ae(n_in: int, dims: Sequence[int], *, bias: bool = True, linear_code: bool = False) -> NetSize:
    """nets.dense.DenseAE / DeepSVDDDenseAE / A3DenseAE: n_in → dims… → mirrored → n_in, an
    activation after every layer but the last (and but the code's where linear_code)."""
    dims = [int(d) for d in dims]
    if not dims:
        raise ValueError("dims must not be empty")
    widths = [n_in, *dims]
    encoder = [_dense(a, b, bias, act=not (linear_code and i == len(dims) - 1))
               for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]
    back = [*reversed(dims), n_in]
    decoder = [_dense(a, b, bias, act=i < len(dims) - 1) for i, (a, b) in enumerate(zip(back[:-1], back[1:]))]
    return _net(encoder, decoder)


def _r2ad2_conv_ae(code: int) -> NetSize:
    """nets.conv.ConvAE (28×28, 8 filters): the ReLUs are taken before pooling."""
    return _net([_conv(1, 8, 3, 28 * 28, act=28 * 28 * 8), _conv(8, 8, 3, 14 * 14, act=14 * 14 * 8),
                 _dense(7 * 7 * 8, code, act=True)],
                [_dense(code, 8 * 8 * 8, act=True), _conv(8, 8, 3, 8 * 8, act=16 * 16 * 8),  # transposed, cropped
                 _conv(8, 8, 3, 14 * 14, act=14 * 14 * 8), _conv(8, 1, 3, 14 * 14)])  # conv 'valid', transposed


def _deepsvdd_conv_ae() -> NetSize:
    """nets.conv.DeepSVDDConvAE: no biases, LeakyReLU after each (frozen-BN) convolution."""
    return _net([_conv(1, 8, 5, 28 * 28, False, act=28 * 28 * 8), _conv(8, 4, 5, 14 * 14, False, act=14 * 14 * 4),
                 _dense(196, 32, bias=False)],
                [_conv(2, 4, 5, 8 * 8, False, act=12 * 12 * 4), _conv(4, 8, 5, 24 * 24, False, act=28 * 28 * 8),
                 _conv(8, 1, 5, 28 * 28, False)])  # all three transposed: their input positions


def _a3_conv_ae() -> NetSize:
    """nets.conv.A3ConvAE: the ReLUs follow the pooling in the encoder."""
    return _net([_conv(1, 16, 3, 28 * 28, act=14 * 14 * 16), _conv(16, 8, 3, 14 * 14, act=7 * 7 * 8),
                 _conv(8, 8, 3, 7 * 7, act=4 * 4 * 8)],
                [_conv(8, 8, 3, 4 * 4, act=4 * 4 * 8), _conv(8, 8, 3, 8 * 8, act=8 * 8 * 8),
                 _conv(8, 16, 3, 14 * 14, act=14 * 14 * 16), _conv(16, 1, 3, 28 * 28)])


def _is_conv(shape: tuple[int, ...], dims) -> bool:
    """nets.targets._is_conv: "conv" or an int (the original's `layer_dims = 8`) on an image."""
    return (dims == "conv" or isinstance(dims, int)) and len(shape) >= 2


def _check_image(shape: tuple[int, ...]) -> None:
    if shape not in ((28, 28), (1, 28, 28)):  # nets.conv._ImageAE's own check
        raise ValueError(f"the image targets need 28×28 single-channel images, got input_shape {shape}")


TARGET_KINDS = ("r2ad2", "deepsvdd", "a3")


@lru_cache(maxsize=256)
def target_size(kind: str, shape: tuple[int, ...], hp: HyperParams) -> NetSize:
    """kind: "r2ad2" (the AE, the GAA snapshots, GradCon), "deepsvdd" (DeepSVDD-AE), "a3" (A³-2020 AE),
    as the methods build them (nets.targets.r2ad2_target / deepsvdd_target, methods/a3.py's
    _build_a3_target)."""
    shape = tuple(int(s) for s in shape)
    if kind not in TARGET_KINDS:
        raise KeyError(f"unknown target kind {kind!r}; known: {', '.join(TARGET_KINDS)}")
    dims = hp.a3_target if kind == "a3" else hp.encoder
    conv = dims == "conv" if kind == "a3" else _is_conv(shape, dims)
    if conv:
        _check_image(shape)
        if kind == "r2ad2":
            return _r2ad2_conv_ae(8 if dims == "conv" else int(dims))
        return _deepsvdd_conv_ae() if kind == "deepsvdd" else _a3_conv_ae()
    return _dense_ae(n_features(shape), dims, bias=kind != "deepsvdd", linear_code=kind == "deepsvdd")


@dataclass(frozen=True)
class AlarmSize:
    bn_params: int  # R2-AD2's input BatchNorm (0 elsewhere)
    params: int  # trainable parameters of the alarm body
    macs: int  # MACs of one row's forward pass (an LSTM's input weights once per time step, its
    #            recurrent weights once per step after the first)
    first_macs: int = 0  # of `macs`, those of the first layer's input weights (no input gradient in the alarm step)
    lstm_units: int = 0  # hidden units of all LSTM layers (each has 4 gates per unit and time step)


def _dense_stack(n_in: int, dims: Sequence[int]) -> list[_Layer]:
    """nets.alarms' Dense(d) per d, then Dense(1), all with biases."""
    widths = [int(n_in), *(int(d) for d in dims), 1]
    return [_dense(a, b) for a, b in zip(widths[:-1], widths[1:])]


@lru_cache(maxsize=256)
def r2ad2_alarm_size(n_params: int, k: int, dims: tuple[int, ...]) -> AlarmSize:
    """nets.alarms.R2AD2Alarm on k snapshots of an n_params-long gradient: a Keras BatchNorm
    (γ, β) over the gradient, then two LSTMs (k > 1; the hidden bias frozen, so 4 units of bias
    each) and the dense head, or the dense stack alone (k = 1)."""
    if len(dims) != 4:
        raise ValueError(f"dims must be (l1, l2, l3, l4), got {tuple(dims)}")
    n, (l1, l2, l3, l4) = int(n_params), (int(d) for d in dims)
    bn = 2 * n
    if k == 1:
        stack = _dense_stack(n, (l1, l2, l3, l4))
        return AlarmSize(bn, sum(x.params for x in stack), sum(x.macs for x in stack), stack[0].macs)
    lstms = [(n, l1), (l1, l2)]  # (input size, units): weight_ih 4u × i, weight_hh 4u × u, bias_ih 4u
    head = _dense_stack(l2, (l3, l4))
    params = sum(4 * u * i + 4 * u * u + 4 * u for i, u in lstms) + sum(x.params for x in head)
    macs = sum(4 * u * i * k + 4 * u * u * (k - 1) for i, u in lstms) + sum(x.macs for x in head)
    return AlarmSize(bn, params, macs, 4 * l1 * n * k, l1 + l2)


@lru_cache(maxsize=256)
def dense_alarm_size(kind: str, n_in: int, dims: tuple[int, ...]) -> AlarmSize:
    """kind "a3": A3Alarm (A3v2); "a3-2020": A3_2020Alarm (dropouts add nothing to count)."""
    if kind not in ("a3", "a3-2020"):
        raise KeyError(f"unknown dense alarm {kind!r}; known: a3, a3-2020")
    stack = _dense_stack(n_in, dims)
    return AlarmSize(0, sum(x.params for x in stack), sum(x.macs for x in stack))


DEVNET_HIDDEN = 20  # methods/devnet.py's DevNetNet: Dense(20) ReLU → Dense(1)
# DevNet's training loop (methods/devnet.py's DevNet class attributes; the test checks them)
DEVNET_BATCH_SIZE, DEVNET_BATCHES_PER_EPOCH, DEVNET_PAPER_EPOCHS = 512, 20, 50


@lru_cache(maxsize=64)
def devnet_size(n_features: int) -> NetSize:
    stack = [_dense(n_features, DEVNET_HIDDEN), _dense(DEVNET_HIDDEN, 1)]
    return NetSize(sum(x.params for x in stack), sum(x.macs for x in stack))


def ruff_reference_dims(n_features: int) -> tuple[int, ...]:
    """methods/deepsad_ruff.reference_dims (the test checks they agree)."""
    if n_features >= 100:
        return (128, 64, 32)
    return (32, 16, 4) if n_features <= 6 else (32, 16, 8)


@lru_cache(maxsize=64)
def ruff_size(n_features: int, dims: tuple[int, ...] | None) -> NetSize:
    """deepsad-ruff's autoencoder (pre-training) and its encoder φ (Deep SAD training): bias-free
    linear layers (its BatchNorms are not affine), n → hidden… → rep → reversed hidden… → n."""
    dims = tuple(int(d) for d in dims) if dims else ruff_reference_dims(n_features)
    widths = [int(n_features), *dims]
    back = [*reversed(dims), int(n_features)]
    return _net([_dense(a, b, bias=False) for a, b in zip(widths[:-1], widths[1:])],
                [_dense(a, b, bias=False) for a, b in zip(back[:-1], back[1:])])


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
