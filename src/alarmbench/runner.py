"""One cell end to end: data → split → fit → scores → metrics JSON (what `alarmbench run` does)."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from alarmbench import __version__
from alarmbench.data import registry
from alarmbench.data.api import prepare_dataset, split_cell
from alarmbench.data.splits import Split
from alarmbench.device import resolve_device, set_precision
from alarmbench.evaluate.metrics import ranking_metrics
from alarmbench.methods import Context, build_method


@dataclass
class CellSpec:
    dataset: str
    method: str
    seed: int
    experiment: str = "known"
    n_anomalies: int = 100
    pollution: float = 0.0
    epochs: int | None = None
    device: str | None = None
    options: dict = field(default_factory=dict)
    precision: str = "tf32"  # device.set_precision


def fit_and_score(split: Split, cell: CellSpec, *, hparams, work_dir: Path | None = None,
                  progress: bool = False) -> dict:
    """Fit one method on a split and return its val/test scores and timings."""
    device = resolve_device(cell.device)
    set_precision(cell.precision)
    ctx = Context(hparams=hparams, seed=cell.seed, device=device, epochs=cell.epochs, options=cell.options,
                  work_dir=work_dir, progress=progress, precision=cell.precision)
    detector = build_method(cell.method)
    start = time.perf_counter()
    detector.fit(split, ctx)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = {part: detector.score_split(split, part) for part in ("val", "test")}
    return {"scores": scores, "fit_seconds": fit_seconds, "score_seconds": time.perf_counter() - start,
            "device": str(device), "versions": getattr(detector, "versions", {})}


def metrics_record(split: Split, cell: CellSpec, result: dict) -> dict:
    labels = {"val": split.a_val, "test": split.a_test}
    record = {
        "dataset": cell.dataset, "method": cell.method, "seed": cell.seed, "experiment": cell.experiment,
        "n_anomalies": cell.n_anomalies, "pollution": cell.pollution,
        "epochs": "paper" if cell.epochs is None else cell.epochs, "options": cell.options,
        "fit_seconds": round(result["fit_seconds"], 3), "score_seconds": round(result["score_seconds"], 3),
        "device": result["device"], "precision": cell.precision, "torch_threads": torch.get_num_threads(),
        **result.get("versions", {}),
        "alarmbench": __version__, "torch": torch.__version__, "python": platform.python_version(),
    }
    for part in ("val", "test"):
        for key, value in ranking_metrics(labels[part], result["scores"][part], f"{cell.method} {part}").items():
            record[f"{part}_{key}"] = value
    return record


def run_cell(cell: CellSpec, *, mirror: str | None = None, raw_root: str | Path = "data/raw",
             work_dir: Path | None = None, scores_out: Path | None = None, progress: bool = False) -> dict:
    prep = prepare_dataset(cell.dataset, raw_root=raw_root, mirror=mirror)
    split = split_cell(prep, experiment=cell.experiment, seed=cell.seed, n_anomalies=cell.n_anomalies,
                       pollution=cell.pollution)
    hparams = prep.hparams(registry.get(cell.dataset))
    result = fit_and_score(split, cell, hparams=hparams, work_dir=work_dir, progress=progress)
    if scores_out is not None:
        from alarmbench.fileio import write_npz

        write_npz(scores_out, val=np.asarray(result["scores"]["val"]), test=np.asarray(result["scores"]["test"]))
    return metrics_record(split, cell, result)
