"""The evaluate job's metrics in NumPy (evaluate/metrics.py) give scikit-learn's floats exactly:
every AUC, AP, ROC point, threshold and F1/precision/recall, on random and heavily tied scores."""

import numpy as np
import pytest
from sklearn import metrics as sk

from alarmbench.evaluate import metrics as ours


def same(a, b) -> bool:
    """Bit-identical floats (also the sign of a zero), arrays of them, or tuples of arrays."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def cases(n_cases: int = 400):
    """(labels, scores): sizes 2..3000, anomaly shares 1 row..most, scores continuous, rounded to
    a few levels (ties across classes), constant but for one, with ±0.0, float32-rounded, huge/tiny."""
    rng = np.random.default_rng(25)
    for i in range(n_cases):
        n = int(rng.choice([2, 3, 5, 17, 100, 997, 3000]))
        y = (rng.random(n) < rng.choice([0.01, 0.1, 0.5, 0.9])).astype(int)
        y[rng.integers(n)], y[rng.integers(n)] = 0, 1
        if len(np.unique(y)) < 2:
            y[0], y[-1] = 0, 1
        kind = i % 6
        s = rng.normal(size=n) + y * rng.uniform(-1, 3)
        if kind == 1:
            s = np.round(s, int(rng.integers(0, 2)))  # few distinct values: ties everywhere
        elif kind == 2:
            s = np.zeros(n)
            s[rng.integers(n)] = 1.0
        elif kind == 3:
            s = rng.choice([-0.0, 0.0, 1.0, -1.0], size=n)
        elif kind == 4:
            s = s.astype(np.float32).astype(np.float64)
        elif kind == 5:
            s = s * 10.0 ** rng.integers(-300, 300)
        yield y, s


CASES = list(cases())


def test_ranking_metrics_equal_sklearn_bit_for_bit():
    for y, s in CASES:
        got = ours.ranking_metrics(y, s)
        assert same(got["auc"], sk.roc_auc_score(y, s)), (y, s)
        assert same(got["ap"], sk.average_precision_score(y, s)), (y, s)


@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_equals_sklearn_bit_for_bit(drop):
    for y, s in CASES:
        assert same(ours.roc_curve(y, s, drop_intermediate=drop), sk.roc_curve(y, s, drop_intermediate=drop)), (y, s)


def test_threshold_metrics_equal_sklearn_bit_for_bit():
    rng = np.random.default_rng(7)
    for y, s in CASES[::8]:  # sklearn's three calls cost ≈ 10 ms each
        for t in (*rng.choice(s, 2), np.inf, -np.inf):  # also nothing or everything predicted positive
            got, pred = ours.threshold_metrics(y, s, t), (s >= t).astype(int)
            for name, fn in (("f1", sk.f1_score), ("precision", sk.precision_score), ("recall", sk.recall_score)):
                assert same(got[name], fn(y, pred, zero_division=0)), (name, y, s, t)


def test_the_threshold_rule_reads_the_same_curve():
    for y, s in CASES:
        fpr, tpr, thr = sk.roc_curve(y, s)
        for max_fpr in (0.0, 0.01, 0.05, 0.5):
            ok = np.flatnonzero(fpr <= max_fpr)
            assert same(ours.threshold_at_max_fpr(y, s, max_fpr), thr[ok[np.argmax(tpr[ok])]])


def test_a_tie_of_zero_and_minus_zero_keeps_sklearn_threshold_sign():
    y, s = np.array([0, 1, 0, 1]), np.array([0.0, -0.0, 1.0, 1.0])
    assert same(ours.roc_curve(y, s)[2], sk.roc_curve(y, s)[2])
    assert same(ours.roc_curve(y, s[::-1].copy())[2], sk.roc_curve(y, s[::-1].copy())[2])


def test_labels_other_than_0_and_1_are_refused():
    with pytest.raises(ours.ScoreError, match="0 .normal. or 1 .anomaly., got \\[0, 2\\]"):
        ours.ranking_metrics([0, 2, 0], [0.1, 0.2, 0.3])
