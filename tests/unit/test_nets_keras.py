"""Keras-equivalent building blocks: BCE formulas, Glorot init, Keras BN, Keras LSTM (docs/methods.md#keras-conventions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from alarmbench.nets.keras import KerasBatchNorm, KerasLSTM, glorot_init_, keras_bce

EPS = 1e-7


# --- binary cross-entropy ------------------------------------------------------------------------
def _exact(z: float, y: float) -> float:
    return math.log1p(math.exp(z)) - y * z


def _clipped(p: float, y: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return -(y * math.log(p + EPS) + (1 - y) * math.log(1 - p + EPS))


@pytest.mark.parametrize(("z", "y"), [(0.5, 0.2), (-3.0, 1.0), (2.0, 2.0), (0.7, -0.5), (4.0, 1.7), (-1.2, 0.0)])
def test_bce_exact_matches_hand_formula_incl_targets_outside_unit_interval(z: float, y: float) -> None:
    got = keras_bce(torch.tensor([[z]], dtype=torch.float64), torch.tensor([[y]], dtype=torch.float64), from_logits=True)
    assert got.item() == pytest.approx(_exact(z, y), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize(("p", "y"), [(0.3, 0.2), (0.9, 1.0), (0.6, 2.0), (0.25, -0.5), (0.999, 1.3)])
def test_bce_clipped_matches_hand_formula_incl_targets_outside_unit_interval(p: float, y: float) -> None:
    got = keras_bce(torch.tensor([[p]], dtype=torch.float64), torch.tensor([[y]], dtype=torch.float64), from_logits=False)
    assert got.item() == pytest.approx(_clipped(p, y), rel=1e-12)


def test_bce_reductions_mean_over_all_elements_and_per_sample() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 3, 5, generator=g, dtype=torch.float64)
    y = torch.randn(4, 3, 5, generator=g, dtype=torch.float64) + 0.5
    elem = keras_bce(z, y, from_logits=True, reduction="none")
    hand = torch.tensor([[[_exact(a, b) for a, b in zip(r1, r2)] for r1, r2 in zip(m1, m2)] for m1, m2 in zip(z.tolist(), y.tolist())], dtype=torch.float64)
    torch.testing.assert_close(elem, hand, rtol=1e-12, atol=1e-12)
    assert keras_bce(z, y, from_logits=True).item() == pytest.approx(hand.mean().item(), rel=1e-12)
    per = keras_bce(z, y, from_logits=True, reduction="per_sample")
    torch.testing.assert_close(per, hand.reshape(4, -1).mean(1))
    with pytest.raises(ValueError, match="reduction"):
        keras_bce(z, y, from_logits=True, reduction="sum")  # type: ignore[arg-type]


def test_bce_formulas_agree_away_from_saturation() -> None:
    z = torch.linspace(-6, 6, 33, dtype=torch.float64)
    y = torch.linspace(-1, 2, 33, dtype=torch.float64)
    a = keras_bce(z, y, from_logits=True, reduction="none")
    b = keras_bce(torch.sigmoid(z), y, from_logits=False, reduction="none")
    # The clipped form adds 1e-7 inside the logs: close (≈ |y|·1e-7/p), not equal.
    torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    assert not torch.equal(a, b)


def test_bce_saturation_clipped_has_zero_gradient_exact_does_not() -> None:
    p = torch.tensor([0.0, 1e-9, 1.0], dtype=torch.float32, requires_grad=True)
    y = torch.tensor([1.0, 1.0, 0.0])
    loss = keras_bce(p, y, from_logits=False, reduction="none")
    loss.sum().backward()
    assert torch.all(p.grad == 0)
    # float32 value at the clip, computed step by step as Keras does
    one = np.float32(1.0)
    hi = one - np.float32(EPS)
    want_hi = -np.log(one - hi + np.float32(EPS))
    want_lo = -np.log(np.float32(EPS) + np.float32(EPS))
    assert loss[2].item() == pytest.approx(float(want_hi), rel=1e-6)
    assert loss[0].item() == pytest.approx(float(want_lo), rel=1e-6)
    # exact form: no clipping, loss keeps growing and gradient = sigmoid(z) − y
    z = torch.tensor([-40.0, 40.0], dtype=torch.float64, requires_grad=True)
    yz = torch.tensor([1.0, -0.5], dtype=torch.float64)
    lz = keras_bce(z, yz, from_logits=True, reduction="none")
    assert lz[0].item() == pytest.approx(40.0, rel=1e-12)
    assert lz[1].item() == pytest.approx(40.0 + 0.5 * 40.0, rel=1e-12)
    lz.sum().backward()
    torch.testing.assert_close(z.grad, torch.sigmoid(z.detach()) - yz)


# --- Glorot init ---------------------------------------------------------------------------------
def test_glorot_uniform_bounds_and_zero_bias() -> None:
    torch.manual_seed(0)
    net = glorot_init_(nn.Sequential(nn.Linear(300, 200), nn.Conv2d(4, 8, 3), nn.ConvTranspose2d(8, 2, 3)))
    lin, conv, convt = net
    for w, fan_in, fan_out in [(lin.weight, 300, 200), (conv.weight, 36, 72), (convt.weight, 18, 72)]:
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert w.abs().max().item() <= bound
        assert w.abs().max().item() > 0.9 * bound  # uniform fills its range
    for m in net:
        assert torch.all(m.bias == 0)
    # std of U(-b, b) = b/√3
    assert lin.weight.std().item() == pytest.approx(math.sqrt(6 / 500) / math.sqrt(3), rel=0.03)


# --- Keras BatchNormalization ---------------------------------------------------------------------
def test_keras_bn_defaults_and_biased_moving_variance_update() -> None:
    torch.manual_seed(0)
    bn = KerasBatchNorm(5)
    assert bn.momentum == pytest.approx(0.01) and bn.eps == pytest.approx(1e-3)
    x = torch.randn(16, 5, dtype=torch.float64) * 3 + 1
    bn = bn.double().train()
    y = bn(x)
    mean, var_b = x.mean(0), x.var(0, unbiased=False)
    torch.testing.assert_close(bn.running_mean, 0.99 * 0 + 0.01 * mean)
    torch.testing.assert_close(bn.running_var, 0.99 * 1 + 0.01 * var_b)  # biased, not ÷(n−1)
    assert not torch.allclose(bn.running_var, 0.99 + 0.01 * x.var(0, unbiased=True))
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var_b + 1e-3))
    # second step keeps the Keras recursion moving = 0.99·moving + 0.01·batch
    x2 = torch.randn(16, 5, dtype=torch.float64)
    rv = bn.running_var.clone()
    bn(x2)
    torch.testing.assert_close(bn.running_var, 0.99 * rv + 0.01 * x2.var(0, unbiased=False))


def test_keras_bn_eval_uses_moving_statistics_and_does_not_update() -> None:
    bn = KerasBatchNorm(3).double()
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([1.0, -2.0, 0.5]))
        bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0]))
        bn.weight.copy_(torch.tensor([2.0, 1.0, -1.0]))
        bn.bias.copy_(torch.tensor([0.0, 1.0, 3.0]))
    bn.eval()
    x = torch.randn(7, 3, dtype=torch.float64)
    want = (x - bn.running_mean) / torch.sqrt(bn.running_var + 1e-3) * bn.weight + bn.bias
    torch.testing.assert_close(bn(x), want)
    torch.testing.assert_close(bn.running_mean, torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))


def test_keras_bn_time_distributed_statistics_over_batch_and_time() -> None:
    torch.manual_seed(1)
    x = torch.randn(6, 3, 4, dtype=torch.float64) + torch.arange(3, dtype=torch.float64)[None, :, None]
    bn = KerasBatchNorm(4).double().train()
    y = bn(x)
    flat = x.reshape(-1, 4)
    mean, var = flat.mean(0), flat.var(0, unbiased=False)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3))
    torch.testing.assert_close(bn.running_var, 0.99 + 0.01 * var)
    assert y.shape == x.shape
    with pytest.raises(ValueError, match="last axis"):
        bn(torch.randn(2, 4, 3, dtype=torch.float64))


def test_keras_bn_single_row_batch_like_keras() -> None:
    bn = KerasBatchNorm(2).train()
    x = torch.tensor([[3.0, -1.0]])
    y = bn(x)
    torch.testing.assert_close(y, torch.zeros(1, 2))
    torch.testing.assert_close(bn.running_mean, 0.01 * x[0])
    torch.testing.assert_close(bn.running_var, torch.full((2,), 0.99))


# --- Keras LSTM -----------------------------------------------------------------------------------
def test_lstm_init_forget_bias_orthogonal_recurrent_glorot_kernel() -> None:
    torch.manual_seed(0)
    layer = KerasLSTM(12, 5)
    lstm = layer.lstm
    b = lstm.bias_ih_l0.detach()
    torch.testing.assert_close(b[5:10], torch.ones(5))
    assert torch.all(b[:5] == 0) and torch.all(b[10:] == 0)
    assert torch.all(lstm.bias_hh_l0 == 0) and not lstm.bias_hh_l0.requires_grad
    w_hh = lstm.weight_hh_l0.detach()  # (4H, H): orthonormal columns
    torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(5), atol=1e-5, rtol=0)
    assert lstm.weight_ih_l0.abs().max().item() <= math.sqrt(6 / (12 + 20))


def test_lstm_input_dropout_elementwise_in_training_only_and_output_shapes() -> None:
    torch.manual_seed(0)
    seq = KerasLSTM(6, 4, return_sequences=True, dropout=0.5)
    last = KerasLSTM(6, 4, return_sequences=False)
    x = torch.randn(3, 5, 6)
    assert seq(x).shape == (3, 5, 4) and last(x).shape == (3, 4)
    seq.eval()
    ref, _ = seq.lstm(x)
    torch.testing.assert_close(seq(x), ref)  # no dropout in eval
    seq.train()
    dropped = seq.dropout(torch.ones(64, 3, 40))
    zero = dropped == 0
    assert 0.4 < zero.float().mean().item() < 0.6
    # independent per sample, time step and feature (not a mask shared across time)
    assert (zero[:, 0] != zero[:, 1]).any()
    assert torch.all((dropped == 0) | (dropped == 2.0))
