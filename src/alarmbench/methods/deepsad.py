"""Deep SVDD and Deep SAD as the R2-AD2 repository implements them (docs/methods.md#deepsad).

1. Pre-training: the DeepSVDD-AE (docs/methods.md#target-deepsvdd: LeakyReLU(0.01), no biases, linear code) on the normal
   training rows, MSE, Adam(1e-4) (the original swallows the lr argument), 100 epochs, the data
   set's batch size. Shared by both methods: `targets/deepsvdd_ae.pt` under the work dir.
2. Mapping network φ: the AE's encoder with copied weights (+ flatten). The dense variant keeps
   its Dropout(0.4) layers, active while φ trains; the conv variant has none.
3. Centre c: mean of φ(x) over the normal training rows in inference mode, then every coordinate
   with |c_j| < 0.1 is pushed to −0.1 (c_j ≤ 0) or +0.1 (c_j > 0). Bias-free φ maps the exact-zero
   rows of min-max scaled data to 0; the push keeps c away from that trivial point.
4. Training, Adam(1e-3) with Keras time decay lr_t = 1e-3 / (1 + 1e-5·t), t = optimiser steps
   taken, 100 epochs, the data set's batch size; d = ‖φ(x) − c‖²:
   * Deep SAD on all training rows with ỹ = +1 (normal, incl. polluted) / −1 (known anomaly),
     loss = mean((d + 1e-6)^ỹ);
   * Deep SVDD on the normal training rows, loss = mean(d).
5. Score d = ‖φ(x) − c‖², inference mode. `deepsad_recompute_center` (default True, as the
   original, which does not save c): before scoring, c is recomputed (same mean + push rule) from
   the TRAINED φ on the normal training rows; False scores against the training centre instead.
   False looks like the cleaner default, but measured on Mammography (100 known, paper
   epochs) it ranks anomalies backwards on 3 of 5 seeds (test AUC .20/.09/.13 for seeds
   210/410/510, against .89/.88/.81 with the recomputed centre): training with dropout 0.4 moves
   the normal rows' inference-mode codes away from the training centre.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.lr_scheduler import LambdaLR

from alarmbench.data.splits import Split
from alarmbench.methods.base import Detector
from alarmbench.runtime.context import Context
from alarmbench.runtime.loop import fit_epochs
from alarmbench.targets.training import (
    as_tensor,
    cached_state,
    keras_adam,
    mse_loss,
    sample_shape,
    train_reconstruction,
)
from alarmbench.nets.base import AutoEncoderNet
from alarmbench.nets.targets import deepsvdd_target

__all__ = [
    "CENTER_EPS",
    "EPS",
    "DeepSAD",
    "DeepSVDD",
    "MappingNet",
    "compute_center",
    "deepsad_loss",
    "keras_time_decay",
    "pretrained_deepsvdd_ae",
    "push_center",
    "sq_distance",
    "train_mapping",
]  # fmt: skip

EPS = 1e-6  # added to d in the Deep SAD loss
CENTER_EPS = 0.1  # minimum |c_j|
PRETRAIN_LR = 1e-4  # DeepSVDD-AE (code quirk: the lr argument is swallowed)
LR = 1e-3
LR_DECAY = 1e-5  # Keras `decay`: lr_t = lr / (1 + decay · iterations)
_CHUNK = 8192


def _dims(encoder: tuple[int, ...] | str) -> int | tuple[int, ...]:
    return 8 if encoder == "conv" else tuple(encoder)  # any int selects the conv net for images


def pretrained_deepsvdd_ae(split: Split, ctx: Context, *, epochs: int = 100) -> AutoEncoderNet:
    """The DeepSVDD-AE pre-trained on the normal training rows (cached as `targets/deepsvdd_ae.pt`)."""

    def build() -> AutoEncoderNet:
        return deepsvdd_target(sample_shape(split), _dims(ctx.hparams.encoder)).to(ctx.device)

    def train(checkpoint):
        ctx.seed_torch("target/deepsvdd_ae/init")
        model = build()
        train_reconstruction(model, as_tensor(split.train_target, ctx), ctx, stream="target/deepsvdd_ae",
                             epochs=ctx.n_epochs(epochs), lr=PRETRAIN_LR, loss=mse_loss, checkpoint=checkpoint)
        return model.state_dict()

    model = build()
    model.load_state_dict(cached_state(ctx, "deepsvdd_ae", train))
    return model.eval()


class MappingNet(nn.Module):
    """φ: a copy of the AE's encoder (weights copied, decoder dropped); output = the flat code."""

    def __init__(self, ae: AutoEncoderNet) -> None:
        super().__init__()
        self.net = copy.deepcopy(ae)
        self.net.decoder = nn.Sequential()

    def forward(self, x: Tensor) -> Tensor:
        return self.net.encode(x)


def push_center(c: Tensor, eps: float = CENTER_EPS) -> Tensor:
    """Coordinates with |c_j| < eps become −eps (c_j ≤ 0) or +eps (c_j > 0)."""
    pushed = torch.where(c <= 0, torch.full_like(c, -eps), torch.full_like(c, eps))
    return torch.where(c.abs() < eps, pushed, c)


@torch.no_grad()
def _map(phi: nn.Module, x: Tensor | np.ndarray, device: torch.device) -> Tensor:
    """φ(x) in inference mode, chunked; the module's train/eval mode is restored."""
    was_training = phi.training
    phi.eval()
    try:
        outs = []
        for lo in range(0, len(x), _CHUNK):
            chunk = torch.as_tensor(np.ascontiguousarray(x[lo : lo + _CHUNK]) if isinstance(x, np.ndarray)
                                    else x[lo : lo + _CHUNK], dtype=torch.float32, device=device)
            outs.append(phi(chunk))
    finally:
        phi.train(was_training)
    return torch.cat(outs)


def compute_center(phi: nn.Module, x: Tensor | np.ndarray, device: torch.device, eps: float = CENTER_EPS) -> Tensor:
    """c = mean φ(x) in inference mode, pushed away from zero (`push_center`)."""
    return push_center(_map(phi, x, device).mean(dim=0), eps)


def sq_distance(z: Tensor, c: Tensor) -> Tensor:
    """d = ‖z − c‖² per row."""
    return ((z - c) ** 2).sum(dim=1)


def deepsad_loss(d: Tensor, semi: Tensor | None) -> Tensor:
    """mean((d + ε)^ỹ), ỹ = +1 normal / −1 known anomaly; `semi=None`: Deep SVDD's mean(d)."""
    if semi is None:
        return d.mean()
    return torch.pow(d + EPS, semi.to(d.dtype)).mean()


def keras_time_decay(optimizer: torch.optim.Optimizer, decay: float = LR_DECAY) -> LambdaLR:
    """Keras' `decay` argument: lr_t = lr / (1 + decay·t), t = steps taken; step it once per batch."""
    return LambdaLR(optimizer, lambda t: 1.0 / (1.0 + decay * t))


def train_mapping(phi: MappingNet, center: Tensor, x: Tensor, semi: Tensor | None, ctx: Context, *,
                  stream: str, epochs: int, checkpoint=None) -> None:
    """One Deep SVDD / Deep SAD training run (Keras-fit-like: shuffled, last partial batch kept)."""
    optimizer = keras_adam(phi.parameters(), LR)
    scheduler = keras_time_decay(optimizer)
    phi.train()

    def step(idx: Tensor) -> Tensor:
        idx = idx.to(x.device)
        d = sq_distance(phi(x[idx]), center)
        loss = deepsad_loss(d, None if semi is None else semi[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss.detach()

    fit_epochs(step, len(x), batch_size=ctx.hparams.batch_size, epochs=epochs,
               generator=ctx.torch_generator(f"{stream}/shuffle"),
               state={"phi": phi, "opt": optimizer, "sched": scheduler},
               checkpoint=checkpoint, desc=stream, progress=ctx.progress)
    phi.eval()


class _HypersphereDetector(Detector):
    """Shared fit/score plumbing: φ, the training centre and the scoring centre."""

    stream = "deepsvdd"

    def __init__(self, *, deepsad_recompute_center: bool) -> None:
        self.recompute_center = deepsad_recompute_center
        self.phi: MappingNet | None = None
        self.train_center: Tensor | None = None  # c used during training
        self.center: Tensor | None = None  # c used for scoring (recomputed if the switch is on)

    @classmethod
    def _train(cls, split: Split, ctx: Context, phi: MappingNet, center: Tensor, epochs: int, checkpoint) -> None:
        raise NotImplementedError

    @classmethod
    def _state(cls, split: Split, ctx: Context, epochs: int, checkpoint) -> dict:
        phi = MappingNet(pretrained_deepsvdd_ae(split, ctx)).to(ctx.device)
        center = compute_center(phi, split.train_target, ctx.device)
        # Seeded after the (possibly cached) pre-training, so φ's dropout draws do not depend on
        # whether the AE was trained in this process or loaded.
        ctx.seed_torch(f"{cls.stream}/train")
        cls._train(split, ctx, phi, center, epochs, checkpoint)
        return {"phi": phi.state_dict(), "center": center}

    @classmethod
    def _fitted_state(cls, split: Split, ctx: Context, epochs: int) -> dict:
        raise NotImplementedError

    paper_epochs = 100

    def fit(self, split: Split, ctx: Context) -> _HypersphereDetector:
        state = self._fitted_state(split, ctx, ctx.n_epochs(self.paper_epochs))
        phi = MappingNet(deepsvdd_target(sample_shape(split), _dims(ctx.hparams.encoder))).to(ctx.device)
        phi.load_state_dict(state["phi"])
        self.phi = phi.eval()
        self.train_center = state["center"].to(ctx.device)
        if self.recompute_center:
            self.center = compute_center(phi, split.train_target, ctx.device)
        else:
            self.center = self.train_center
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        if self.phi is None:
            raise RuntimeError(f"{type(self).__name__}.score called before fit")
        device = self.center.device
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        return sq_distance(_map(self.phi, x, device), self.center).cpu().double().numpy()


class DeepSAD(_HypersphereDetector):
    """Deep SAD (the R2-AD2 baseline): semi-supervised on all training rows (known anomalies ỹ = −1)."""

    name = "deepsad"
    stream = "deepsad"

    @classmethod
    def _train(cls, split, ctx, phi, center, epochs, checkpoint):
        x = as_tensor(split.x_train, ctx)
        semi = torch.where(torch.as_tensor(split.a_train, device=ctx.device) > 0, -1.0, 1.0)
        train_mapping(phi, center, x, semi, ctx, stream=cls.stream, epochs=epochs, checkpoint=checkpoint)

    @classmethod
    def _fitted_state(cls, split, ctx, epochs):
        # Depends on the known anomalies: a per-cell checkpoint (the loop removes it when done).
        return cls._state(split, ctx, epochs, ctx.checkpoint(cls.stream))


class DeepSVDD(_HypersphereDetector):
    """Deep SVDD (one-class): the normal training rows only, loss mean d."""

    name = "deepsvdd"
    stream = "deepsvdd"

    @classmethod
    def _train(cls, split, ctx, phi, center, epochs, checkpoint):
        x = as_tensor(split.train_target, ctx)
        train_mapping(phi, center, x, None, ctx, stream=cls.stream, epochs=epochs, checkpoint=checkpoint)

    @classmethod
    def _fitted_state(cls, split, ctx, epochs):
        # Depends only on the normal training rows: stored like a shared target.
        return cached_state(ctx, "deepsvdd", lambda checkpoint: cls._state(split, ctx, epochs, checkpoint))


def train_deepsvdd_target(split: Split, ctx: Context) -> None:
    """The shared Deep SVDD target (catalog): Deep SVDD is unsupervised, so its fitted state (φ and
    the training centre) is the target; the scoring centre is the method's option, not the target's."""
    DeepSVDD._fitted_state(split, ctx, ctx.n_epochs(DeepSVDD.paper_epochs))
