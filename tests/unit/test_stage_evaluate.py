"""The evaluate stage: one JSON list per cell with every method's metrics; a validation part
without anomalies (tiny tables) gives NaN validation metrics instead of failing the suite."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from toydata import toy_split

from alarmbench.evaluate.metrics import ScoreError, roc_points
from alarmbench.fileio import read_json, write_json, write_npz
from alarmbench.stages.evaluate import evaluate_stage

CELL = {"dataset": "toy", "experiment": "known", "n_anomalies": 40, "pollution": 0.0, "seed": 110, "epochs": "paper"}


def _cell(tmp_path, split, methods):
    split.save(tmp_path / "split.npz", tmp_path / "split.json")
    scores, infos = [], []
    for i, m in enumerate(methods):
        rng = np.random.default_rng(i)
        write_npz(tmp_path / f"{m}.npz", val=split.a_val + rng.normal(0, 0.5, len(split.a_val)),
                  test=split.a_test + rng.normal(0, 0.5, len(split.a_test)))
        write_json(tmp_path / f"{m}.json", {"fit_seconds": 1.0}, sealed=True)
        scores.append(str(tmp_path / f"{m}.npz"))
        infos.append(str(tmp_path / f"{m}.json"))
    return str(tmp_path / "split.npz"), scores, infos


def test_one_list_per_cell_with_every_method(tmp_path):
    split = toy_split()
    path, scores, infos = _cell(tmp_path, split, ["ae", "devnet"])
    evaluate_stage(split_npz=path, methods=["ae", "devnet"], scores_npz=scores, info_json=infos, cell=CELL, max_fpr=0.05, out=str(tmp_path / "metrics.json"))
    records = read_json(tmp_path / "metrics.json")
    assert [r["method"] for r in records] == ["ae", "devnet"]
    with np.load(scores[1]) as z:
        assert records[1]["test_auc"] == pytest.approx(roc_auc_score(split.a_test, z["test"]))
    assert all(r["roc_validation"]["fpr"] and "test_f1" in r and r["max_fpr"] == 0.05 for r in records)
    assert not any("roc" in r for r in records)  # the curve's key names its part
    with np.load(scores[0]) as z:  # and it is the validation part's curve, not the test part's
        assert records[0]["roc_validation"] == roc_points(split.a_val, z["val"])
        assert records[0]["roc_validation"] != roc_points(split.a_test, z["test"])


def test_validation_without_anomalies_gives_nan_not_an_error(tmp_path):
    split = toy_split()
    split.a_val = np.zeros_like(split.a_val)
    path, scores, infos = _cell(tmp_path, split, ["ae"])
    evaluate_stage(split_npz=path, methods=["ae"], scores_npz=scores, info_json=infos, cell=CELL, max_fpr=0.05, out=str(tmp_path / "metrics.json"))
    (rec,) = read_json(tmp_path / "metrics.json")
    assert math.isnan(rec["val_auc"]) and math.isfinite(rec["test_auc"]) and "roc_validation" not in rec
    split.a_test = np.zeros_like(split.a_test)  # the test part must have both classes
    path, scores, infos = _cell(tmp_path, split, ["ae"])
    with pytest.raises(ScoreError, match="toy/known/n40_p0.0/seed110 ae test: labels contain a single class"):
        evaluate_stage(split_npz=path, methods=["ae"], scores_npz=scores, info_json=infos, cell=CELL, max_fpr=None, out=str(tmp_path / "m2.json"))
