"""Classical baselines: Isolation Forest (docs/methods.md#classical), gradient boosting, and GBDT-OD (XGBOD idea)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from toydata import toy_context, toy_degenerate, toy_image_split, toy_split

from alarmbench.methods import build_method
from alarmbench.methods.classical import (
    GBDT,
    GBDTOD,
    IForest,
    OutlierFeatures,
    sklearn_seed,
)
from alarmbench.methods.devnet import NoKnownAnomaliesError
from alarmbench.rng import substream_seed

METHODS = {"iforest": IForest, "gbdt": GBDT, "gbdt-od": GBDTOD}


@pytest.fixture(scope="module")
def zero_split():
    return toy_split(zero_frac=0.3)


@pytest.fixture(scope="module")
def degenerate_split(zero_split):
    return toy_degenerate(zero_split)


@pytest.fixture(scope="module")
def fitted(zero_split):
    return {name: build_method(name).fit(zero_split, toy_context()) for name in METHODS}


def _auc(split, scores):
    return roc_auc_score(split.a_test, scores)


@pytest.mark.parametrize("name", list(METHODS))
def test_scores_finite_and_not_constant_on_zero_rows(fitted, zero_split, name):
    for x in (zero_split.x_test, zero_split.x_train):
        s = fitted[name].score(x)
        assert s.shape == (len(x),) and s.dtype == np.float64
        assert np.isfinite(s).all() and np.ptp(s) > 0


@pytest.mark.parametrize("name", list(METHODS))
def test_scores_finite_and_not_constant_on_constant_columns_and_duplicates(degenerate_split, name):
    det = build_method(name).fit(degenerate_split, toy_context())
    for x in (degenerate_split.x_test, degenerate_split.x_train):
        s = det.score(x)
        assert np.isfinite(s).all() and np.ptp(s) > 0
    assert _auc(degenerate_split, det.score(degenerate_split.x_test)) > 0.8


@pytest.mark.parametrize("name", list(METHODS))
def test_images_are_flattened(name):
    split = toy_image_split()
    det = build_method(name).fit(split, toy_context())
    s = det.score(split.x_test)
    assert s.shape == (len(split.x_test),) and np.isfinite(s).all()


@pytest.mark.parametrize("name", ["gbdt", "gbdt-od"])
def test_supervised_methods_rank_known_anomalies_and_flipped_labels_invert(fitted, zero_split, name):
    assert _auc(zero_split, fitted[name].score(zero_split.x_test)) > 0.9
    flipped = dataclasses.replace(zero_split, a_train=(1 - zero_split.a_train).astype(np.int8))
    det = build_method(name).fit(flipped, toy_context())
    assert _auc(zero_split, det.score(zero_split.x_test)) < 0.5


def test_iforest_scores_anomalies_above_normals(fitted, zero_split):
    assert _auc(zero_split, fitted["iforest"].score(zero_split.x_test)) > 0.8


def test_iforest_is_sklearn_on_normal_rows_with_substream_seed(fitted, zero_split):
    det = fitted["iforest"]
    assert det.model.random_state == substream_seed(110, "iforest") % 2**32
    assert det.model.n_estimators == 100 and det.model.max_samples == "auto"
    ref = IsolationForest(random_state=det.model.random_state).fit(zero_split.train_target.astype(np.float64))
    np.testing.assert_array_equal(det.score(zero_split.x_test), -ref.decision_function(zero_split.x_test))
    assert det.model.n_features_in_ == zero_split.x_train.shape[1]
    assert "scikit-learn" in det.versions


def test_iforest_options(zero_split):
    det = build_method("iforest", iforest_random_state="seed", iforest_n_estimators=7).fit(zero_split, toy_context())
    assert det.model.random_state == 110 and len(det.model.estimators_) == 7
    with pytest.raises(ValueError, match="iforest_random_state"):
        build_method("iforest", iforest_random_state="bogus").fit(zero_split, toy_context())


@pytest.mark.parametrize("name", list(METHODS))
def test_same_seed_same_scores_other_seed_other_scores(fitted, zero_split, name):
    again = build_method(name).fit(zero_split, toy_context())
    np.testing.assert_array_equal(again.score(zero_split.x_test), fitted[name].score(zero_split.x_test))
    if name != "gbdt":  # without early stopping (< 10 000 rows) the classifier draws nothing
        other = build_method(name).fit(zero_split, toy_context(seed=7))
        assert not np.array_equal(other.score(zero_split.x_test), fitted[name].score(zero_split.x_test))


@pytest.mark.parametrize("name", ["gbdt", "gbdt-od"])
def test_supervised_methods_need_known_anomalies(zero_split, name):
    none = dataclasses.replace(zero_split, a_train=np.zeros_like(zero_split.a_train))
    with pytest.raises(NoKnownAnomaliesError):
        build_method(name).fit(none, toy_context())


def test_gbdt_options_reach_the_classifier(zero_split):
    det = build_method("gbdt", gbdt_max_iter=5, gbdt_class_weight="balanced").fit(zero_split, toy_context())
    assert det.model.n_iter_ == 5 and det.model.class_weight == "balanced"
    assert det.model.random_state == sklearn_seed(110, "gbdt")


def test_gbdt_od_feature_columns(fitted, zero_split):
    det = fitted["gbdt-od"]
    d = zero_split.x_train.shape[1]
    assert det.feature_names_ == [f"x{j}" for j in range(d)] + [
        "iforest", "lof5", "lof10", "lof20",
        "knn_mean5", "knn_max5", "knn_mean10", "knn_max10", "knn_mean20", "knn_max20"]
    assert det.model.n_features_in_ == d + 10


def test_outlier_features_match_sklearn_lof_and_knn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)) * [1.0, 5.0, 0.1, 2.0]
    new = rng.normal(size=(50, 4)) * 3
    of = OutlierFeatures((5, 10), random_state=3)
    train, test = of.fit_transform(x), of.transform(new)
    z, znew = of.scaler.transform(x), of.scaler.transform(new)
    ref_if = IsolationForest(random_state=3).fit(x)
    np.testing.assert_allclose(train[:, 0], -ref_if.score_samples(x))
    np.testing.assert_allclose(test[:, 0], -ref_if.score_samples(new))
    for j, k in enumerate((5, 10)):
        lof = LocalOutlierFactor(n_neighbors=k, novelty=True).fit(z)
        np.testing.assert_allclose(train[:, 1 + j], -lof.negative_outlier_factor_, rtol=1e-12)
        np.testing.assert_allclose(test[:, 1 + j], -lof.score_samples(znew), rtol=1e-12)
        nn = NearestNeighbors(n_neighbors=k).fit(z)
        d_train, d_new = nn.kneighbors()[0], nn.kneighbors(znew)[0]
        np.testing.assert_allclose(train[:, 3 + 2 * j], d_train.mean(1))
        np.testing.assert_allclose(train[:, 4 + 2 * j], d_train[:, -1])
        np.testing.assert_allclose(test[:, 3 + 2 * j], d_new.mean(1))
        np.testing.assert_allclose(test[:, 4 + 2 * j], d_new[:, -1])


def test_outlier_features_finite_when_more_duplicates_than_k():
    x = np.zeros((100, 3))
    x[50:] = np.random.default_rng(1).normal(size=(50, 3))
    x[:, 2] = 1.0  # constant column
    of = OutlierFeatures((5,))
    feats = np.vstack([of.fit_transform(x), of.transform(x), of.transform(x + 0.01)])
    assert np.isfinite(feats).all()
    # a point next to the duplicated block is far less dense than its neighbours: large but finite LOF
    assert feats[len(x) * 2:, 1].max() > 1e3


def test_outlier_features_clip_k_to_small_training_sets():
    x = np.random.default_rng(2).normal(size=(6, 2))
    feats = OutlierFeatures((5, 10, 20)).fit_transform(x)
    assert feats.shape == (6, 10) and np.isfinite(feats).all()


def test_only_the_classical_baselines_are_cpu_only():
    # Their workflow jobs claim no GPU; every torch method (and PyOD's, which get ctx.device) may.
    from alarmbench.methods import METHOD_IDS, cpu_only

    assert {m for m in METHOD_IDS if cpu_only(m)} == {"iforest", "gbdt", "gbdt-od"}
    assert not cpu_only("pyod:XGBOD") and not cpu_only("nonsense")
