"""evaluate: the metrics of every method of one cell (AUC/AP, the validation ROC as
`roc_validation`, A³ thresholds)."""

from __future__ import annotations

import logging

import numpy as np

from alarmbench.data.splits import Split
from alarmbench.fileio import load_npz, read_json, write_json

log = logging.getLogger(__name__)


def cell_record(*, dataset: str, experiment: str, n_anomalies, pollution, seed, epochs: int | None) -> dict:
    """The cell's keys of a metrics record, the same for the workflow's evaluate job and
    `alarmbench run`: n_anomalies is the cell's n (a count, or "half")."""
    from alarmbench.grid import parse_n

    return {"dataset": dataset, "experiment": experiment, "n_anomalies": parse_n(n_anomalies),
            "pollution": float(pollution), "seed": int(seed), "epochs": epochs_label(epochs)}


def epochs_label(epochs: int | None) -> int | str:
    """A record's `epochs`: the override every training loop ran, or "paper" (the papers' own)."""
    return "paper" if epochs is None else int(epochs)


def evaluate_stage(*, split_npz: str, methods: list[str], scores_npz: list[str], info_json: list[str], cell: dict,
                   max_fpr: float | None, out: str, threshold_from: dict[str, str | None] | None = None,
                   epochs: dict[str, int | None] | None = None) -> None:
    """Metrics of every method of one cell, written as one JSON list: AUC/AP on val and test, the
    validation ROC, and (A3 protocol) F1/precision/recall on test at the threshold chosen on the
    validation ROC under `max_fpr`. `threshold_from`: method → the metrics.json of the cell whose
    validation part chose its threshold (docs/protocol.md#a3-threshold: the largest n; `evaluate.threshold_source`);
    missing or None: this cell's own. `epochs`: method → the epochs its loops ran (run.method_epochs),
    instead of the cell's. One job per cell, not per method: the metrics take
    milliseconds, a job's start-up (Python, scikit-learn) about two seconds of CPU."""
    log.info("evaluate: %s, methods %s", cell, ", ".join(methods))
    split = Split.load(split_npz)
    records = []
    for method, scores_file, info_file in zip(methods, scores_npz, info_json, strict=True):
        z = load_npz(scores_file, remove=(scores_file, info_file))  # fit_score writes both
        scores = {part: z[part] for part in ("val", "test")}
        info = read_json(info_file, remove=(scores_file, info_file))
        source = (threshold_from or {}).get(method)
        chosen = reused_threshold(source, method) if source else None
        keys = {**cell, "method": method, **({"epochs": epochs_label(epochs[method])} if epochs is not None else {})}
        records.append(evaluate_record(split, scores, info, keys, max_fpr, threshold=chosen))
    write_json(out, records, sealed=True)


def reused_threshold(metrics_json: str, method: str) -> dict:
    """The threshold a method's record in another cell's metrics.json chose, with where it came from."""
    records = read_json(metrics_json)
    rec = next((r for r in records if r["method"] == method), None)
    if rec is None or "threshold" not in rec:
        raise ValueError(f"{metrics_json}: no threshold of method {method!r} to reuse (its validation part "
                         f"had a single class, or no max FPR applies there); set a3_threshold: per_cell")
    return {"value": float(rec["threshold"]), "source": _cell_name(rec)}


def _cell_name(rec: dict) -> str:
    return "{dataset}/{experiment}/n{n_anomalies}_p{pollution}/seed{seed}".format(**rec)


def evaluate_record(split: Split, scores: dict[str, np.ndarray], info: dict, cell: dict,
                    max_fpr: float | None, threshold: dict | None = None) -> dict:
    """The metrics record of one (cell, method): the cell, the fit's record and the metrics.
    `threshold` ({"value", "source"}): a threshold chosen on another cell's validation part, applied
    to this cell's test scores instead of one chosen here."""
    from alarmbench.evaluate.metrics import ranking_metrics, roc_points, threshold_at_max_fpr, threshold_metrics

    record = dict(cell) | dict(info)
    what = f"{_cell_name(cell)} {cell['method']}"
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
        if threshold is None:
            return record
    else:
        record["roc_validation"] = roc_points(split.a_val, scores["val"])  # the part is in the name
    if max_fpr is not None:
        if threshold is None:
            threshold = {"value": threshold_at_max_fpr(split.a_val, scores["val"], max_fpr), "source": _cell_name(cell)}
        for key, value in threshold_metrics(split.a_test, scores["test"], threshold["value"]).items():
            record[f"test_{key}" if key != "threshold" else key] = value
        record.update(max_fpr=max_fpr, threshold_source=threshold["source"])
    return record
