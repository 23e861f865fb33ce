"""Keras-equivalent building blocks (docs/methods.md#keras-conventions): initialisation, binary cross-entropy, BN, LSTM.

The authors' networks are Keras models; these pieces reproduce the Keras defaults that silently
shape every network (Glorot init, the two BCE formulas, BN momentum/epsilon/variance update,
LSTM gate initialisation and input dropout), so the PyTorch port trains like the original.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["KERAS_EPSILON", "glorot_init_", "keras_bce", "KerasBatchNorm", "KerasLSTM"]

KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): used for BCE clipping and its log offset

Reduction = Literal["mean", "per_sample", "none"]
_INIT_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def glorot_init_(module: nn.Module) -> nn.Module:
    """Re-initialise every Linear/Conv/ConvTranspose in `module` like Keras: Glorot-uniform, zero bias.

    PyTorch's default is Kaiming-uniform with a fan-in bias; Keras layers built with
    `kernel_initializer=None` get Glorot-uniform and zero biases. The Glorot bound depends only on
    fan_in + fan_out, so PyTorch's (out, in, kh, kw) vs Keras' (kh, kw, in, out) layouts agree.
    """
    for m in module.modules():
        if isinstance(m, _INIT_TYPES):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def _reduce(loss: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "per_sample":
        # Keras: mean over the last axis, then over the rest; per sample that is the mean
        # over every non-batch element.
        return loss.reshape(loss.shape[0], -1).mean(dim=1) if loss.dim() > 1 else loss
    if reduction == "none":
        return loss
    raise ValueError(f"unknown reduction {reduction!r} (expected 'mean', 'per_sample' or 'none')")


def keras_bce(pred: Tensor, target: Tensor, *, from_logits: bool, reduction: Reduction = "mean") -> Tensor:
    """Keras binary cross-entropy, both formulas exactly (docs/methods.md#keras-conventions).

    from_logits=True: `pred` is the pre-sigmoid z; loss = softplus(z) − y·z, evaluated in the
    stable form max(z, 0) − y·z + log1p(exp(−|z|)) (TF's sigmoid_cross_entropy_with_logits);
    no clipping. Keras takes this path whenever the prediction comes straight out of a sigmoid.

    from_logits=False: `pred` is a probability p; p is clipped to [1e-7, 1 − 1e-7] and
    loss = −[y·log(p + 1e-7) + (1 − y)·log(1 − p + 1e-7)]; the gradient w.r.t. p is zero where the
    clip is active (saturation).

    Targets are NOT restricted to [0, 1] (scaled test rows, N(0.5, 1) counter-examples): the
    formula is evaluated as is. reduction: "mean" over all elements (Keras), "per_sample" = mean
    over all non-batch dims → (B,), "none" = element-wise.
    """
    target = target.to(pred.dtype)
    if from_logits:
        z = pred
        loss = torch.clamp(z, min=0) - z * target + torch.log1p(torch.exp(-z.abs()))
    else:
        eps = KERAS_EPSILON
        p = torch.clamp(pred, eps, 1.0 - eps)
        loss = -(target * torch.log(p + eps) + (1.0 - target) * torch.log(1.0 - p + eps))
    return _reduce(loss, reduction)


class KerasBatchNorm(nn.BatchNorm1d):
    """Keras BatchNormalization on feature-last input: (B, F), or time-distributed on (B, T, F).

    Keras defaults: momentum 0.99 (PyTorch momentum 0.01), eps 1e-3, affine. Differences to
    nn.BatchNorm1d that matter here: the moving variance is updated with the BIASED batch
    variance (÷n, as Keras does; PyTorch uses ÷(n−1)), the feature axis is the LAST one, and on
    (B, T, F) the statistics are taken over batch × time with one shared γ/β/moving stats
    (Keras `TimeDistributed(BatchNormalization)` as used by the R2-AD2 alarm).
    """

    def __init__(self, num_features: int, *, momentum: float = 0.01, eps: float = 1e-3, **kw) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum, **kw)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if x.shape[-1] != self.num_features:
            raise ValueError(f"expected {self.num_features} features on the last axis, got shape {tuple(x.shape)}")
        flat = x.reshape(-1, self.num_features)
        n = flat.shape[0]
        if not self.training:
            out = F.batch_norm(flat, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        elif n > 1:
            m = self.momentum
            # Fused kernel (normalises with the biased variance, like Keras); it updates its
            # variance buffer with the unbiased one, corrected below to the biased one. The kernel
            # gets a copy: autograd saves that buffer, so the buffer itself must not change later.
            var_buf = self.running_var.clone()
            out = F.batch_norm(flat, self.running_mean, var_buf, self.weight, self.bias, True, m, self.eps)
            with torch.no_grad():
                decayed = (1.0 - m) * self.running_var
                self.running_var.copy_(decayed + (var_buf - decayed) * ((n - 1) / n))
                self.num_batches_tracked += 1
        else:
            # A single value per feature (Keras allows it: variance 0); PyTorch's kernel refuses.
            mean, var = flat.mean(0), flat.new_zeros(self.num_features)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var, self.momentum)
                self.num_batches_tracked += 1
            out = (flat - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        return out.reshape(x.shape)


class KerasLSTM(nn.Module):
    """Keras-2.7 LSTM(units, dropout=p) on (B, T, F) input, backed by torch.nn.LSTM (cuDNN on GPU).

    Init as Keras: kernel Glorot-uniform, recurrent kernel orthogonal, bias zero with forget-gate
    bias 1 (`unit_forget_bias`); gate order i, f, g(c), o is the same in both frameworks. PyTorch
    has two bias vectors: the Keras bias lives in `bias_ih`; `bias_hh` is zero and, with
    `freeze_hh_bias` (default), not trainable, so the trainable parametrisation equals Keras'
    (two trainable biases would double the bias' effective step size under Adam).
    Input dropout: plain element-wise Dropout(p) over the whole (B, T, F) input in training mode
    (Keras 2.7's cuDNN-compatible path); no recurrent dropout.
    """

    def __init__(
        self,
        input_size: int,
        units: int,
        *,
        return_sequences: bool = False,
        dropout: float = 0.0,
        freeze_hh_bias: bool = True,
    ) -> None:
        super().__init__()
        self.return_sequences = return_sequences
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(input_size, units, batch_first=True)
        self.reset_parameters()
        if freeze_hh_bias:
            self.lstm.bias_hh_l0.requires_grad_(False)

    def reset_parameters(self) -> None:
        h = self.lstm.hidden_size
        with torch.no_grad():
            nn.init.xavier_uniform_(self.lstm.weight_ih_l0)  # (4H, F): fan_in F, fan_out 4H as Keras
            nn.init.orthogonal_(self.lstm.weight_hh_l0)  # (4H, H) ↔ Keras (H, 4H) transposed
            self.lstm.bias_ih_l0.zero_()
            self.lstm.bias_ih_l0[h : 2 * h] = 1.0  # forget gate
            self.lstm.bias_hh_l0.zero_()

    def forward(self, x: Tensor) -> Tensor:
        x = _input_dropout(x, self.dropout.p, self.training)
        if x.device.type == "cpu" and x.shape[1] <= UNROLL_MAX_STEPS:
            y = self._unrolled(x)
        else:
            y, _ = self.lstm(x)
        return y if self.return_sequences else y[:, -1]

    def _unrolled(self, x: Tensor) -> Tensor:
        """The same LSTM as plain tensor ops, for the few time steps of R2-AD2 (k ≤ 4 snapshots).

        On CPU the fused kernel always computes every gradient; unrolled, autograd computes only
        those asked for (the alarm step needs no input gradient, the BN step no weight gradient),
        which saves about a quarter of the alarm's training time. All steps' input projections
        are one GEMM.
        """
        lstm = self.lstm
        gates_x = F.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)
        h = c = None
        outputs = []
        # unbind, not gates_x[:, t]: the backward of a select fills a zero (B, T, 4H) tensor per step.
        for gx in gates_x.unbind(1):
            gates = gx if h is None else gx + h @ lstm.weight_hh_l0.t()
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(i) * torch.tanh(g) if c is None else torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1)


UNROLL_MAX_STEPS = 8


def _input_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Element-wise inverted dropout (as nn.Dropout); a uniform-threshold mask is ~2.5x faster
    on CPU than the Bernoulli kernel for these (B, T, P) inputs."""
    if not training or p == 0.0:
        return x
    return x * (torch.rand_like(x) >= p) * (1.0 / (1.0 - p))
