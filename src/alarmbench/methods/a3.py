"""A³ alarms on the hidden activations of a frozen target: A3v2 (docs/methods.md#a3v2) and A³-2020 (docs/methods.md#a3-2020).

A3v2 (the baseline inside the R2-AD2 repo): target = the shared R2-AD2 AE (`trained_ae`) in
inference mode. Its activations on the real training rows are computed once (chunked) and kept
on the device; every batch draws N(0.5, 1) counter-examples of the input shape, runs them through
the target and trains the alarm (Dense + ReLU + Dropout 0.2 per layer) with
BCE(y, ŷ(x)) + BCE(1, ŷ(x̃)), both with Keras' exact from-logits formula (docs/methods.md#keras-conventions). Adam 1e-3, 100
epochs, the data set's batch size.

A³-2020 (the original method): its own target (`a3_dense` / `a3_conv`, dims `a3_target`) trained
30 epochs with BCE, Adam 1e-3, batch `a3_batch_size` and cached. During alarm training the target
is frozen but stays in TRAINING mode (its dropout is active, docs/methods.md#a3-2020): where a dropout
layer precedes a tapped activation (the conv AE) the real activations are recomputed every batch,
otherwise (the dense AE: its only dropout follows the last ReLU) they are computed once. Loss:
real-data BCE (exact formula, optionally Keras class weights) + BCE(1, ŷ(noise)) (clipped formula,
switch `a3_noise`) + optional shifted L1 (`a3_shifted_l1`). Adam 1e-5, 60 epochs, `a3_batch_size`.

Scores are the alarm's logits (monotone in the sigmoid output the originals return, so AUC/AP
are the same, without float32 ties at saturation).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import Tensor, nn

from alarmbench.data.splits import Split
from alarmbench.features.activations import (
    extract_activations,
    flatten_activations,
    iter_activations,
)
from alarmbench.methods.base import Detector, counterexamples
from alarmbench.runtime.context import Context
from alarmbench.runtime.loop import GeneratorState, fit_epochs
from alarmbench.targets.training import (
    as_tensor,
    cached_state,
    keras_adam,
    sample_shape,
    train_reconstruction,
    trained_ae,
)
from alarmbench.nets.alarms import A3_2020Alarm, A3Alarm, DenseAlarm
from alarmbench.nets.base import TargetNet
from alarmbench.nets.keras import keras_bce
from alarmbench.nets.targets import build_target

__all__ = [
    "A3_2020",
    "A3_RECIPES",
    "PAPER_SHIFTED_L1",
    "W_MAX",
    "A3",
    "a3_2020_loss",
    "a3_target",
    "a3_loss",
    "automatic_class_weight",
    "dropout_reaches_activations",
]

W_MAX = 100  # the paper's w_max for the automatic class weight
PAPER_SHIFTED_L1 = 0.01  # the paper's λ (used when `a3_shifted_l1` is given as True)

_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def _freeze(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad_(False)


@torch.no_grad()
def _alarm_scores(target: TargetNet, alarm: DenseAlarm, x: np.ndarray, chunk_size: int = 4096) -> np.ndarray:
    """Alarm logits on the target's inference-mode activations, chunked → (N,) float64."""
    alarm.eval()
    out = [alarm(a).double().cpu() for a in iter_activations(target, x, chunk_size=chunk_size)]
    return torch.cat(out).numpy() if out else np.zeros(0)


# ------------------------------------------------------------------------------------------------ A3v2


def a3_loss(real_logits: Tensor, y: Tensor, noise_logits: Tensor) -> Tensor:
    """BCE(y, ŷ(x)) + BCE(1, ŷ(x̃)), both batch means with the exact from-logits formula (docs/methods.md#a3v2)."""
    return keras_bce(real_logits, y, from_logits=True) + keras_bce(
        noise_logits, torch.ones_like(noise_logits), from_logits=True)


class A3(Detector):
    """A3v2 (docs/methods.md#a3v2). Set `keep_train_activations = True` on an instance to keep the cached
    real-data activations as `train_activations_` after the fit (tests; they are large for images)."""

    name = "a3"
    keep_train_activations = False

    def fit(self, split: Split, ctx: Context) -> A3:
        device = ctx.device
        shape = sample_shape(split)
        self.target = trained_ae(split, ctx).eval()
        _freeze(self.target)
        self.cache = ctx
        feats = ctx.training_features("activations")  # cache dtype; in memory when it fits (base.Context)
        if feats is None:  # computed once, inference mode
            feats = extract_activations(self.target, split.x_train, out_device=device)
        if self.keep_train_activations:
            self.train_activations_ = feats
        y = as_tensor(split.a_train.astype(np.float32), ctx)

        ctx.seed_torch(f"{self.name}/init")
        self.alarm = A3Alarm(feats.shape[1], ctx.hparams.alarm, dropout=0.2).to(device)
        opt = keras_adam(self.alarm.parameters(), 1e-3)
        noise_gen = ctx.device_generator(f"{self.name}/noise")

        def step(idx: Tensor) -> Tensor:
            idx = idx.to(device)
            n = len(idx)
            with torch.no_grad():
                a_noise = flatten_activations(self.target.hidden_activations(counterexamples(n, shape, noise_gen)))
            with ctx.autocast():
                logits = self.alarm(torch.cat([feats[idx].to(device, torch.float32), a_noise])).float()
            loss = a3_loss(logits[:n], y[idx], logits[n:])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.detach()

        self.alarm.train()
        fit_epochs(step, len(feats), batch_size=ctx.hparams.batch_size, epochs=ctx.n_epochs(100),
                   generator=ctx.torch_generator(f"{self.name}/shuffle"),
                   state={"alarm": self.alarm, "opt": opt, "noise": GeneratorState(noise_gen)},
                   checkpoint=ctx.checkpoint(self.name), desc=self.name, progress=ctx.progress)
        self.alarm.eval()
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return _alarm_scores(self.target, self.alarm, x)

    @torch.no_grad()
    def score_split(self, split: Split, part: str) -> np.ndarray:
        self.alarm.eval()
        scores = self.cache.score_cached("activations", part, self.alarm)
        return super().score_split(split, part) if scores is None else scores


# ------------------------------------------------------------------------------------------------ A³-2020


def automatic_class_weight(n_normal: int, n_anomalies: int, w_max: int = W_MAX) -> float:
    """The paper's automatic anomaly class weight w = min(⌈n_normal / n_anomalies⌉, w_max) (docs/methods.md#a3-2020)."""
    if n_anomalies <= 0:
        return 1.0
    return float(min(math.ceil(n_normal / n_anomalies), w_max))


def a3_2020_loss(real_logits: Tensor, y: Tensor, noise_logits: Tensor | None = None, *, class_weight: float = 1.0,
            shifted_l1: float = 0.0) -> Tensor:
    """A³-2020's training loss for one batch (docs/methods.md#keras-conventions, docs/methods.md#a3-2020).

    Real term: exact (from-logits) BCE with Keras `class_weight` semantics: sample weight w for
    y = 1, 1 for y = 0, batch mean of the weighted losses (Σ wᵢ·lᵢ / B). Noise term (when
    `noise_logits` is given): batch-mean BCE(1, ŷ(noise)) with the CLIPPED formula, never weighted.
    Shifted L1 (activity regulariser on the output, called for the real and the noise batch):
    λ·(mean|1 − ŷ(x)| + mean|1 − ŷ(noise)|).
    """
    y = y.to(real_logits.dtype)
    per_sample = keras_bce(real_logits, y, from_logits=True, reduction="none")
    if class_weight != 1.0:
        per_sample = per_sample * torch.where(y > 0.5, class_weight, 1.0).to(per_sample.dtype)
    loss = per_sample.mean()
    p_noise = None
    if noise_logits is not None:
        p_noise = torch.sigmoid(noise_logits)
        loss = loss + keras_bce(p_noise, torch.ones_like(p_noise), from_logits=False)
    if shifted_l1:
        penalty = (1.0 - torch.sigmoid(real_logits)).abs().mean()
        if p_noise is not None:
            penalty = penalty + (1.0 - p_noise).abs().mean()
        loss = loss + shifted_l1 * penalty
    return loss


def _shifted_l1_option(value: object) -> float:
    if value is True:
        return PAPER_SHIFTED_L1
    if value is None or value is False:
        return 0.0
    return float(value)  # type: ignore[arg-type]


def dropout_reaches_activations(model: TargetNet) -> bool:
    """True if a dropout layer (p > 0) runs before one of the tapped activation layers, i.e. the
    activations differ between training and inference mode."""
    taps = set(model.activation_names())
    seen = False
    for name, module in model.named_modules():
        if isinstance(module, _DROPOUTS) and module.p > 0:
            seen = True
        elif name in taps and seen:
            return True
    return False


def _build_a3_target(split: Split, ctx: Context) -> TargetNet:
    shape, dims = sample_shape(split), ctx.hparams.a3_target
    if isinstance(dims, str):
        if dims != "conv":
            raise ValueError(f"A³ target dims must be a tuple or 'conv', got {dims!r}")
        return build_target("a3_conv", shape).to(ctx.device)
    return build_target("a3_dense", shape, tuple(dims)).to(ctx.device)


def a3_target(split: Split, ctx: Context, *, epochs: int = 30) -> TargetNet:
    """A³-2020's target AE (docs/methods.md#target-a3): normal training rows, its BCE, Adam 1e-3, 30 epochs, batch
    `a3_batch_size`; cached as `targets/a3_ae.pt`. Returned frozen, in inference mode."""
    # train_reconstruction batches with ctx.hparams.batch_size: hand it A³'s batch size instead.
    tctx = dataclasses.replace(ctx, hparams=dataclasses.replace(ctx.hparams, batch_size=ctx.hparams.a3_batch_size))

    def train(checkpoint):
        ctx.seed_torch("target/a3/init")
        model = _build_a3_target(split, ctx)
        train_reconstruction(model, as_tensor(split.train_target, ctx), tctx, stream="target/a3",
                             epochs=ctx.n_epochs(epochs), lr=1e-3, checkpoint=checkpoint)
        return model.state_dict()

    model = _build_a3_target(split, ctx)
    model.load_state_dict(cached_state(ctx, "a3_ae", train))
    _freeze(model)
    return model.eval()


#: The two A³ training recipes (docs/methods.md#a3-preprint-recipe) as the defaults of the method options:
#: "final" = the authors' final code (noise on, w = 1, λ = 0, alarm [1000, 500, 200, 75]), id
#: `a3-2020`; "preprint" = the preprint's Table V (no noise counter-examples, automatic class
#: weights, shifted L1 with λ = 0.01, alarm [500, 200, 75]), id `a3-2020-preprint`.
A3_RECIPES = ("final", "preprint")


class A3_2020(Detector):
    """A³-2020 (docs/methods.md#a3-2020). Options (docs/methods.md#options): `a3_noise`, `a3_class_weights`, `a3_shifted_l1`
    (λ; True = the paper's 0.01), `a3_alarm_dims`. Their defaults are the recipe's, declared in
    methods/catalog.py: `recipe="final"` is id `a3-2020`, `recipe="preprint"` id `a3-2020-preprint`
    (docs/methods.md#a3-preprint-recipe); an option given explicitly overrides the recipe."""

    def __init__(self, recipe: str, *, a3_noise: bool, a3_class_weights: bool, a3_shifted_l1: bool | float,
                 a3_alarm_dims: list[int]) -> None:
        if recipe not in A3_RECIPES:
            raise ValueError(f"A³-2020 recipe {recipe!r}: expected one of {list(A3_RECIPES)}")
        self.recipe = recipe
        self.name = "a3-2020" if recipe == "final" else f"a3-2020-{recipe}"
        self.options = {"a3_noise": a3_noise, "a3_class_weights": a3_class_weights, "a3_shifted_l1": a3_shifted_l1,
                        "a3_alarm_dims": a3_alarm_dims}

    def fit(self, split: Split, ctx: Context) -> A3_2020:
        device = ctx.device
        shape = sample_shape(split)
        noise_on = bool(self.options["a3_noise"])
        lam = _shifted_l1_option(self.options["a3_shifted_l1"])
        n_anom = int(split.a_train.sum())
        n_norm = int(len(split.a_train) - n_anom)
        weights_on = self.options["a3_class_weights"]
        self.class_weight = automatic_class_weight(n_norm, n_anom) if weights_on else 1.0
        self.shifted_l1, self.noise_on = lam, noise_on
        self.dims = dims = tuple(int(d) for d in self.options["a3_alarm_dims"])

        self.target = a3_target(split, ctx)
        # Frozen weights, but Keras keeps the target in training mode during alarm training.
        self.on_the_fly = dropout_reaches_activations(self.target)
        x = as_tensor(split.x_train, ctx)
        feats = None if self.on_the_fly else extract_activations(self.target, x, out_device=device)
        y = as_tensor(split.a_train.astype(np.float32), ctx)

        ctx.seed_torch(f"{self.name}/init")
        self.alarm = A3_2020Alarm(self.target.n_activations(), dims).to(device)
        opt = keras_adam(self.alarm.parameters(), 1e-5)
        noise_gen = ctx.device_generator(f"{self.name}/noise")

        def activations(batch: Tensor) -> Tensor:
            return flatten_activations(self.target.hidden_activations(batch))

        def step(idx: Tensor) -> Tensor:
            idx = idx.to(device)
            n = len(idx)
            with torch.no_grad():
                parts = [feats[idx] if feats is not None else activations(x[idx])]
                if noise_on:
                    parts.append(activations(counterexamples(n, shape, noise_gen)))
            with ctx.autocast():
                logits = self.alarm(torch.cat(parts)).float()
            loss = a3_2020_loss(logits[:n], y[idx], logits[n:] if noise_on else None,
                           class_weight=self.class_weight, shifted_l1=lam)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.detach()

        self.target.train()
        self.alarm.train()
        try:
            fit_epochs(step, len(x), batch_size=ctx.hparams.a3_batch_size, epochs=ctx.n_epochs(60),
                       generator=ctx.torch_generator(f"{self.name}/shuffle"),
                       state={"alarm": self.alarm, "opt": opt, "noise": GeneratorState(noise_gen)},
                       checkpoint=ctx.checkpoint(self.name), desc=self.name,
                       progress=ctx.progress)
        finally:
            self.target.eval()
        self.alarm.eval()
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return _alarm_scores(self.target, self.alarm, x)
