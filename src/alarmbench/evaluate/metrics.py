"""Metrics of one method on one cell (docs/protocol.md#evaluation): AUC, AP, ROC, and F1/precision/recall at a
threshold chosen on the validation ROC under a maximum false-positive rate (A3, docs/protocol.md#a3-threshold)."""

from __future__ import annotations

import numpy as np

# The curves and scores are scikit-learn's (1.9) computed with NumPy: the same operations in the
# same order, so the same floats (tests/unit/test_metrics_numpy.py holds them to sklearn.metrics on
# random and tied scores). scikit-learn itself costs an evaluate job ≈ 1.5 s CPU of imports
# (scipy, pandas) for these few lines (issue 25).


def _counts_at_thresholds(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's `confusion_matrix_at_thresholds` (no weights): false and true positives at each
    distinct score, highest first, and those scores."""
    # sklearn's stable descending argsort (array_api_compat): ties keep their order, so a tie of
    # 0.0 and -0.0 yields the same threshold's sign.
    order = len(scores) - 1 - np.flip(np.argsort(np.flip(scores), kind="stable"))
    scores, labels = scores[order], labels[order] == 1
    idx = np.concatenate([np.nonzero(np.diff(scores))[0], [len(labels) - 1]])
    tps = np.cumsum(labels.astype(np.float64), dtype=np.float64)[idx]
    fps = 1 + idx.astype(np.float64) - tps
    return fps, tps, scores[idx]


def roc_curve(labels: np.ndarray, scores: np.ndarray, *, drop_intermediate: bool = True):
    """sklearn.metrics.roc_curve for checked labels (both classes present) and scores."""
    fps, tps, thresholds = _counts_at_thresholds(labels, scores)
    if drop_intermediate and len(fps) > 2:  # points collinear with their neighbours
        keep = np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps, fps = np.concatenate([[0.0], tps]), np.concatenate([[0.0], fps])
    thresholds = np.concatenate([[np.inf], thresholds.astype(np.float64)])
    return fps / fps[-1], tps / tps[-1], thresholds


def roc_auc_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """The trapezoid area under `roc_curve` as sklearn's `auc` takes it (scipy's `trapezoid`)."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2.0, dtype=np.float64))


def average_precision_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """The step integral of sklearn's precision-recall curve (reversed, with the (0, 1) end)."""
    fps, tps, _ = _counts_at_thresholds(labels, scores)
    ps = tps + fps
    precision = np.where(ps != 0, np.divide(tps, ps), 0.0)
    precision = np.concatenate([np.flip(precision), [1.0]])
    recall = np.concatenate([np.flip(tps / tps[-1]), [0.0]])
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def _divide(numerator, denominator) -> float:
    """sklearn's `_prf_divide` with zero_division=0."""
    return float(numerator / denominator) if denominator != 0 else 0.0


class ScoreError(ValueError):
    """Scores that cannot be evaluated (non-finite values, a single class)."""


def _check(labels: np.ndarray, scores: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels).astype(int).ravel(), np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ScoreError(f"{what}: {len(scores)} scores for {len(labels)} labels")
    bad = ~np.isfinite(scores)
    if bad.any():
        raise ScoreError(f"{what}: {int(bad.sum())} of {len(scores)} scores are NaN/inf")
    if len(np.unique(labels)) < 2:
        raise ScoreError(f"{what}: labels contain a single class; AUC/AP are undefined")
    if not np.isin(labels, (0, 1)).all():
        raise ScoreError(f"{what}: labels must be 0 (normal) or 1 (anomaly), got {np.unique(labels).tolist()}")
    return labels, scores


def ranking_metrics(labels: np.ndarray, scores: np.ndarray, what: str = "scores") -> dict[str, float]:
    """ROC-AUC and average precision; higher score = more anomalous, label 1 = anomaly."""
    labels, scores = _check(labels, scores, what)
    return {"auc": float(roc_auc_score(labels, scores)), "ap": float(average_precision_score(labels, scores))}


def roc_points(labels: np.ndarray, scores: np.ndarray, decimals: int = 3) -> dict[str, list[float]]:
    """The ROC curve as sklearn's vertices (`drop_intermediate`: collinear points dropped), rounded
    to `decimals`; a point equal to its predecessor after rounding, or inside a vertical or
    horizontal run, is dropped (it changes neither the curve nor its area).

    Both ends of a vertical step are kept, so the trapezoid area under the stored points equals
    the AUC up to the rounding (the authors' export kept only the first point of each equal-FPR run,
    the step's lowest TPR, which turns steps into slants and a perfect detector into the diagonal).
    """
    labels, scores = _check(labels, scores, "roc")
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=True)
    fpr, tpr = np.round(fpr, decimals), np.round(tpr, decimals)
    keep = np.concatenate([[True], (fpr[1:] != fpr[:-1]) | (tpr[1:] != tpr[:-1])])
    fpr, tpr = fpr[keep], tpr[keep]
    inner = ((fpr[:-2] == fpr[1:-1]) & (fpr[1:-1] == fpr[2:])) | ((tpr[:-2] == tpr[1:-1]) & (tpr[1:-1] == tpr[2:]))
    keep = np.concatenate([[True], ~inner, [True]]) if len(fpr) > 2 else np.ones(len(fpr), bool)
    return {"fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist()}


def roc_area(fpr, tpr) -> float:
    """Trapezoid area under a stored ROC polyline (what a figure draws)."""
    return float(np.trapezoid(np.asarray(tpr, float), np.asarray(fpr, float)))


def threshold_at_max_fpr(labels: np.ndarray, scores: np.ndarray, max_fpr: float) -> float:
    """Among operating points with FPR <= max_fpr, the threshold of the highest TPR (the clean rule
    of the A3 preprint; the code's helper is one point more conservative, docs/protocol.md#a3-threshold)."""
    labels, scores = _check(labels, scores, "threshold")
    fpr, tpr, thresholds = roc_curve(labels, scores)
    ok = np.flatnonzero(fpr <= max_fpr)
    best = ok[np.argmax(tpr[ok])]  # roc_curve's first point (threshold inf) guarantees ok is non-empty
    return float(thresholds[best])


def threshold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """F1, precision, recall with prediction = score >= threshold (anomaly is the positive class)."""
    labels, scores = _check(labels, scores, "threshold metrics")
    pred, positive = scores >= threshold, labels == 1
    # sklearn's precision_recall_fscore_support (binary, zero_division=0) on the confusion counts
    tp, pred_sum, true_sum = np.int64((pred & positive).sum()), np.int64(pred.sum()), np.int64(positive.sum())
    return {"f1": _divide(2.0 * np.float64(tp), 1.0 * np.float64(true_sum) + np.float64(pred_sum)),
            "precision": _divide(tp, pred_sum), "recall": _divide(tp, true_sum), "threshold": float(threshold)}
