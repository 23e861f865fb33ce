"""evaluate: the metrics of every method of one cell (AUC/AP, the validation ROC, A³ thresholds)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from alarmbench.data.splits import Split
from alarmbench.fileio import write_json

log = logging.getLogger(__name__)


def cell_record(*, dataset: str, experiment: str, n_anomalies, pollution, seed, epochs: int | None) -> dict:
    """The cell's keys of a metrics record, the same for the workflow's evaluate job and
    `alarmbench run`: n_anomalies is the cell's n (a count, or "half")."""
    from alarmbench.grid import parse_n

    return {"dataset": dataset, "experiment": experiment, "n_anomalies": parse_n(n_anomalies),
            "pollution": float(pollution), "seed": int(seed), "epochs": "paper" if epochs is None else int(epochs)}


def evaluate_stage(*, split_npz: str, methods: list[str], scores_npz: list[str], info_json: list[str], cell: dict,
                   max_fpr: float | None, out: str) -> None:
    """Metrics of every method of one cell, written as one JSON list: AUC/AP on val and test, the
    validation ROC, and (A3 protocol) F1/precision/recall on test at the threshold chosen on the
    validation ROC under `max_fpr`. One job per cell, not per method: the metrics take
    milliseconds, a job's start-up (Python, scikit-learn) about two seconds of CPU."""
    split = Split.load(split_npz)
    records = []
    for method, scores_file, info_file in zip(methods, scores_npz, info_json, strict=True):
        with np.load(scores_file) as z:
            scores = {part: z[part] for part in ("val", "test")}
        info = json.loads(Path(info_file).read_text())
        records.append(evaluate_record(split, scores, info, {**cell, "method": method}, max_fpr))
    write_json(out, records)


def evaluate_record(split: Split, scores: dict[str, np.ndarray], info: dict, cell: dict,
                    max_fpr: float | None) -> dict:
    """The metrics record of one (cell, method): the cell, the fit's record and the metrics."""
    from alarmbench.evaluate.metrics import ranking_metrics, roc_points, threshold_at_max_fpr, threshold_metrics

    record = dict(cell) | dict(info)
    what = "{dataset}/{experiment}/n{n_anomalies}_p{pollution}/seed{seed} {method}".format(**cell)
    # A small table's validation part may hold no anomaly (ADBench WBC: 9 rows): its metrics are
    # then undefined (NaN) and nothing is chosen on it; the test metrics are what is reported.
    parts = [("test", split.a_test)] + ([("val", split.a_val)] if len(np.unique(split.a_val)) > 1 else [])
    for part, labels in parts:
        for key, value in ranking_metrics(labels, scores[part], f"{what} {part}").items():
            record[f"{part}_{key}"] = value
    if len(parts) == 1:
        record.update(val_auc=float("nan"), val_ap=float("nan"))
        log.warning("%s: the validation part has a single class; validation metrics, ROC and threshold skipped",
                    what)
        return record
    record["roc"] = roc_points(split.a_val, scores["val"])
    if max_fpr is not None:
        threshold = threshold_at_max_fpr(split.a_val, scores["val"], max_fpr)
        for key, value in threshold_metrics(split.a_test, scores["test"], threshold).items():
            record[f"test_{key}" if key != "threshold" else key] = value
        record["max_fpr"] = max_fpr
    return record
