"""What a run will cost, from the data shapes alone, before any job: `alarmbench plan` and the
one-line-per-(data set, method) summary the workflow prints when it builds its DAG.

Per method and cell: the trainable parameters of its target and alarm, the length of the
feature rows it reads (R2-AD2: target parameters × snapshots; A³: the AE's activations), the
bytes of the workflow's feature cache and of one training checkpoint, the optimiser steps
(epochs × mini-batches) of each job it needs (train_target, extract, fit_score), their FLOPs,
and a projected single-thread CPU time.

The parameter and activation counts of the dense nets are closed formulas of the declared
architectures (nets/dense.py, nets/alarms.py, methods/devnet.py; tests hold them to the real
nets); the image targets are counted on torch's meta device. FLOPs count the matrix products:
2 per parameter and row forward, 4 more backward (an LSTM's weights once per time step).
CPU time = per job a fixed start (`JOB_SECONDS`) + per stage steps × step cost + FLOPs / FLOP
rate: small nets are bound by the cost of a step (Python, autograd, Adam), the 1000-500-200-75
alarms by arithmetic. The base step and the FLOP rate come from a calibration run (`alarmbench
plan --calibrate`: a tiny and a wide MLP, process CPU time), recorded below for the machine this
project is developed on; each loop's step is a measured multiple of the base step (`STEP_UNITS`).
Shapes come
from, cheapest first: a cell's split.json (exact row counts), the prepared table's or a user NPZ's
array header (rows × features; the split's row counts are then the protocol's fractions), else
they are unknown until the data set is prepared. Classical methods (trees, forests, PyOD) are not
modelled.
"""

from __future__ import annotations

import json
import math
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from alarmbench.data import registry
from alarmbench.data.spec import HyperParams, default_hparams
from alarmbench.methods import catalog


@dataclass(frozen=True)
class Calibration:
    step_seconds: float  # fixed cost of one training step of a tiny MLP (forward, backward, Adam)
    flop_rate: float  # FLOP/s of training a wide MLP (forward + backward + Adam)
    machine: str = ""
    command: str = ""


# Measured on the development machine (2 shared x86 cores, torch 1 thread, CPU time; 2026-12-04:
# 0.39-0.41 ms and 172-189 GFLOP/s in three runs) with `alarmbench plan --calibrate`; rerun it on
# yours and pass the file with --calibration.
DEFAULT_CALIBRATION = Calibration(step_seconds=4.0e-4, flop_rate=1.8e11, machine="dev box, 1 thread",
                                  command="alarmbench plan --calibrate")

# The cost of one step of each training loop, in base steps (`Calibration.step_seconds`): fitted
# to the process CPU time of Mammography fits at 5 and 20 epochs (`alarmbench run --epochs 5|20`,
# fit_cpu_seconds; README, "Costs before the run"). One step of: the BCE AEs (AE, R2-AD2
# snapshots, A³-2020 AE), the MSE DeepSVDD-AE, Deep SVDD/SAD, GradCon (a double backward), DevNet,
# A3v2 (+ counter-example activations), A³-2020 (activations of the real and noise batches on the
# fly), R2-AD2 (counter-example gradients, alarm step, BN step: ≈ 1,800 aten calls).
STEP_UNITS = {"bce-ae": 1.5, "mse-ae": 0.9, "deepsad": 1.0, "gradcon": 2.8, "devnet": 0.22, "a3": 4.1,
              "a3-2020": 13.4, "r2ad2": 22.0, "extract": 3.0, "score": 1.0}
# CPU seconds every job spends before its first step is cheap (torch's first calls, building the
# nets, moving the data): ≈ 1.0 s in each of the fits above. Python's start-up is not counted.
JOB_SECONDS = 1.0


# methods/devnet.py's DevNet (not imported here: it imports torch; a test keeps them equal).
DEVNET_EPOCHS, DEVNET_BATCHES, DEVNET_BATCH = 50, 20, 512


@dataclass(frozen=True)
class Shapes:
    """The sizes a cell's jobs see (rows of each split part, one sample's shape)."""

    dataset: str
    sample_shape: tuple[int, ...]
    n_train: int  # x_train rows (normal + known anomalies)
    n_normal_train: int  # the targets' training rows
    n_holdout: int  # R2-AD2's 75 % hold-out of them
    n_val: int
    n_test: int
    source: str  # where the sizes come from
    table_rows: int | None = None

    @property
    def n_features(self) -> int:
        return int(np.prod(self.sample_shape))

    @property
    def n_rows(self) -> int:
        return self.n_train + self.n_val + self.n_test


@dataclass(frozen=True)
class Stage:
    job: str  # "train_target ae", "extract gradients", "fit_score r2ad2"
    kind: str  # a STEP_UNITS key
    steps: int
    flops: float

    def seconds(self, calib: Calibration) -> float:
        return self.steps * STEP_UNITS[self.kind] * calib.step_seconds + self.flops / calib.flop_rate


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
    note: str = ""

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
        return sum(s.seconds(calib) for s in self.stages) + JOB_SECONDS * (self.jobs if jobs is None else jobs)

    @property
    def modelled(self) -> bool:
        return bool(self.stages)


# ------------------------------------------------------------------------------ parameter counts
def dense_params(widths: Sequence[int], bias: bool = True) -> int:
    """Trainable parameters of a chain of Linear layers widths[0] → widths[1] → …."""
    return sum(i * o + (o if bias else 0) for i, o in zip(widths[:-1], widths[1:]))


def mirrored_widths(n_in: int, dims: Sequence[int]) -> list[int]:
    """D → d1 … dk → d_{k−1} … d1 → D: the dense AEs (R2-AD2, DeepSVDD-AE, A³-2020)."""
    dims = [int(d) for d in dims]
    return [n_in, *dims, *reversed(dims[:-1]), n_in]


def dense_ae_params(n_in: int, dims: Sequence[int], bias: bool = True) -> int:
    return dense_params(mirrored_widths(n_in, dims), bias)


def ae_activations(dims: Sequence[int]) -> int:
    """Hidden activations per row of the R2-AD2 AE and the A³-2020 AE: 2·(d1+…+d_{k−1}) + dk."""
    dims = [int(d) for d in dims]
    return 2 * sum(dims[:-1]) + dims[-1]


def lstm_params(n_in: int, units: int) -> int:
    """KerasLSTM: kernel, recurrent kernel and one trainable bias (PyTorch's bias_hh frozen)."""
    return 4 * units * (n_in + units) + 4 * units


def r2ad2_alarm_params(p: int, k: int, dims: Sequence[int]) -> tuple[int, int, int]:
    """(BN parameters, alarm parameters, alarm FLOP-parameters per row: LSTMs once per time step)."""
    l1, l2, l3, l4 = (int(d) for d in dims)
    if k == 1:
        n = dense_params([p, l1, l2, l3, l4, 1])
        return 2 * p, n, n
    lstm = lstm_params(p, l1) + lstm_params(l1, l2)
    head = dense_params([l2, l3, l4, 1])
    return 2 * p, lstm + head, lstm * k + head


def dense_alarm_params(n_in: int, dims: Sequence[int]) -> int:
    """A3Alarm / A3_2020Alarm: [Dense(l) ReLU] per l → Dense(1)."""
    return dense_params([n_in, *(int(d) for d in dims), 1])


def devnet_params(n_in: int, hidden: int = 20) -> int:
    return dense_params([n_in, hidden, 1])


@dataclass(frozen=True)
class NetSize:
    params: int  # trainable parameters
    macs: int  # multiply-accumulates of one row's forward pass
    activations: int  # hidden activation values per row (the A³ taps)
    code: int  # code width (DeepSVDD's φ output)
    encoder_params: int  # trainable parameters of the encoder (φ)
    encoder_macs: int


def _dense_size(n_in: int, dims: Sequence[int], bias: bool = True, linear_code: bool = False) -> NetSize:
    widths = mirrored_widths(n_in, dims)
    enc = widths[: len(dims) + 1]
    acts = ae_activations(dims) - (int(dims[-1]) if linear_code else 0)
    return NetSize(dense_params(widths, bias), dense_params(widths, False), acts, int(dims[-1]),
                   dense_params(enc, bias), dense_params(enc, False))


def _meta_size(kind: str, shape: tuple[int, ...]) -> NetSize:
    """Image targets: counted on the real net, built on torch's meta device (no memory, no data)."""
    import torch
    from torch import nn

    from alarmbench.nets.targets import build_target

    with torch.device("meta"):
        net = build_target(kind, shape, 8) if kind == "r2ad2_conv" else build_target(kind, shape)
        macs = {"all": 0, "enc": 0}
        encoder = set(net.encoder.modules())

        def count(module, inputs, output):
            if isinstance(module, nn.Linear):
                n = module.in_features * module.out_features
            else:  # weight[0] is what one output (Conv2d) or one input element (transposed) meets
                per = module.weight[0].numel()
                n = (output[0] if isinstance(module, nn.Conv2d) else inputs[0][0]).numel() * per
            macs["all"] += int(n)
            if module in encoder:
                macs["enc"] += int(n)

        hooks = [m.register_forward_hook(count) for m in net.modules()
                 if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
        net.eval()
        _, acts = net.forward_with_activations(torch.zeros(1, *shape))
        code = net.encode(torch.zeros(1, *shape))
        for h in hooks:
            h.remove()
        enc_macs = macs["enc"] // 2  # encode() ran the encoder a second time
    enc_params = sum(p.numel() for p in net.encoder.parameters() if p.requires_grad)
    return NetSize(net.n_parameters(), macs["all"] - enc_macs, sum(a[0].numel() for a in acts), int(code.shape[1]),
                   enc_params, enc_macs)


def target_size(kind: str, shape: tuple[int, ...], hp: HyperParams) -> NetSize:
    """kind: "r2ad2" (the AE, GAA snapshots, GradCon), "deepsvdd" (DeepSVDD-AE), "a3" (A³-2020 AE)."""
    n_in = int(np.prod(shape))
    dims = hp.a3_target if kind == "a3" else hp.encoder
    if isinstance(dims, str):  # "conv": the image nets
        return _meta_size({"r2ad2": "r2ad2_conv", "deepsvdd": "deepsvdd_conv", "a3": "a3_conv"}[kind], tuple(shape))
    if kind == "deepsvdd":
        return _dense_size(n_in, dims, bias=False, linear_code=True)  # DeepSVDD-AE: no biases, linear code
    return _dense_size(n_in, dims)


# ------------------------------------------------------------------------------ shapes
def _npy_shape(path: Path, member: str) -> tuple[int, ...] | None:
    """The shape of array `member` of an .npz from its header only (the data is not read)."""
    try:
        with zipfile.ZipFile(path) as z, z.open(f"{member}.npy") as f:
            fmt = np.lib.format
            version = fmt.read_magic(f)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, _ = read(f)
            return tuple(int(s) for s in shape)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return None


def shapes_from_split(dataset: str, split_json: str | Path, sample_shape: tuple[int, ...]) -> Shapes:
    meta = json.loads(Path(split_json).read_text())
    c = meta["counts"]
    return Shapes(dataset, tuple(sample_shape), sum(c["train"].values()), int(c["n_normal_train"]), int(c["n_holdout"]),
                  sum(c["val"].values()), sum(c["test"].values()), f"{split_json}",
                  meta.get("inputs", {}).get("prepared_rows"))


def shapes_from_table(dataset: str, rows: int, sample_shape: tuple[int, ...], n_anomalies: int,
                      anomalies_total: int | None, source: str, p_test: float = 0.2, p_val: float = 0.05,
                      holdout: float = 0.75) -> Shapes:
    """The protocol's fractions (docs/protocol.md#split) applied to the table: 20 % test, 5 % of the rest for
    validation, the known anomalies capped at n; without a known anomaly count every row counts as
    normal (an upper bound)."""
    normal = rows - (anomalies_total or 0)
    n_test = round(rows * p_test)
    n_val = round((rows - n_test) * p_val)
    n_normal_train = math.floor(normal * (1 - p_test) * (1 - p_val))
    known = min(n_anomalies, anomalies_total // 2) if anomalies_total else n_anomalies
    return Shapes(dataset, tuple(sample_shape), n_normal_train + known, n_normal_train,
                  math.floor(n_normal_train * holdout), n_val, n_test, source, rows)


def table_shape(dataset: str, config: Mapping) -> tuple[tuple[int, ...], str] | None:
    """(X's shape, its file) from the prepared table or a user NPZ, headers only; None if neither."""
    prepared = Path(config.get("prepared_dir", "data/prepared")) / f"{dataset}.npz"
    candidates = [(prepared, "X")]
    user = (config.get("user_datasets") or {}).get(dataset)
    if user and str(user.get("path", "")).endswith(".npz"):
        candidates.append((Path(user["path"]), user.get("x_key", "X")))
    for path, member in candidates:
        if path.exists():
            shape = _npy_shape(path, member)
            if shape:
                return shape, str(path)
    return None


def cheap_shapes(dataset: str, config: Mapping, n_anomalies: int,
                 split_jsons: Iterable[str | Path] = ()) -> Shapes | None:
    """A data set's shapes without reading data: a cell's split.json, else the table's header."""
    table = table_shape(dataset, config)
    spec = registry.get(dataset, config.get("user_datasets") or {})
    sample = tuple(spec.image_shape) if spec.image_shape else None
    if table is not None:
        sample = table[0][1:] if len(table[0]) > 1 else (1,)
    for path in split_jsons:
        if Path(path).exists() and sample is not None:
            return shapes_from_split(dataset, path, sample)
    if table is None:
        return None
    (rows, *_), source = table
    return shapes_from_table(dataset, rows, sample, n_anomalies, spec.n_anomalies_total, source)


def loaded_shapes(dataset: str, config: Mapping, n_anomalies: int) -> Shapes:
    """Shapes of a data set that is not prepared yet: loads it (raw files or mirror) to count rows."""
    from alarmbench.data.api import prepare_dataset

    spec = registry.get(dataset, config.get("user_datasets") or {})
    prep = prepare_dataset(dataset, raw_root=config.get("raw_dir", "data/raw"), mirror=config.get("mirror"),
                           user=config.get("user_datasets") or None)
    return shapes_from_table(dataset, len(prep.X), tuple(prep.X.shape[1:]), n_anomalies, spec.n_anomalies_total,
                             "loaded table")


# ------------------------------------------------------------------------------ the estimate
def _batches(rows: int, batch: int) -> int:
    return math.ceil(rows / batch) if rows else 0


def _epochs(epochs: int | None, paper: int) -> int:
    return paper if epochs is None else int(epochs)


def hparams_of(dataset: str, shapes: Shapes, user: Mapping | None = None) -> HyperParams:
    spec = registry.get(dataset, dict(user or {}))
    return spec.hparams or default_hparams(shapes.n_features, shapes.table_rows or shapes.n_rows)


def _reconstruction(job: str, size: NetSize, rows: int, batch: int, epochs: int, kind: str = "bce-ae") -> Stage:
    return Stage(job, kind, _batches(rows, batch) * epochs, 6.0 * size.macs * rows * epochs)


def target_stages(target: str, shapes: Shapes, hp: HyperParams, epochs: int | None) -> list[Stage]:
    """The train_target job(s) of a shared target (and of the target it starts from)."""
    s, b = shapes, hp.batch_size
    if target == "ae":
        return [_reconstruction("train_target ae", target_size("r2ad2", s.sample_shape, hp), s.n_normal_train, b,
                                _epochs(epochs, 100))]
    if target == "gaa":  # T0 epochs, then 3 segments of T (target_training.snapshot_family)
        t0, t = (10, 5) if epochs is None else (min(10, epochs), max(1, min(5, epochs // 2)))
        return [_reconstruction("train_target gaa", target_size("r2ad2", s.sample_shape, hp), s.n_holdout, b,
                                t0 + 3 * t)]
    if target == "deepsvdd_ae":
        return [_reconstruction("train_target deepsvdd_ae", target_size("deepsvdd", s.sample_shape, hp),
                                s.n_normal_train, b, _epochs(epochs, 100), kind="mse-ae")]
    if target == "deepsvdd":
        size = target_size("deepsvdd", s.sample_shape, hp)
        e = _epochs(epochs, 100)
        return [*target_stages("deepsvdd_ae", shapes, hp, epochs),
                Stage("train_target deepsvdd", "deepsad", _batches(s.n_normal_train, b) * e,
                      6.0 * size.encoder_macs * s.n_normal_train * e)]
    if target == "a3_ae":
        return [_reconstruction("train_target a3_ae", target_size("a3", s.sample_shape, hp), s.n_normal_train,
                                hp.a3_batch_size, _epochs(epochs, 30))]
    if target == "gradcon":  # reconstruction + a double backward to the decoder kernels
        size = target_size("r2ad2", s.sample_shape, hp)
        e = _epochs(epochs, 100)
        return [Stage("train_target gradcon", "gradcon", _batches(s.n_normal_train, b) * e,
                      10.0 * size.macs * s.n_normal_train * e)]
    raise KeyError(f"no cost model for target {target!r}; add one to alarmbench/plan.py")


def estimate(method: str, shapes: Shapes, hp: HyperParams, *, epochs: int | None = None,
             options: Mapping | None = None, feature_dtype: str = "float16") -> Estimate:
    """The cost of one cell of `method` (its targets, feature extraction and fit) on `shapes`."""
    options = dict(options or {})
    decl = catalog.method(method)
    s, b = shapes, hp.batch_size
    item = np.dtype(feature_dtype).itemsize
    rows = s.n_rows
    stages: list[Stage] = []
    for target in catalog.targets_read(method):
        stages += target_stages(target, shapes, hp, epochs)
    base = Estimate(shapes.dataset, method)
    if decl.module == "r2ad2":
        k = int(decl.kwargs.get("k", 3))
        t = target_size("r2ad2", s.sample_shape, hp)
        p = t.params
        bn, alarm, per_row = r2ad2_alarm_params(p, k, hp.alarm)
        grad_flops = 6.0 * t.macs  # forward, backward and the per-sample outer products, per snapshot
        e = _epochs(epochs, 100)
        # Per real row and epoch: its counter-example's k gradients, the alarm step on both rows
        # (forward + backward, 6 per parameter-row) and the BN step (forward + input gradients, 4).
        row_flops = k * grad_flops + 6.0 * per_row * 2 + 4.0 * per_row
        stages += [Stage("extract gradients", "extract", _batches(rows, 1024), 4 * grad_flops * rows),
                   Stage(f"fit_score {method}", "r2ad2", _batches(s.n_train, b) * e, row_flops * s.n_train * e),
                   Stage(f"score {method}", "score", _batches(s.n_val + s.n_test, 4096),
                         2.0 * per_row * (s.n_val + s.n_test))]
        return replace(base, target_params=p, alarm_params=alarm + bn, feature_length=k * p,
                       cache_bytes=rows * 4 * p * item, checkpoint_bytes=12 * (alarm + bn), stages=tuple(stages))
    if method == "a3":
        t = target_size("r2ad2", s.sample_shape, hp)
        alarm = dense_alarm_params(t.activations, hp.alarm)
        e = _epochs(epochs, 100)
        steps = _batches(s.n_train, b) * e
        stages += [Stage("extract activations", "extract", _batches(rows, 4096), 2.0 * t.macs * rows),
                   Stage("fit_score a3", "a3", steps, (2.0 * t.macs + 12.0 * alarm) * s.n_train * e)]
        return replace(base, target_params=t.params, alarm_params=alarm, feature_length=t.activations,
                       cache_bytes=rows * t.activations * item, checkpoint_bytes=12 * alarm, stages=tuple(stages))
    if method == "a3-2020":
        t = target_size("a3", s.sample_shape, hp)
        dims = options.get("a3_alarm_dims", [1000, 500, 200, 75])
        alarm = dense_alarm_params(t.activations, dims)
        e = _epochs(epochs, 60)
        noise = 2 if options.get("a3_noise", True) else 1
        steps = _batches(s.n_train, hp.a3_batch_size) * e
        stages += [Stage("fit_score a3-2020", "a3-2020", steps,
                         noise * (2.0 * t.macs + 6.0 * alarm) * s.n_train * e)]
        return replace(base, target_params=t.params, alarm_params=alarm, feature_length=t.activations,
                       checkpoint_bytes=12 * alarm, stages=tuple(stages))
    if method in ("ae", "gradcon", "deepsvdd"):
        t = target_size("deepsvdd" if method == "deepsvdd" else "r2ad2", s.sample_shape, hp)
        per_row = {"ae": 2.0 * t.macs, "gradcon": 6.0 * t.macs, "deepsvdd": 2.0 * t.encoder_macs}[method]
        stages.append(Stage(f"score {method}", "score", _batches(s.n_val + s.n_test, 2048),
                            per_row * (s.n_val + s.n_test)))
        return replace(base, target_params=t.params, stages=tuple(stages))
    if method == "deepsad":
        t = target_size("deepsvdd", s.sample_shape, hp)
        e = _epochs(epochs, 100)
        stages.append(Stage("fit_score deepsad", "deepsad", _batches(s.n_train, b) * e,
                            6.0 * t.encoder_macs * s.n_train * e))
        return replace(base, target_params=t.params, alarm_params=t.encoder_params,
                       checkpoint_bytes=12 * t.encoder_params, stages=tuple(stages))
    if method == "devnet":  # DevNet.paper_epochs × batches_per_epoch balanced batches of batch_size
        n = devnet_params(s.n_features)
        steps = DEVNET_BATCHES * _epochs(epochs, DEVNET_EPOCHS)
        stages.append(Stage("fit_score devnet", "devnet", steps, 6.0 * n * DEVNET_BATCH * steps))
        return replace(base, alarm_params=n, checkpoint_bytes=12 * n, stages=tuple(stages))
    return replace(base, note="not modelled (no network)")


# ------------------------------------------------------------------------------ a run's plan
@dataclass
class Row:
    """One (data set, method) of a run: its cells and the estimate of one of them (the largest n)."""

    dataset: str
    method: str
    cells: int
    estimate: Estimate | None  # None: shapes unknown
    shapes: Shapes | None = None
    hp: HyperParams | None = None
    notes: list[str] = field(default_factory=list)


def plan_run(config: Mapping, *, load: bool = False) -> list[Row]:
    """A row per (data set, method) of the config's grid. `load`: data sets without a prepared table
    are loaded to count their rows (the CLI); otherwise their shapes are unknown (the DAG build)."""
    from alarmbench import grid

    jobs = grid.expand(dict(config))
    results = Path(config.get("results_dir", "results"))
    user = config.get("user_datasets") or {}
    run = config.get("run", {})
    cells: dict[tuple[str, str], list] = {}
    for job in jobs:
        cells.setdefault((job.cell.dataset, job.method), []).append(job.cell)
    shapes_of: dict[str, Shapes | None] = {}
    rows = []
    for (dataset, method), cs in sorted(cells.items()):
        n = max(c.n_anomalies for c in cs)
        if dataset not in shapes_of:
            splits = [results / c.path / "split.json" for c in sorted(cs, key=lambda c: -c.n_anomalies)]
            shapes = cheap_shapes(dataset, config, n, splits)
            if shapes is None and load:
                shapes = loaded_shapes(dataset, config, n)
            shapes_of[dataset] = shapes
        shapes = shapes_of[dataset]
        if shapes is None:
            rows.append(Row(dataset, method, len(cs), None))
            continue
        hp = hparams_of(dataset, shapes, user)
        est = estimate(method, shapes, hp, epochs=grid.epochs_for(run, dataset),
                       options=(config.get("method_options") or {}).get(method, {}),
                       feature_dtype=run.get("feature_dtype", "float16"))
        rows.append(Row(dataset, method, len(cs), est, shapes, hp))
    return rows


def human(x: float | None, unit: str = "") -> str:
    """1234567 → "1.2M"; bytes with unit "B" use powers of 1024."""
    if x is None:
        return "-"
    step, names = (1024.0, ("", "Ki", "Mi", "Gi", "Ti")) if unit == "B" else (1000.0, ("", "k", "M", "G", "T", "P"))
    for name in names:
        if abs(x) < step or name == names[-1]:
            return f"{x:.0f}{name}{unit}" if name == "" else f"{x:.1f}{name}{unit}"
        x /= step
    return f"{x}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


COLUMNS = ("dataset", "method", "cells", "target", "alarm", "features", "cache", "ckpt", "steps", "FLOP",
           "CPU/cell", "CPU all")


def table(rows: Sequence[Row], calib: Calibration = DEFAULT_CALIBRATION) -> str:
    """The plan as a text table: per (data set, method), one cell's figures and all its cells' time."""
    lines = [COLUMNS]
    for r in rows:
        e = r.estimate
        if e is None:
            lines.append((r.dataset, r.method, str(r.cells), *(["?"] * 8), "shapes unknown"))
            continue
        if not e.modelled:
            lines.append((r.dataset, r.method, str(r.cells), *(["-"] * 9)))
            continue
        sec = e.seconds(calib)
        lines.append((r.dataset, r.method, str(r.cells), human(e.target_params), human(e.alarm_params),
                      human(e.feature_length), human(e.cache_bytes or None, "B"),
                      human(e.checkpoint_bytes or None, "B"), human(e.steps), human(e.flops),
                      duration(sec), duration(sec * r.cells)))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in lines)


def summary_lines(rows: Sequence[Row], calib: Calibration = DEFAULT_CALIBRATION) -> list[str]:
    """One line per (data set, method) for the workflow's start, and a total (shared targets once)."""
    out = []
    unknown = sorted({r.dataset for r in rows if r.estimate is None})
    if unknown:
        out.append(f"{', '.join(unknown)}: shapes unknown until `prepare` has run (`alarmbench plan --load`)")
    for r in rows:
        e = r.estimate
        if e is None or not e.modelled:
            continue
        sec = e.seconds(calib)
        parts = [f"target {human(e.target_params)}" if e.target_params else "",
                 f"alarm {human(e.alarm_params)}" if e.alarm_params else "",
                 f"features {human(e.feature_length)}/row ({human(e.cache_bytes, 'B')})" if e.cache_bytes else "",
                 f"{human(e.steps)} steps", f"{human(e.flops)}FLOP", f"~{duration(sec)}/cell"]
        out.append(f"{r.dataset} {r.method} x{r.cells}: " + ", ".join(p for p in parts if p))
    if len(unknown) < len({r.dataset for r in rows}):
        out.append(f"projected CPU time, 1 thread: {duration(run_seconds(rows, calib))} in all "
                   f"(shared targets counted once per cell); "
                   f"`alarmbench plan` for the table")
    return out


def run_seconds(rows: Sequence[Row], calib: Calibration = DEFAULT_CALIBRATION) -> float:
    """All modelled jobs of the run; a target or feature job shared by methods of a data set counts
    once per cell (targets are in fact shared wider, across experiments of a group: an upper bound)."""
    shared: dict[tuple[str, str], tuple[float, int]] = {}
    own = 0.0
    for r in rows:
        if r.estimate is None or not r.estimate.modelled:
            continue
        own += JOB_SECONDS * r.cells  # its fit_score jobs
        for s in r.estimate.stages:
            if s.job.startswith(("train_target", "extract")):
                cells = shared.get((r.dataset, s.job), (0.0, 0))[1]
                shared[(r.dataset, s.job)] = (s.seconds(calib) + JOB_SECONDS, max(cells, r.cells))
            else:
                own += s.seconds(calib) * r.cells
    return own + sum(sec * cells for sec, cells in shared.values())


# ------------------------------------------------------------------------------ calibration
def calibrate(seconds: float = 4.0, threads: int = 1) -> Calibration:
    """Measure the two constants on this machine: the time of one training step of a tiny MLP (the
    fixed cost) and the FLOP rate of training a wide one, forward + backward + Adam, `threads`
    torch threads (the workflow's default 1)."""
    import platform

    import torch
    from torch import nn

    torch.set_num_threads(threads)

    def per_step(widths: Sequence[int], batch: int, budget: float) -> float:
        torch.manual_seed(0)
        layers: list[nn.Module] = []
        for i, o in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(i, o), nn.ReLU()]
        net = nn.Sequential(*layers[:-1])
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, fused=True)
        x = torch.rand(batch, widths[0])

        def step():
            loss = net(x).square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(3):
            step()
        # CPU time, not wall time: on a shared machine the wall clock also counts waits for a core.
        n, start = 0, time.process_time()
        while time.process_time() - start < budget:
            step()
            n += 1
        return (time.process_time() - start) / n

    tiny = per_step([6, 5, 3, 2, 3, 5, 6], 128, seconds / 2)
    wide_widths, batch = [2048, 1000, 500, 200, 75, 1], 256
    wide = per_step(wide_widths, batch, seconds / 2)
    flops = 6.0 * dense_params(wide_widths, False) * batch
    return Calibration(step_seconds=tiny, flop_rate=flops / max(wide - tiny, 1e-9),
                       machine=f"{platform.machine()} {platform.processor() or ''}".strip() + f", {threads} thread(s)",
                       command=f"alarmbench plan --calibrate (seconds={seconds}, threads={threads})")


def load_calibration(path: str | Path | None) -> Calibration:
    if path is None:
        return DEFAULT_CALIBRATION
    data = json.loads(Path(path).read_text())
    return Calibration(**{k: data[k] for k in ("step_seconds", "flop_rate", "machine", "command") if k in data})


def read_config(paths: Sequence[str | Path]) -> dict:
    """Workflow config files merged in order (nested mappings recursively, as Snakemake merges
    --configfile), with the schema's defaults filled in."""
    import yaml
    from snakemake.utils import validate

    def merge(base: dict, new: Mapping) -> dict:
        for key, value in new.items():
            base[key] = merge(dict(base.get(key) or {}), value) if isinstance(value, Mapping) and isinstance(
                base.get(key), Mapping) else value
        return base

    from alarmbench import configcheck

    config: dict = {}
    for path in paths:
        config = merge(config, yaml.safe_load(Path(path).read_text()) or {})
    where = Path("workflow/schemas/config.schema.yaml")  # the checkout being run, else this package's
    for schema in (where, Path(__file__).resolve().parents[2] / where):
        if schema.exists():
            validate(config, str(schema))
            break
    configcheck.check_config(config)
    return config


def print_summary(config: Mapping, file=None) -> None:
    """The workflow's start-up summary (stderr). Reads headers and split.json files only; a failure
    of the estimate is reported, never stops the run."""
    import sys

    out = file or sys.stderr
    try:
        lines = summary_lines(plan_run(config))
    except Exception as err:  # noqa: BLE001 - an estimate must not block a run
        print(f"cost estimate: skipped ({type(err).__name__}: {err})", file=out)
        return
    print("cost estimate (one cell, 1 CPU thread; alarmbench/plan.py):", file=out)
    for line in lines:
        print(f"  {line}", file=out)
