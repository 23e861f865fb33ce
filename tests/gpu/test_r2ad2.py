"""R2-AD2 on the device at tf32 and bf16 against CPU fp32: the LSTM (cuDNN on CUDA, unrolled on
the CPU), one alarm training step (same weights and inputs, dropout off), the scores of the same
trained alarm, and whole fits (the noise generator of CUDA draws other numbers than the CPU's, so
fits are compared by AUC, over three seeds: a single toy fit can fall into a poor optimum).

Tolerances (normwise relative): values fp32 1e-5, TF32 2e-3, bf16 3e-2 (unit roundoff 2^-11 and
2^-8); weight gradients fp32 1e-4, TF32 5e-2, bf16 0.3: a weight gradient is a sum over the batch
whose terms cancel, which multiplies the rounding (measured with CPU bf16 autocast: 0.11-0.17 on
the LSTM weights, 2e-3 on the last layer); scores of the same alarm 1e-2; fitted AUC median
within 0.05 of CPU fp32's (a broken precision path scores far lower on this toy)."""

from __future__ import annotations

import copy
import statistics

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from alarmbench.device import set_precision
from alarmbench.methods import build_method
from alarmbench.nets.alarms import R2AD2Alarm
from alarmbench.nets.keras import KerasLSTM, keras_bce
from toydata import toy_context, toy_split

pytestmark = pytest.mark.gpu

TOL = {"fp32": 1e-5, "tf32": 2e-3, "bf16": 3e-2}
GRAD_TOL = {"fp32": 1e-4, "tf32": 5e-2, "bf16": 0.3}
SCORE_TOL = 1e-2
SEEDS = (110, 210, 310)


def rel(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.detach().double().cpu() - want.detach().double().cpu()).norm() / want.detach().double().norm())


def test_keras_lstm_on_the_device_equals_the_cpu_lstm(gpu_device):
    set_precision("fp32")
    torch.manual_seed(0)
    cpu = KerasLSTM(300, 64, return_sequences=True).eval()
    dev = copy.deepcopy(cpu).to(gpu_device)
    x = torch.randn(32, 3, 300)
    y_cpu, y_dev = cpu(x), dev(x.to(gpu_device))
    assert rel(y_dev, y_cpu) < TOL["fp32"]
    g_cpu = torch.autograd.grad(y_cpu.square().sum(), [cpu.lstm.weight_ih_l0, cpu.lstm.weight_hh_l0])
    g_dev = torch.autograd.grad(y_dev.square().sum(), [dev.lstm.weight_ih_l0, dev.lstm.weight_hh_l0])
    assert all(rel(d, c) < GRAD_TOL["fp32"] for d, c in zip(g_dev, g_cpu, strict=True))


@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16"])
def test_alarm_training_step_close_to_cpu_fp32(gpu_device, precision):
    """The alarm step of R2AD2.fit (BN with running statistics, the alarm under autocast, the
    clipped BCE in float32) on NSL-KDD-like widths: loss and every alarm gradient."""
    torch.manual_seed(0)
    cpu = R2AD2Alarm(1200, 3, (64, 32, 16, 8))
    cpu.set_modes(bn_training=False, alarm_training=False)  # dropout off: the same function on both sides
    dev = copy.deepcopy(cpu).to(gpu_device)
    g = torch.randn(64, 3, 1200) * 0.1
    y = torch.cat([torch.zeros(28), torch.ones(36)])

    def loss_and_grads(net, device, mode):
        set_precision(mode)
        ctx = toy_context(precision=mode)
        ctx.device = device
        params = list(net.alarm_parameters())
        with torch.no_grad():
            h = net.preprocess(g.to(device))
        with ctx.autocast():
            z = net.alarm(h).squeeze(-1)
        loss = keras_bce(torch.sigmoid(z.float()), y.to(device), from_logits=False)
        return loss, torch.autograd.grad(loss, params)

    want, want_grads = loss_and_grads(cpu, torch.device("cpu"), "fp32")
    got, got_grads = loss_and_grads(dev, gpu_device, precision)
    assert got.dtype == torch.float32 and rel(got, want) < TOL[precision]
    errs = [rel(a, b) for a, b in zip(got_grads, want_grads, strict=True)]
    assert max(errs) < GRAD_TOL[precision], errs


def fit(split, seed, device, precision, targets_dir, trains):
    set_precision(precision)
    ctx = toy_context(seed=seed, epochs=10, precision=precision)
    ctx.device, ctx.targets_dir, ctx.trains = device, targets_dir, trains
    return build_method("r2ad2").fit(split, ctx)


@pytest.fixture(scope="module")
def cpu_fits(tmp_path_factory):
    """CPU fp32 fits per seed; their snapshot chains are stored for the device fits to read."""
    split = toy_split(n=1000)  # separation 3: 15 of 16 CPU fits (8 seeds, fp32 and bf16) reach AUC .999, one .961
    fits = {}
    for seed in SEEDS:
        targets = tmp_path_factory.mktemp(f"targets{seed}")
        fits[seed] = (fit(split, seed, torch.device("cpu"), "fp32", targets, None), targets)
    return split, fits


@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_r2ad2_on_the_device_scores_like_cpu_fp32(gpu_device, precision, cpu_fits):
    split, fits = cpu_fits
    auc_cpu, auc_dev = [], []
    for seed, (cpu, targets) in fits.items():
        dev = fit(split, seed, gpu_device, precision, targets, frozenset())  # the same snapshots, read-only
        auc_cpu.append(roc_auc_score(split.a_test, cpu.score(split.x_test)))
        auc_dev.append(roc_auc_score(split.a_test, dev.score(split.x_test)))
        # The CPU's trained alarm scored on the device (gradients and alarm there, at `precision`).
        dev.alarm.load_state_dict(cpu.alarm.state_dict())
        want, got = cpu.score(split.x_test), dev.score(split.x_test)
        assert got.dtype == np.float64 and np.linalg.norm(got - want) / np.linalg.norm(want) < SCORE_TOL
    assert statistics.median(auc_dev) >= statistics.median(auc_cpu) - 0.05, (auc_dev, auc_cpu)
