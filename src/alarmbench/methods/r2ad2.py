"""R2-AD2 (GAA-k): an alarm network on the raw per-sample gradients of k target snapshots (docs/methods.md#r2ad2).

Real-data gradients are computed once (the snapshots are frozen, so this equals the original's
per-batch recomputation) and kept on the device; the N(0.5, 1) counter-examples are new every
batch, so their gradients are computed on the fly. Each mini-batch makes two updates (docs/methods.md#r2ad2-training):
the alarm step (BN in inference mode, alarm in training mode, real + counter-examples) and the
BN step (BN in training mode on the real batch only, alarm in inference mode).
"""

from __future__ import annotations

import numpy as np
import torch

from alarmbench.data.splits import Split
from alarmbench.features.gradients import PerSampleGradients
from alarmbench.methods.base import Detector, counterexamples
from alarmbench.runtime.context import Context
from alarmbench.runtime.loop import GeneratorState, fit_epochs
from alarmbench.targets.training import as_tensor, keras_adam, sample_shape, snapshot_family, step_block
from alarmbench.nets.alarms import R2AD2Alarm
from alarmbench.nets.keras import keras_bce
from alarmbench.nets.targets import r2ad2_target


class R2AD2(Detector):
    def __init__(self, k: int, *, fresh_optimizer_at_snapshots: bool, holdout_redraw: bool,
                 snapshots_per_k: bool) -> None:
        """`k` snapshots; the options as methods/catalog.py declares them (build_method fills their defaults)."""
        if not 1 <= k <= 4:
            raise ValueError(f"R2-AD2 uses 1 to 4 snapshots, got {k}")
        self.k = k
        self.name = "r2ad2" if k == 3 else f"r2ad2-{k}"
        self.chain_options = {"snapshots_per_k": snapshots_per_k, "holdout_redraw": holdout_redraw,
                              "fresh_optimizer_at_snapshots": fresh_optimizer_at_snapshots}

    def fit(self, split: Split, ctx: Context) -> "R2AD2":
        self.device = ctx.device
        shape = sample_shape(split)
        snapshots = snapshot_family(split, ctx, self.k, **self.chain_options)
        self.gradients = PerSampleGradients(r2ad2_target(shape, ctx.hparams.encoder), snapshots, device=ctx.device)
        self.cache = ctx
        # The workflow's cache holds the 4-snapshot chain's gradients: GAA-k reads the first k, in
        # the cache's fp16 (half the memory; converted per batch, exactly), in memory when they fit.
        feats = ctx.training_features("gradients", lead=slice(0, self.k))
        if feats is None:
            feats = self.gradients(as_tensor(split.x_train, ctx))  # (N, k, P), kept for all epochs
        y = as_tensor(split.a_train.astype(np.float32), ctx)

        ctx.seed_torch(f"{self.name}/init")
        self.alarm = R2AD2Alarm(self.gradients.n_params, self.k, ctx.hparams.alarm).to(ctx.device)
        alarm_params, bn_params = list(self.alarm.alarm_parameters()), list(self.alarm.bn_parameters())
        opt_alarm, opt_bn = keras_adam(alarm_params, 1e-3), keras_adam(bn_params, 1e-3)
        noise_gen = ctx.device_generator(f"{self.name}/noise")

        def step(idx: torch.Tensor) -> torch.Tensor:
            idx = idx.to(ctx.device)
            g_real, y_real = feats[idx].to(ctx.device, torch.float32), y[idx]
            g_noise = self.gradients(counterexamples(len(idx), shape, noise_gen))
            # Alarm step: BN with running statistics (a fixed affine map here), dropout on.
            self.alarm.set_modes(bn_training=False, alarm_training=True)
            with torch.no_grad():
                h = self.alarm.preprocess(torch.cat([g_real, g_noise]))
            with ctx.autocast():
                z = self.alarm.alarm(h).squeeze(-1)
            p = torch.sigmoid(z.float())
            n = len(idx)
            loss = keras_bce(p[:n], y_real, from_logits=False) + keras_bce(p[n:], torch.ones_like(p[n:]),
                                                                           from_logits=False)
            step_block(loss, alarm_params, opt_alarm)
            # BN step: batch statistics of the real batch only, alarm without dropout.
            self.alarm.set_modes(bn_training=True, alarm_training=False)
            with ctx.autocast():
                z = self.alarm(g_real)
            loss_bn = keras_bce(torch.sigmoid(z.float()), y_real, from_logits=False)
            step_block(loss_bn, bn_params, opt_bn)
            return loss.detach()

        fit_epochs(step, len(feats), batch_size=ctx.hparams.batch_size, epochs=ctx.n_epochs(100),
                   generator=ctx.torch_generator(f"{self.name}/shuffle"),
                   state={"alarm": self.alarm, "opt_alarm": opt_alarm, "opt_bn": opt_bn,
                          "noise": GeneratorState(noise_gen)},
                   checkpoint=ctx.checkpoint(self.name), desc=self.name, progress=ctx.progress)
        self.alarm.eval()
        return self

    @torch.no_grad()
    def score_split(self, split: Split, part: str) -> np.ndarray:
        self.alarm.eval()
        scores = self.cache.score_cached("gradients", part, self.alarm, lead=slice(0, self.k))
        return super().score_split(split, part) if scores is None else scores

    @torch.no_grad()
    def score(self, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
        self.alarm.eval()
        out = []
        for lo in range(0, len(x), chunk):
            g = self.gradients(torch.as_tensor(x[lo: lo + chunk], dtype=torch.float32, device=self.device))
            out.append(self.alarm(g).double().cpu())  # logits: same ranking as the sigmoid, no ties at 1.0
        return torch.cat(out).numpy()
