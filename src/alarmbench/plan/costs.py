"""The cost model: per method and cell, the jobs it needs and each one's optimiser steps, FLOPs,
LSTM gate values and parameter updates, dispatched from the method catalog's declarations.

A method's cost is the sum of: the train_target job of every target it reads
(`catalog.targets_read`, keyed by `Target.name`, with the target a target starts from), the
extraction of every cached feature it reads (keyed by `Feature.kind`), and its own fit_score job
(keyed by the method's class, `Method.cls`). A class without a fit model is listed in
`NOT_MODELLED` with the reason; tests/unit/test_plan.py checks that every catalog entry is one or
the other.

FLOPs count the matrix products: 2 per multiply-accumulate forward, 2 for the weight gradients
and 2 for the input gradients backward, each only where the training step asks for it (R2-AD2's
two-optimiser step: the alarm step needs no gradient of the alarm's input, the BN step no weight
gradient of the alarm). CPU seconds of a stage = steps × the loop's step cost (`STEP_UNITS` base
steps) + FLOPs / FLOP rate + gate values × gate cost + parameter updates × Adam cost (the four
constants of `Calibration`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from alarmbench.data.spec import HyperParams
from alarmbench.methods import catalog
from alarmbench.plan.calibration import DEFAULT_CALIBRATION, Calibration
from alarmbench.plan.shapes import Shapes
from alarmbench.plan.sizes import (DEVNET_BATCH_SIZE, DEVNET_BATCHES_PER_EPOCH, DEVNET_PAPER_EPOCHS,
                                   dense_alarm_size, devnet_size, r2ad2_alarm_size, r2ad2_gate_values,
                                   r2ad2_step_flops, ruff_size, target_size)

# The cost of one step of each training loop, in base steps (`Calibration.step_seconds`): fitted
# to the process CPU time of Mammography fits at 5 and 20 epochs (`alarmbench run --epochs 5|20`,
# fit_cpu_seconds), deepsad-ruff's and R2-AD2's to the runs of benchmarks/plan_accuracy.py. One
# step of: the BCE AEs (AE, R2-AD2 snapshots, A³-2020 AE), the MSE DeepSVDD-AE, Deep SVDD/SAD,
# GradCon (a double backward), DevNet, A3v2 (+ counter-example activations), A³-2020 (activations
# of the real and noise batches on the fly), R2-AD2 (what its GEMMs, LSTM gates and Adam leave:
# the counter-example gradients and the batch's bookkeeping; an alarm step's own fixed cost is
# ≈ 0.4 base steps, its element-wise work scales with the gates), deepsad-ruff (BatchNorm MLP,
# Adam with weight decay).
STEP_UNITS = {"bce-ae": 1.5, "mse-ae": 0.9, "deepsad": 1.0, "gradcon": 2.8, "devnet": 0.22, "a3": 4.1,
              "a3-2020": 13.4, "r2ad2": 4.0, "ruff": 1.6, "extract": 3.0, "score": 1.0}
# What every job spends before its first step (torch's first calls, building the nets, moving the
# data), in base steps: ≈ 1.0 s in each of the fits above at 0.4 ms per base step, so it scales
# with the machine as the steps do. Python's start-up is not counted.
JOB_STEPS = 2500


def job_seconds(calib: Calibration) -> float:
    return JOB_STEPS * calib.step_seconds


@dataclass(frozen=True)
class Stage:
    job: str  # "train_target ae", "extract gradients", "fit_score r2ad2"
    kind: str  # a STEP_UNITS key
    steps: int
    flops: float
    gates: float = 0.0  # LSTM gate values computed (rows × time steps × 4 units), forward + backward
    updates: float = 0.0  # parameter updates (Adam), all steps

    def seconds(self, calib: Calibration) -> float:
        return (self.steps * STEP_UNITS[self.kind] * calib.step_seconds + self.flops / calib.flop_rate
                + self.gates * calib.gate_seconds + self.updates * calib.adam_seconds)


@dataclass(frozen=True)
class Estimate:
    dataset: str
    method: str
    target_params: int | None = None  # trainable parameters of the (largest) target it reads
    alarm_params: int | None = None  # of the network the fit trains (alarm, mapping or scorer)
    feature_length: int | None = None  # values per row of the cached features (or of on-the-fly ones)
    cache_bytes: int = 0  # the workflow's feature cache for one cell
    checkpoint_bytes: int = 0  # one checkpoint of the fit: weights + two Adam moments, float32
    stages: tuple[Stage, ...] = ()
    note: str = ""  # why it is not modelled

    @property
    def steps(self) -> int:
        return sum(s.steps for s in self.stages)

    @property
    def flops(self) -> float:
        return sum(s.flops for s in self.stages)

    @property
    def jobs(self) -> int:
        """The workflow jobs of one cell: its train_target and extract jobs and the fit_score job."""
        return 1 + sum(s.job.startswith(("train_target", "extract")) for s in self.stages)

    def seconds(self, calib: Calibration = DEFAULT_CALIBRATION, *, jobs: int | None = None) -> float:
        """Projected CPU seconds of one cell; `jobs`: processes that run it (default: one per
        workflow job; `alarmbench run` is one)."""
        if not self.stages:
            return 0.0
        return sum(s.seconds(calib) for s in self.stages) + job_seconds(calib) * (self.jobs if jobs is None else jobs)

    @property
    def modelled(self) -> bool:
        return bool(self.stages)


@dataclass(frozen=True)
class Cell:
    """What a cost function reads: the shapes, the data set's sizes, the run's epochs (None: the
    papers'), the method's options."""

    shapes: Shapes
    hp: HyperParams
    epochs: int | None = None
    options: Mapping = field(default_factory=dict)
    feature_dtype: str = "float16"

    def epochs_or(self, paper: int) -> int:
        return paper if self.epochs is None else int(self.epochs)


def _batches(rows: int, batch: int) -> int:
    return math.ceil(rows / batch) if rows else 0


def _reconstruction(job: str, size, rows: int, batch: int, epochs: int, kind: str = "bce-ae") -> Stage:
    steps = _batches(rows, batch) * epochs
    return Stage(job, kind, steps, 6.0 * size.macs * rows * epochs, updates=steps * size.params)


def _ae(c: Cell) -> list[Stage]:
    s = c.shapes
    return [_reconstruction("train_target ae", target_size("r2ad2", s.sample_shape, c.hp), s.n_normal_train,
                            c.hp.batch_size, c.epochs_or(100))]


def _gaa(c: Cell) -> list[Stage]:  # T0 epochs, then 3 segments of T (target_training.snapshot_family)
    s = c.shapes
    t0, t = (10, 5) if c.epochs is None else (min(10, c.epochs), max(1, min(5, c.epochs // 2)))
    return [_reconstruction("train_target gaa", target_size("r2ad2", s.sample_shape, c.hp), s.n_holdout,
                            c.hp.batch_size, t0 + 3 * t)]


def _deepsvdd_ae(c: Cell) -> list[Stage]:
    s = c.shapes
    return [_reconstruction("train_target deepsvdd_ae", target_size("deepsvdd", s.sample_shape, c.hp),
                            s.n_normal_train, c.hp.batch_size, c.epochs_or(100), kind="mse-ae")]


def _deepsvdd(c: Cell) -> list[Stage]:
    s, size, e = c.shapes, target_size("deepsvdd", c.shapes.sample_shape, c.hp), c.epochs_or(100)
    steps = _batches(s.n_normal_train, c.hp.batch_size) * e
    return [Stage("train_target deepsvdd", "deepsad", steps, 6.0 * size.encoder_macs * s.n_normal_train * e,
                  updates=steps * size.encoder_params)]


def _a3_ae(c: Cell) -> list[Stage]:
    s = c.shapes
    return [_reconstruction("train_target a3_ae", target_size("a3", s.sample_shape, c.hp), s.n_normal_train,
                            c.hp.a3_batch_size, c.epochs_or(30))]


def _gradcon(c: Cell) -> list[Stage]:  # reconstruction + a double backward to the decoder kernels
    s, size, e = c.shapes, target_size("r2ad2", c.shapes.sample_shape, c.hp), c.epochs_or(100)
    steps = _batches(s.n_normal_train, c.hp.batch_size) * e
    return [Stage("train_target gradcon", "gradcon", steps, 10.0 * size.macs * s.n_normal_train * e,
                  updates=steps * size.params)]


# catalog.TARGETS name -> the stages of its train_target job
TARGET_COSTS: dict[str, Callable[[Cell], list[Stage]]] = {
    "ae": _ae, "gaa": _gaa, "deepsvdd_ae": _deepsvdd_ae, "deepsvdd": _deepsvdd, "a3_ae": _a3_ae, "gradcon": _gradcon,
}


@dataclass(frozen=True)
class FeatureCost:
    stage: Stage
    cache_bytes: int


def _gradients(c: Cell) -> FeatureCost:
    """The snapshot chain's per-sample gradients of every row: 4 snapshots, P values each."""
    s, t = c.shapes, target_size("r2ad2", c.shapes.sample_shape, c.hp)
    item = np.dtype(c.feature_dtype).itemsize
    return FeatureCost(Stage("extract gradients", "extract", _batches(s.n_rows, 1024), 4 * 6.0 * t.macs * s.n_rows),
                       s.n_rows * 4 * t.params * item)


def _activations(c: Cell) -> FeatureCost:
    s, t = c.shapes, target_size("r2ad2", c.shapes.sample_shape, c.hp)
    item = np.dtype(c.feature_dtype).itemsize
    return FeatureCost(Stage("extract activations", "extract", _batches(s.n_rows, 4096), 2.0 * t.macs * s.n_rows),
                       s.n_rows * t.activations * item)


# catalog.FEATURES kind -> its extract job
FEATURE_COSTS: dict[str, Callable[[Cell], FeatureCost]] = {"gradients": _gradients, "activations": _activations}


def _r2ad2_fit(decl: catalog.Method, c: Cell) -> Estimate:
    s, hp = c.shapes, c.hp
    k = int(decl.kwargs.get("k", 3))
    t = target_size("r2ad2", s.sample_shape, hp)
    alarm = r2ad2_alarm_size(t.params, k, tuple(hp.alarm))
    e = c.epochs_or(100)
    steps = _batches(s.n_train, hp.batch_size) * e
    rows = s.n_train * e
    counter = k * 6.0 * t.macs  # the counter-example's k per-sample gradients
    fit = Stage(f"fit_score {decl.id}", "r2ad2", steps, (r2ad2_step_flops(alarm) + counter) * rows,
                gates=r2ad2_gate_values(alarm, k) * rows, updates=steps * (alarm.params + alarm.bn_params))
    score = Stage(f"score {decl.id}", "score", _batches(s.n_val + s.n_test, 4096), 2.0 * alarm.macs * (s.n_val + s.n_test),
                  gates=4.0 * alarm.lstm_units * k * (s.n_val + s.n_test))
    return Estimate(s.dataset, decl.id, t.params, alarm.params + alarm.bn_params, k * t.params,
                    stages=(fit, score), checkpoint_bytes=12 * (alarm.params + alarm.bn_params))


def _a3_fit(decl: catalog.Method, c: Cell) -> Estimate:
    s, hp = c.shapes, c.hp
    t = target_size("r2ad2", s.sample_shape, hp)
    alarm = dense_alarm_size("a3", t.activations, tuple(hp.alarm))
    e = c.epochs_or(100)
    steps = _batches(s.n_train, hp.batch_size) * e
    fit = Stage(f"fit_score {decl.id}", "a3", steps, (2.0 * t.macs + 12.0 * alarm.macs) * s.n_train * e,
                updates=steps * alarm.params)
    return Estimate(s.dataset, decl.id, t.params, alarm.params, t.activations, stages=(fit,),
                    checkpoint_bytes=12 * alarm.params)


def _a3_2020_fit(decl: catalog.Method, c: Cell) -> Estimate:
    s, hp = c.shapes, c.hp
    t = target_size("a3", s.sample_shape, hp)
    declared = {o.name: o.default for o in decl.options}
    options = {**declared, **dict(c.options)}
    alarm = dense_alarm_size("a3-2020", t.activations, tuple(options["a3_alarm_dims"]))
    e = c.epochs_or(60)
    noise = 2 if options["a3_noise"] else 1
    steps = _batches(s.n_train, hp.a3_batch_size) * e
    fit = Stage(f"fit_score {decl.id}", "a3-2020", steps, noise * (2.0 * t.macs + 6.0 * alarm.macs) * s.n_train * e,
                updates=steps * alarm.params)
    return Estimate(s.dataset, decl.id, t.params, alarm.params, t.activations, stages=(fit,),
                    checkpoint_bytes=12 * alarm.params)


def _scoring_only(per_row: Callable) -> Callable:
    """Methods trained in their target's job (AE, GradCon, Deep SVDD): the fit job only scores."""
    def fit(decl: catalog.Method, c: Cell) -> Estimate:
        s = c.shapes
        kind = "deepsvdd" if decl.targets == ("deepsvdd",) else "r2ad2"
        t = target_size(kind, s.sample_shape, c.hp)
        rows = s.n_val + s.n_test
        return Estimate(s.dataset, decl.id, t.params,
                        stages=(Stage(f"score {decl.id}", "score", _batches(rows, 2048), per_row(t) * rows),))
    return fit


def _deepsad_fit(decl: catalog.Method, c: Cell) -> Estimate:
    s, t = c.shapes, target_size("deepsvdd", c.shapes.sample_shape, c.hp)
    e = c.epochs_or(100)
    steps = _batches(s.n_train, c.hp.batch_size) * e
    fit = Stage(f"fit_score {decl.id}", "deepsad", steps, 6.0 * t.encoder_macs * s.n_train * e,
                updates=steps * t.encoder_params)
    return Estimate(s.dataset, decl.id, t.params, t.encoder_params, stages=(fit,), checkpoint_bytes=12 * t.encoder_params)


def _devnet_fit(decl: catalog.Method, c: Cell) -> Estimate:
    """DevNet.paper_epochs × batches_per_epoch balanced batches of batch_size (methods/devnet.py)."""
    net = devnet_size(c.shapes.n_features)
    steps = DEVNET_BATCHES_PER_EPOCH * c.epochs_or(DEVNET_PAPER_EPOCHS)
    fit = Stage(f"fit_score {decl.id}", "devnet", steps, 6.0 * net.macs * DEVNET_BATCH_SIZE * steps,
                updates=steps * net.params)
    return Estimate(c.shapes.dataset, decl.id, alarm_params=net.params, stages=(fit,), checkpoint_bytes=12 * net.params)


def _ruff_fit(decl: catalog.Method, c: Cell) -> Estimate:
    """Pre-training of the autoencoder, then Deep SAD on φ: full batches only (drop_last)."""
    s = c.shapes
    declared = {o.name: o.default for o in decl.options}
    o = {**declared, **dict(c.options)}
    dims = o["deepsad_ruff_dims"]
    net = ruff_size(s.n_features, tuple(dims) if dims else None)
    batch = int(o["deepsad_ruff_batch_size"])
    per_epoch = max(1, s.n_train // batch) if s.n_train >= batch else 1
    rows = min(batch, s.n_train) * per_epoch
    stages = []
    for stream, epochs, macs, params in (("pretrain", o["deepsad_ruff_pretrain_epochs"], net.macs, net.params),
                                          ("train", o["deepsad_ruff_epochs"], net.encoder_macs, net.encoder_params)):
        e = c.epochs_or(int(epochs))
        stages.append(Stage(f"fit_score {decl.id} ({stream})", "ruff", per_epoch * e, 6.0 * macs * rows * e,
                            updates=per_epoch * e * params))
    return Estimate(s.dataset, decl.id, alarm_params=net.params, stages=tuple(stages), checkpoint_bytes=12 * net.params)


# catalog.Method.cls -> its fit_score job
FIT_COSTS: dict[str, Callable[[catalog.Method, Cell], Estimate]] = {
    "r2ad2:R2AD2": _r2ad2_fit,
    "a3:A3": _a3_fit,
    "a3:A3_2020": _a3_2020_fit,
    "ae:AEScore": _scoring_only(lambda t: 2.0 * t.macs),
    "gradcon:GradCon": _scoring_only(lambda t: 6.0 * t.macs),
    "deepsad:DeepSVDD": _scoring_only(lambda t: 2.0 * t.encoder_macs),
    "deepsad:DeepSAD": _deepsad_fit,
    "devnet:DevNet": _devnet_fit,
    "deepsad_ruff:DeepSADRuff": _ruff_fit,
}
# catalog.Method.cls -> why its cost is not modelled
_TREES = ("no optimiser steps: its cost grows with trees × rows × features (scikit-learn, compiled), which the "
          "step/FLOP model does not describe")
NOT_MODELLED: dict[str, str] = {
    "classical:IForest": _TREES,
    "classical:GBDT": _TREES,
    "classical:GBDTOD": _TREES,
    "pyod_adapter:PyODDetector": "any PyOD class: each has its own algorithm (trees, neighbours, nets)",
}


def target_jobs(target: str) -> list[str]:
    """A target's train_target job and those of the targets it starts from, first things first."""
    before = catalog.TARGETS[target].starts_from
    return [*(target_jobs(before) if before else []), target]


def estimate(method: str, shapes: Shapes, hp: HyperParams, *, epochs: int | None = None,
             options: Mapping | None = None, feature_dtype: str = "float16") -> Estimate:
    """The cost of one cell of `method` (its targets, feature extraction and fit) on `shapes`."""
    decl = catalog.method(method)
    if decl.cls in NOT_MODELLED:
        return Estimate(shapes.dataset, method, note=f"not modelled: {NOT_MODELLED[decl.cls]}")
    if decl.cls not in FIT_COSTS:  # a new method: the plan goes on (tests/unit/test_plan.py asks for its model)
        return Estimate(shapes.dataset, method, note=f"not modelled: no cost model for {decl.cls} in "
                                                     f"alarmbench/plan/costs.py (FIT_COSTS or NOT_MODELLED)")
    c = Cell(shapes, hp, epochs, dict(options or {}), feature_dtype)
    stages: list[Stage] = []
    for target in dict.fromkeys(t for name in catalog.targets_read(method) for t in target_jobs(name)):
        stages += TARGET_COSTS[target](c)
    features = [FEATURE_COSTS[kind](c) for kind in decl.features]
    fit = FIT_COSTS[decl.cls](decl, c)
    return replace(fit, stages=(*stages, *(f.stage for f in features), *fit.stages),
                   cache_bytes=sum(f.cache_bytes for f in features))
