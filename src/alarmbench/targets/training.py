"""Training the target networks (docs/methods.md#targets), shared by the methods that use them.

A trained target is stored under the context's targets directory (when there is one) with the
fingerprint of the run that made it, and loaded instead of retrained when that matches: the AE
serves the AE baseline and A3v2, the snapshot family serves R2-AD2 with 1-4 snapshots. Every
training run checkpoints (`loop.fit_epochs`: at most once per `ctx.checkpoint_every_s`, and at the
end of each finished part of the snapshot chain) and resumes; a stored target leaves no checkpoint
behind.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from alarmbench.data.splits import Split
from alarmbench.errors import DamagedFileError
from alarmbench.fileio import load_torch, save_torch
from alarmbench.runtime.context import Context
from alarmbench.runtime.loop import Checkpoint, fit_epochs
from alarmbench.nets import optim
from alarmbench.nets.base import TargetNet
from alarmbench.nets.targets import r2ad2_target
from alarmbench.targets.files import snapshot_chain_stem, snapshot_chain_tag

log = logging.getLogger(__name__)

Loss = Callable[[TargetNet, torch.Tensor], torch.Tensor]


def bce_loss(model: TargetNet, x: torch.Tensor) -> torch.Tensor:
    """The target's own Keras BCE between input and reconstruction (formula per docs/methods.md#keras-conventions)."""
    return model.reconstruction_loss(model(x), x)


def mse_loss(model: TargetNet, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(torch.sigmoid(model(x)), x)


def keras_adam(params, lr: float) -> torch.optim.Adam:
    """Adam with Keras' epsilon; the fused kernel (CPU and CUDA) costs a quarter of the default.
    `optim.Adam` is torch's Adam without the torch._dynamo import (≈ 1.5 s CPU per job)."""
    return optim.Adam(params, lr=lr, eps=1e-7, fused=True)


def step_block(loss: torch.Tensor, params: list[torch.nn.Parameter], optimizer: torch.optim.Optimizer) -> None:
    """One optimiser step on `params` only: autograd computes just this block's gradients
    (R2-AD2's two-optimiser scheme skips the other block's weight gradients).

    The gradients are made contiguous first (a no-op for today's alarms): autograd may return a
    gradient as a strided view (e.g. of a batched weight used as `bmm(x, w.transpose(1, 2))`),
    and the fused CPU Adam kernel (torch 2.13) reads a gradient in memory order whatever its
    strides, silently applying a permuted update. `.backward()` cannot show this: it stores
    gradients in the parameter's own layout.
    """
    for p, g in zip(params, torch.autograd.grad(loss, params)):
        p.grad = g.contiguous()
    optimizer.step()


def train_reconstruction(model: TargetNet, x: torch.Tensor, ctx: Context, *, stream: str, epochs: int,
                         lr: float = 1e-3, loss: Loss = bce_loss, optimizer: torch.optim.Optimizer | None = None,
                         checkpoint: Checkpoint | None = None, keep_checkpoint: bool = False) -> torch.optim.Optimizer:
    """Keras `fit(x, x)`: Adam, shuffled mini-batches of the data set's batch size, dropout on."""
    optimizer = optimizer or keras_adam(model.parameters(), lr)
    model.train()

    def step(idx: torch.Tensor) -> torch.Tensor:
        batch = x[idx.to(x.device)]
        value = loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        return value.detach()

    fit_epochs(step, len(x), batch_size=ctx.hparams.batch_size, epochs=epochs,
               generator=ctx.torch_generator(f"{stream}/shuffle"), state={"model": model, "opt": optimizer},
               checkpoint=checkpoint, keep_checkpoint=keep_checkpoint, desc=stream, progress=ctx.progress)
    model.eval()
    return optimizer


def sample_shape(split: Split) -> tuple[int, ...]:
    return tuple(split.x_train.shape[1:])


def as_tensor(x: np.ndarray, ctx: Context) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32, device=ctx.device)


class MissingTargetError(RuntimeError):
    """A run needs a shared target it may not train (a workflow job reads targets as inputs)."""


def cached_state(ctx: Context, name: str, train: Callable[[Checkpoint | None], object]) -> object:
    """The state of target `name`: loaded from `targets/<name>.pt` when it is there and was made by
    this run's fingerprint, else trained (resumably) and stored with it.

    A workflow job may train only its own target (`ctx.trains`); any other target is one of its
    declared inputs, which Snakemake keeps current, and is loaded as it is (never trained there).
    """
    final = ctx.path("targets", f"{name}.pt")
    if final is None:
        return train(None)
    if not ctx.may_train(name):
        if not final.exists():
            raise MissingTargetError(f"shared target {final} is missing: this job may not train it (a method or "
                                     f"target that reads it must declare it in methods/catalog.py)")
        log.info("target %s: read %s (%.2f MB)", name, final, final.stat().st_size / 1e6)
        return load_torch(final, map_location=ctx.device)["state"]  # a damaged file: DamagedFileError
    # The context's own settings count even where no job fingerprint was given (a bare Context).
    fingerprint = (f"{ctx.target_fingerprints.get(name, ctx.fingerprint)}/targets/{name}/epochs={ctx.epochs}/"
                   f"{ctx.device.type}/{ctx.precision}/{json.dumps(ctx.options, sort_keys=True, default=str)}")
    if final.exists():
        try:
            payload = load_torch(final, map_location=ctx.device)
        except DamagedFileError as err:  # this run may train it: trained again, never read
            log.warning("target %s: %s; retrained", name, err)
            payload = {}
        if payload.get("fingerprint") == fingerprint:
            log.info("target %s: stored by this run's fingerprint, read %s", name, final)
            return payload["state"]
        if payload:
            log.info("target %s: %s belongs to another run (code, options, inputs or epochs): retrained", name,
                     final)
    checkpoint = Checkpoint(final.with_suffix(".ckpt"), fingerprint, ctx.checkpoint_every_s)
    state = train(checkpoint)
    save_torch(final, {"fingerprint": fingerprint, "state": state})
    log.info("target %s: stored %s (%.2f MB)", name, final, final.stat().st_size / 1e6)
    checkpoint.path.unlink(missing_ok=True)
    return state


def trained_ae(split: Split, ctx: Context, *, epochs: int = 100) -> TargetNet:
    """The R2-AD2 "AE" (docs/methods.md#target-dense): all normal training rows, BCE, Adam 1e-3, 100 epochs."""

    def train(checkpoint):
        ctx.seed_torch("target/ae/init")
        model = r2ad2_target(sample_shape(split), ctx.hparams.encoder).to(ctx.device)
        train_reconstruction(model, as_tensor(split.train_target, ctx), ctx, stream="target/ae",
                             epochs=ctx.n_epochs(epochs), checkpoint=checkpoint)
        return model.state_dict()

    model = r2ad2_target(sample_shape(split), ctx.hparams.encoder).to(ctx.device)
    model.load_state_dict(cached_state(ctx, "ae", train))
    return model.eval()


def snapshot_family(split: Split, ctx: Context, k: int, *, snapshots_per_k: bool, fresh_optimizer_at_snapshots: bool,
                    holdout_redraw: bool, t0: int = 10, t: int = 5) -> list[dict]:
    """θ(T0), θ(T0+T), …: k frozen snapshots of R2-AD2's target (docs/methods.md#r2ad2-snapshots).

    T0 epochs on the 75 % hold-out, then a fresh Adam (Keras does not restore optimiser slots from
    the saved GAA-AE) carried through the T-epoch segments. By default one chain of 4 serves every
    k (GAA-k uses its first k snapshots); `snapshots_per_k` retrains a chain per k as the original
    does, `holdout_redraw` trains the segments on a stored re-draw of the hold-out instead of T0's
    (the R2-AD2 options of methods/catalog.py, which holds their defaults).
    """
    per_k = bool(snapshots_per_k)
    length = k if per_k else max(k, 4)
    fresh = bool(fresh_optimizer_at_snapshots)
    redraws = split.extra.get("holdout_redraws") if holdout_redraw else None
    if holdout_redraw and (redraws is None or len(redraws) == 0):
        # Never a silent single draw when the re-draw was asked for.
        raise ValueError("option holdout_redraw is on but the split stores no hold-out re-draw; build it with "
                         "protocol.holdout_redraws ≥ 1 (SplitParams.holdout_redraws)")
    if ctx.epochs is not None:  # an epoch override shortens the chain, never lengthens it
        t0, t = min(t0, ctx.epochs), max(1, min(t, ctx.epochs // 2))

    def holdout(i: int) -> torch.Tensor:
        # The original draws a new 75 % subset at every `to_data`: T0 (GAA-AE) reads one, and each
        # GAA-k fits all its segments on the one subset of its own `to_data` (GAA.add_target's
        # x_train), so the segments share one re-draw; chain k of `snapshots_per_k` reads re-draw k−1.
        if redraws is None or i == 0:
            return as_tensor(split.train_target[split.holdout], ctx)
        return as_tensor(split.train_target[redraws[min(k - 1, len(redraws) - 1) if per_k else 0]], ctx)

    def build() -> TargetNet:
        return r2ad2_target(sample_shape(split), ctx.hparams.encoder).to(ctx.device)

    def train_t0(checkpoint: Checkpoint | None) -> dict:
        ctx.seed_torch("target/gaa/init")
        model = build()
        opt = train_reconstruction(model, holdout(0), ctx, stream="target/gaa", epochs=t0, checkpoint=checkpoint,
                                   keep_checkpoint=True)
        return {"model": model.state_dict(), "optimizer": opt.state_dict()}

    naming = {"k": k, "per_k": per_k, "fresh": fresh, "redraw": redraws is not None}
    tag, stem = snapshot_chain_tag(**naming), snapshot_chain_stem(**naming)  # the segments' streams, its file

    def train_chain(checkpoint: Checkpoint | None) -> dict:
        # T0 and every segment keep their finished checkpoints until the chain is stored, so an
        # interrupted chain resumes where it stopped; nothing else of it outlives the job.
        base = train_t0(checkpoint.sibling(f"{checkpoint.path.stem}.t0.ckpt") if checkpoint else None)
        model = build()
        model.load_state_dict(base["model"])
        opt = keras_adam(model.parameters(), 1e-3)
        if not fresh:  # switch: carry T0's Adam moments on (what one might expect; not the original)
            opt.load_state_dict(base["optimizer"])
        snaps = [copy.deepcopy(model.state_dict())]
        for i in range(1, length):
            ctx.seed_torch(f"target/gaa/{tag}/segment{i}")
            seg_ckpt = checkpoint.sibling(f"{checkpoint.path.stem}.seg{i}.ckpt") if checkpoint else None
            train_reconstruction(model, holdout(i), ctx, stream=f"target/gaa/{tag}/segment{i}", epochs=t,
                                 optimizer=opt, checkpoint=seg_ckpt, keep_checkpoint=True)
            snaps.append(copy.deepcopy(model.state_dict()))
        if checkpoint is not None:
            for part in checkpoint.path.parent.glob(f"{checkpoint.path.stem}.*.ckpt"):
                part.unlink()
        return {"snapshots": snaps}

    chain = cached_state(ctx, stem, train_chain)["snapshots"]
    return chain[:k]


def snapshot_chain(split: Split, ctx: Context, *, fresh_optimizer_at_snapshots: bool,
                   holdout_redraw: bool) -> list[dict]:
    """The shared 4-snapshot chain (catalog target `gaa`): GAA-k reads its first k snapshots."""
    return snapshot_family(split, ctx, 4, snapshots_per_k=False,
                           fresh_optimizer_at_snapshots=fresh_optimizer_at_snapshots, holdout_redraw=holdout_redraw)
