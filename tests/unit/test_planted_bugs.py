"""Planted bugs that once passed every test of their method now fail one (issue 16): each test
checks a property the correct method has and shows, by planting the bug, that it then fails."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from alarmbench.methods import build_method
from alarmbench.methods import deepsad as deepsad_module
from alarmbench.methods import r2ad2 as r2ad2_module
from alarmbench.methods.deepsad import sq_distance, _map
from toydata import toy_context, toy_split


def _r2ad2_auc_without_known_anomalies() -> float:
    split = toy_split(n_anomalies=0)  # the counter-examples are the only anomaly signal
    det = build_method("r2ad2").fit(split, toy_context(epochs=10))
    return roc_auc_score(split.a_test, det.score(split.x_test))


def test_r2ad2_counterexamples_are_labelled_anomalous(monkeypatch):
    assert _r2ad2_auc_without_known_anomalies() > 0.9
    original = r2ad2_module.keras_bce

    def counterexamples_labelled_normal(p, y, **kw):  # the planted bug: N(0.5, 1) rows labelled 0
        return original(p, torch.zeros_like(y) if bool((y == 1).all()) and len(y) else y, **kw)

    monkeypatch.setattr(r2ad2_module, "keras_bce", counterexamples_labelled_normal)
    assert _r2ad2_auc_without_known_anomalies() < 0.75


def _deepsad_normal_distance(epochs: int) -> float:
    """Mean distance of the normal training rows to the training centre after `epochs` epochs.

    Deep SAD minimises (d + ε)^ỹ: normal rows (ỹ = +1) are pulled to the centre. The scores cannot
    show an inverted exponent on a toy: the default recomputed scoring centre follows wherever the
    normal rows went (the planted bug even ranks better there), so the test looks at training."""
    split = toy_split()
    det = build_method("deepsad").fit(split, toy_context(epochs=epochs))
    d = sq_distance(_map(det.phi, split.x_train, det.train_center.device), det.train_center).numpy()
    return float(d[~np.asarray(split.a_train).astype(bool)].mean())


def test_deepsad_pulls_normal_rows_to_the_centre(monkeypatch):
    before = _deepsad_normal_distance(0)
    assert _deepsad_normal_distance(10) < 0.8 * before
    original = deepsad_module.deepsad_loss
    monkeypatch.setattr(deepsad_module, "deepsad_loss",
                        lambda d, semi: original(d, None if semi is None else -semi))  # exponent inverted
    assert _deepsad_normal_distance(10) > before
