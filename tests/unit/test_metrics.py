"""Cell metrics: AUC/AP orientation, ROC rounding, the max-FPR threshold rule, bad scores."""

import numpy as np
import pytest

from alarmbench.evaluate.metrics import (
    ScoreError,
    ranking_metrics,
    roc_area,
    roc_points,
    threshold_at_max_fpr,
    threshold_metrics,
)


def test_higher_score_means_anomaly():
    y = np.array([0, 0, 0, 1, 1])
    assert ranking_metrics(y, [0.1, 0.2, 0.3, 0.8, 0.9]) == {"auc": 1.0, "ap": 1.0}
    assert ranking_metrics(y, [0.9, 0.8, 0.7, 0.1, 0.2])["auc"] == 0.0


def test_nonfinite_or_single_class_scores_are_rejected():
    with pytest.raises(ScoreError, match="1 of 3 scores are NaN"):
        ranking_metrics([0, 1, 0], [0.1, np.nan, 0.2])
    with pytest.raises(ScoreError, match="single class"):
        ranking_metrics([0, 0], [0.1, 0.2])


def test_roc_points_are_rounded_and_monotone():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    roc = roc_points(y, rng.normal(size=5000) + y)
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0
    assert all(a <= b for a, b in zip(roc["fpr"], roc["fpr"][1:]))
    assert all(a <= b for a, b in zip(roc["tpr"], roc["tpr"][1:]))
    points = list(zip(roc["fpr"], roc["tpr"]))
    assert all(p != q for p, q in zip(points, points[1:]))  # no repeated point
    assert all(round(v, 3) == v for v in roc["tpr"])


@pytest.mark.parametrize("labels, scores", [
    ([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]),  # perfect: (0,0), (0,1), (1,1)
    ([0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0], [1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5]),  # ties across classes
    ([0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0], [.1, .9, .3, .8, .2, .35, .6, .7, .5, .55, .4, .05]),
])
def test_the_drawn_roc_curve_has_the_reported_auc(labels, scores):
    """The area under the stored (drawn) points is the AUC. The old export kept the first, lowest-
    TPR point of each equal-FPR run: the perfect detector became the diagonal (area .5)."""
    roc = roc_points(labels, scores)
    assert roc_area(roc["fpr"], roc["tpr"]) == pytest.approx(ranking_metrics(labels, scores)["auc"], abs=2e-3)


def test_a_perfect_detector_is_stored_as_the_upper_left_corner():
    roc = roc_points([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert list(zip(roc["fpr"], roc["tpr"])) == [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)]


def test_threshold_respects_max_fpr_and_maximises_tpr():
    y = np.array([0] * 100 + [1] * 20)
    scores = np.concatenate([np.linspace(0, 1, 100), np.linspace(0.9, 1.9, 20)])
    t = threshold_at_max_fpr(y, scores, 0.05)
    m = threshold_metrics(y, scores, t)
    fpr = ((scores >= t) & (y == 0)).sum() / 100
    assert fpr <= 0.05 and m["recall"] == ((scores >= t) & (y == 1)).sum() / 20 > 0.9
    # any lower threshold would break the FPR limit
    lower = np.sort(scores[scores < t])[-1]
    assert ((scores >= lower) & (y == 0)).sum() / 100 > 0.05
