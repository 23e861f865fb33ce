"""One cell end to end without Snakemake (`alarmbench run`): data → split → fit → scores → the
metrics record, through the same stage functions as the workflow's jobs (context, hyperparameters,
fit and record are built by one piece of code for both)."""

from __future__ import annotations

import json
import logging
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alarmbench.codekeys import code_key
from alarmbench.data import registry
from alarmbench.data.api import prepare_dataset, split_cell
from alarmbench.data.splits import Split
from alarmbench.grid import anomaly_totals, effective_n
from alarmbench.methods import catalog
from alarmbench.runopts import DEFAULTS, RunSettings
from alarmbench.stages.context import job_context, job_fingerprint
from alarmbench.stages.evaluate import cell_record, evaluate_record
from alarmbench.stages.fit import fit_and_score

log = logging.getLogger(__name__)


@dataclass
class CellSpec:
    dataset: str
    method: str
    seed: int
    experiment: str = "known"
    n_anomalies: int | str = 100  # a count, or "half"
    pollution: float = 0.0
    epochs: int | None = None
    device: str | None = None
    options: dict = field(default_factory=dict)
    precision: str = DEFAULTS.precision  # device.set_precision
    feature_dtype: str = DEFAULTS.feature_dtype  # the feature caches' dtype (run.feature_dtype of the workflow)
    threads: int = DEFAULTS.threads
    max_fpr: float | None = None  # A³ threshold rule (F1/precision/recall on test)
    protocol: dict = field(default_factory=dict)  # split-protocol switches (SplitParams: rng, holdout_redraws, …)
    checkpoint_every_s: float = DEFAULTS.checkpoint_every_s  # seconds between checkpoint writes (changes no result)
    user: dict | None = None  # {dataset: user_datasets entry}: a user data set, as in a workflow config

    def __post_init__(self) -> None:
        if self.epochs is not None and int(self.epochs) < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if int(self.seed) < 0:
            raise ValueError(f"seed must be ≥ 0, got {self.seed}")
        catalog.check_options(self.method, self.options)
        self.settings()  # checks precision, feature dtype and checkpoint interval

    def split_protocol(self) -> dict:
        """The split switches; the hold-out re-draw, when an option asks for it, is stored unless set."""
        wants_redraw = bool(catalog.resolved_options(self.method, self.options).get("holdout_redraw"))
        return ({"holdout_redraws": 1} if wants_redraw else {}) | dict(self.protocol)

    def run_params(self) -> dict:
        """The `run` mapping of a workflow job for this cell (its fingerprint hashes these keys)."""
        return {"epochs": self.epochs, "device": self.device, "precision": self.precision, "threads": self.threads,
                "options": dict(self.options), "checkpoint_every_s": float(self.checkpoint_every_s)}

    def settings(self) -> RunSettings:
        """This cell's run settings as the stages read them."""
        return RunSettings.from_run({**self.run_params(), "feature_dtype": self.feature_dtype})


def _fingerprints(split: Split, cell: CellSpec) -> tuple[str, dict[str, str]]:
    """The run's fingerprint and one per shared target (by file stem): code key, options that
    matter, epochs, device, precision and the split's recorded inputs and protocol."""
    decl = catalog.method(cell.method)
    run, split_id = cell.run_params(), json.dumps(split.meta, sort_keys=True, default=str)
    reads = {"feature_dtype": cell.feature_dtype} if decl.features else {}
    fit = job_fingerprint(code_key("alarmbench.stages.fit", f"alarmbench.methods.{decl.module}"),
                          {**run, **reads, "split": split_id})
    targets = {}
    names = catalog.targets_read(cell.method)
    for name in [*names, *(catalog.TARGETS[t].starts_from for t in names if catalog.TARGETS[t].starts_from)]:
        shaping = catalog.shaping_options(name, cell.options)
        code = code_key("alarmbench.stages.target", catalog.TARGETS[name].module)
        stem = catalog.target_file(name, shaping).removesuffix(".pt")
        targets[stem] = job_fingerprint(code, {**run, "options": shaping, "split": split_id})
    return fit, targets


def run_cell(cell: CellSpec, *, mirror: str | None = None, raw_root: str | Path = "data/raw",
             work_dir: Path | None = None, scores_out: Path | None = None, progress: bool = False) -> dict:
    spec = registry.get(cell.dataset, cell.user)
    prep = prepare_dataset(cell.dataset, raw_root=raw_root, mirror=mirror, user=cell.user)
    # The workflow's cap rule, with a user table's anomalous rows counted as the workflow counts them.
    n = effective_n(spec, cell.n_anomalies, anomaly_totals({"user_datasets": cell.user}).get(cell.dataset),
                    cell.experiment)
    split = split_cell(prep, experiment=cell.experiment, seed=cell.seed, n_anomalies=n, pollution=cell.pollution,
                       user=cell.user, **cell.split_protocol())
    # The count the split holds, and why it differs from the one asked for (the cap, `half` or min(N, A/2)).
    known = int(np.asarray(split.a_train).sum())
    held = f"{known} known anomalies"
    if str(known) != str(cell.n_anomalies):
        why = "⌊training anomalies / 2⌋ of this seed's split" if n == "half" else f"capped at ⌊anomalies / 2⌋ = {n}"
        held = f"n_anomalies {cell.n_anomalies} -> {held} ({why})"
    log.info("run: method %s on %s, experiment %s, seed %d, %s, pollution %g", cell.method, cell.dataset,
             cell.experiment, cell.seed, held, cell.pollution)
    fingerprint, targets = _fingerprints(split, cell)
    with ExitStack() as stack:
        scratch = None
        if _reads_cached_features(cell):  # the caches, and the targets they come from, need a place
            if work_dir:
                Path(work_dir).mkdir(parents=True, exist_ok=True)
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="alarmbench-run-", dir=work_dir)))
        targets_dir = Path(work_dir) / "targets" if work_dir else scratch / "targets" if scratch else None
        ctx = job_context(split, dataset=cell.dataset, seed=cell.seed, run=cell.run_params(),
                          targets_dir=targets_dir, work_dir=work_dir, fingerprint=fingerprint, trains=None,
                          user=cell.user, progress=progress, method=cell.method)
        ctx.target_fingerprints = targets
        if scratch is not None:
            ctx.features = _cache_features(split, cell, ctx, scratch)
        scores, info = fit_and_score(split, cell.method, ctx)
    if scores_out is not None:
        from alarmbench.fileio import write_npz

        write_npz(scores_out, **{part: np.asarray(s) for part, s in scores.items()})
    record_cell = cell_record(dataset=cell.dataset, experiment=cell.experiment, n_anomalies=n,
                              pollution=cell.pollution, seed=cell.seed, epochs=cell.epochs) | {"method": cell.method}
    return evaluate_record(split, scores, info, record_cell, cell.max_fpr)


def _reads_cached_features(cell: CellSpec) -> bool:
    """Whether the workflow's fit of this method reads cached features (R2-AD2 with a chain per k
    reads none: the workflow refuses that option, and its chains are not the cached one)."""
    return (bool(catalog.method(cell.method).features)
            and not catalog.resolved_options(cell.method, cell.options).get("snapshots_per_k"))


def _cache_features(split: Split, cell: CellSpec, ctx, root: Path) -> dict[str, dict[str, Path]]:
    """Write the method's features through the extract job's code into `root`, in the workflow's
    dtype: the fit then reads what the workflow's fit reads (fp16 rounding included)."""
    from alarmbench.stages.extract import write_features

    features = {}
    for kind in catalog.method(cell.method).features:
        dirs = {part: root / "features" / kind / part for part in ("train", "val", "test")}
        write_features(split, ctx, kind, dirs, dtype=cell.feature_dtype)
        features[kind] = dirs
    return features
