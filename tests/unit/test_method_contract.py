"""The Detector contract, over every method id and a PyOD detector: fit returns the detector,
scores are finite float64 of shape (n,), identical for the same seed, better than chance on a
separable toy table, and the detector's name is its id (its random streams are named after it)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from alarmbench.methods import METHOD_IDS, build_method
from toydata import toy_context, toy_split

SMALL: dict = {}
EPOCHS = {"a3-2020": 20}  # lr 1e-5 (the paper's): it needs more steps than the others on a toy


@pytest.fixture(scope="module")
def split():
    return toy_split()


@pytest.mark.parametrize("method", [*METHOD_IDS, "pyod:IForest"])
def test_every_method_keeps_the_contract(method, split):
    if method.startswith("pyod:"):
        pytest.importorskip("pyod")
    scores = []
    for _ in range(2):
        detector = build_method(method)
        assert detector.name == method
        ctx = toy_context(epochs=EPOCHS.get(method, 3), **SMALL.get(method, {}))
        assert detector.fit(split, ctx) is detector
        s = detector.score(split.x_test)
        assert isinstance(s, np.ndarray) and s.dtype == np.float64 and s.shape == (len(split.x_test),)
        assert np.isfinite(s).all()
        scores.append(s)
    np.testing.assert_array_equal(scores[0], scores[1])
    assert roc_auc_score(split.a_test, scores[0]) > 0.5
