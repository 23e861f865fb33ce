"""One cell end to end without Snakemake (`alarmbench run`): data → split → fit → scores → the
metrics record, through the same stage functions as the workflow's jobs (context, hyperparameters,
fit and record are built by one piece of code for both)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alarmbench.codekeys import code_key
from alarmbench.data import registry
from alarmbench.data.api import prepare_dataset, split_cell
from alarmbench.data.splits import Split
from alarmbench.grid import anomaly_totals, effective_n
from alarmbench.methods import catalog
from alarmbench.methods.loop import DEFAULT_CHECKPOINT_EVERY_S
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
    precision: str = "tf32"  # device.set_precision
    threads: int = 1
    max_fpr: float | None = None  # A³ threshold rule (F1/precision/recall on test)
    protocol: dict = field(default_factory=dict)  # split-protocol switches (SplitParams: rng, holdout_redraws, …)
    checkpoint_every_s: float = DEFAULT_CHECKPOINT_EVERY_S  # seconds between checkpoint writes (changes no result)
    user: dict | None = None  # {dataset: user_datasets entry}: a user data set, as in a workflow config

    def __post_init__(self) -> None:
        if self.epochs is not None and int(self.epochs) < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if not float(self.checkpoint_every_s) >= 0:
            raise ValueError(f"checkpoint_every_s must be ≥ 0 seconds, got {self.checkpoint_every_s}")
        if int(self.seed) < 0:
            raise ValueError(f"seed must be ≥ 0, got {self.seed}")
        catalog.check_options(self.method, self.options)

    def split_protocol(self) -> dict:
        """The split switches; the hold-out re-draw, when an option asks for it, is stored unless set."""
        wants_redraw = bool(self.options.get("holdout_redraw", False))
        return ({"holdout_redraws": 1} if wants_redraw else {}) | dict(self.protocol)

    def run_params(self) -> dict:
        """The `run` dict of a workflow job for this cell."""
        return {"epochs": self.epochs, "device": self.device, "precision": self.precision, "threads": self.threads,
                "options": dict(self.options), "checkpoint_every_s": float(self.checkpoint_every_s)}


def _fingerprints(split: Split, cell: CellSpec) -> tuple[str, dict[str, str]]:
    """The run's fingerprint and one per shared target (by file stem): code key, options that
    matter, epochs, device, precision and the split's recorded inputs and protocol."""
    decl = catalog.method(cell.method)
    run, split_id = cell.run_params(), json.dumps(split.meta, sort_keys=True, default=str)
    fit = job_fingerprint(code_key("alarmbench.stages.fit", f"alarmbench.methods.{decl.module}"),
                          {**run, "split": split_id})
    targets = {}
    names = catalog.targets_read(cell.method)
    for name in [*names, *(catalog.TARGETS[t].starts_from for t in names if catalog.TARGETS[t].starts_from)]:
        shaping = catalog.shaping_options(name, cell.options)
        code = code_key("alarmbench.stages.target", f"alarmbench.methods.{catalog.TARGETS[name].trainer.split(':')[0]}")
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
    ctx = job_context(split, dataset=cell.dataset, seed=cell.seed, run=cell.run_params(),
                      targets_dir=Path(work_dir) / "targets" if work_dir else None, work_dir=work_dir,
                      fingerprint=fingerprint, trains=None, user=cell.user, progress=progress,
                      method=cell.method)
    ctx.target_fingerprints = targets
    scores, info = fit_and_score(split, cell.method, ctx)
    if scores_out is not None:
        from alarmbench.fileio import write_npz

        write_npz(scores_out, **{part: np.asarray(s) for part, s in scores.items()})
    record_cell = cell_record(dataset=cell.dataset, experiment=cell.experiment, n_anomalies=n,
                              pollution=cell.pollution, seed=cell.seed, epochs=cell.epochs) | {"method": cell.method}
    return evaluate_record(split, scores, info, record_cell, cell.max_fpr)
