"""Metrics of one method on one cell (SPEC §6): AUC, AP, ROC, and F1/precision/recall at a
threshold chosen on the validation ROC under a maximum false-positive rate (A3, SPEC §6.3)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)


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
    of the A3 preprint; the code's helper is one point more conservative, SPEC §6.3)."""
    labels, scores = _check(labels, scores, "threshold")
    fpr, tpr, thresholds = roc_curve(labels, scores)
    ok = np.flatnonzero(fpr <= max_fpr)
    best = ok[np.argmax(tpr[ok])]  # roc_curve's first point (threshold inf) guarantees ok is non-empty
    return float(thresholds[best])


def threshold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """F1, precision, recall with prediction = score >= threshold (anomaly is the positive class)."""
    labels, scores = _check(labels, scores, "threshold metrics")
    pred = (scores >= threshold).astype(int)
    kw = {"zero_division": 0}
    return {"f1": float(f1_score(labels, pred, **kw)), "precision": float(precision_score(labels, pred, **kw)),
            "recall": float(recall_score(labels, pred, **kw)), "threshold": float(threshold)}
