"""The PyOD adapter (`pyod:<Class>`): modes, seeds, versions, errors. Skipped where PyOD is missing,
except the missing-package error itself."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from toydata import toy_context, toy_degenerate, toy_split

from alarmbench.methods import build_method
from alarmbench.methods.pyod_adapter import (
    NonFiniteScoresError,
    PyODDetector,
    PyODNotInstalledError,
    needs_labels,
    resolve_class,
)
from alarmbench.rng import substream_seed


@pytest.fixture(scope="module")
def pyod():
    return pytest.importorskip("pyod")


@pytest.fixture(scope="module")
def zero_split():
    return toy_split(zero_frac=0.3)


@pytest.fixture(scope="module")
def degenerate_split(zero_split):
    return toy_degenerate(zero_split)


@pytest.fixture(scope="module")
def xgbod(pyod, zero_split):
    pytest.importorskip("xgboost")
    return build_method("pyod:XGBOD").fit(zero_split, toy_context())


def test_missing_pyod_names_the_install_command(monkeypatch, zero_split):
    monkeypatch.setitem(sys.modules, "pyod", None)  # `import pyod` now fails as if it were not installed
    with pytest.raises(PyODNotInstalledError, match=r"pip install 'alarmbench\[pyod\]'") as info:
        build_method("pyod:IForest").fit(zero_split, toy_context())
    assert isinstance(info.value, ImportError)


def test_method_names():
    det = build_method("pyod:IForest")
    assert (det.name, det.spec, det.class_name) == ("pyod:IForest", "IForest", "IForest")
    assert build_method("pyod:auto_encoder.AutoEncoder").class_name == "AutoEncoder"
    for bad in ("pyod:", "pyod:a.b.C", "pyod:I Forest"):
        with pytest.raises(KeyError):
            PyODDetector(bad, pyod_mode=None, pyod_kwargs={})


def test_resolve_class(pyod):
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.iforest import IForest

    assert resolve_class("IForest") is IForest
    assert resolve_class("AutoEncoder") is AutoEncoder  # snake_case module
    assert resolve_class("auto_encoder.AutoEncoder") is AutoEncoder
    with pytest.raises(KeyError, match="NoSuchDetector"):
        resolve_class("NoSuchDetector")
    assert not needs_labels(IForest)


def test_missing_detector_dependency_names_the_package_and_the_extra(pyod, monkeypatch):
    monkeypatch.delitem(sys.modules, "pyod.models.xgbod", raising=False)
    monkeypatch.setitem(sys.modules, "xgboost", None)  # XGBOD imports xgboost at module level
    with pytest.raises(PyODNotInstalledError, match=r"'xgboost'.*pip install 'alarmbench\[pyod\]'"):
        resolve_class("XGBOD")


def test_unsup_normal_is_the_default_and_fits_normal_rows_only(pyod, zero_split):
    from pyod.models.iforest import IForest

    det = build_method("pyod:IForest").fit(zero_split, toy_context())
    assert det.mode == "unsup-normal" and det.n_fit_rows_ == zero_split.n_normal
    assert len(det.model.decision_scores_) == zero_split.n_normal
    seed = substream_seed(110, "pyod/IForest") % 2**32
    assert det.model.random_state == seed
    ref = IForest(random_state=seed).fit(zero_split.train_target.astype(np.float64))
    np.testing.assert_array_equal(det.score(zero_split.x_test), ref.decision_function(zero_split.x_test))
    assert roc_auc_score(zero_split.a_test, det.score(zero_split.x_test)) > 0.8
    assert det.versions["pyod"] == pyod.__version__


def test_unsup_all_fits_every_training_row(pyod, zero_split):
    det = build_method("pyod:IForest", pyod_mode="unsup-all").fit(zero_split, toy_context())
    assert det.mode == "unsup-all" and len(det.model.decision_scores_) == len(zero_split.x_train)


def test_kwargs_and_per_class_overrides(pyod, zero_split):
    det = build_method("pyod:IForest", pyod_kwargs={"n_estimators": 10, "random_state": 3},
                       **{"pyod_kwargs:IForest": {"max_samples": 64}, "pyod_mode:IForest": "unsup-all",
                          "pyod_mode:ECOD": "semi"}).fit(zero_split, toy_context())  # another class's: ignored
    assert (det.model.n_estimators, det.model.random_state, det.model.max_samples) == (10, 3, 64)
    assert det.mode == "unsup-all"


def test_bad_modes(pyod, zero_split):
    with pytest.raises(ValueError, match="ignores labels"):
        build_method("pyod:IForest", pyod_mode="semi").fit(zero_split, toy_context())
    with pytest.raises(ValueError, match="pyod_mode: 'supervised' is not one of"):  # the catalog's check
        build_method("pyod:IForest", pyod_mode="supervised").fit(zero_split, toy_context())


def test_same_seed_same_scores(pyod, zero_split):
    a = build_method("pyod:IForest").fit(zero_split, toy_context()).score(zero_split.x_test)
    b = build_method("pyod:IForest").fit(zero_split, toy_context()).score(zero_split.x_test)
    c = build_method("pyod:IForest").fit(zero_split, toy_context(seed=7)).score(zero_split.x_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cls", ["IForest", "LOF", "KNN"])
def test_finite_non_constant_scores_on_zero_rows_and_degenerate_tables(pyod, zero_split, degenerate_split, cls):
    for split in (zero_split, degenerate_split):
        det = build_method(f"pyod:{cls}").fit(split, toy_context())
        for x in (split.x_test, split.x_train):
            s = det.score(x)
            assert s.shape == (len(x),) and np.isfinite(s).all() and np.ptp(s) > 0


def test_non_finite_scores_raise_naming_the_detector(pyod, zero_split, monkeypatch):
    det = build_method("pyod:IForest").fit(zero_split, toy_context())
    monkeypatch.setattr(det.model, "decision_function", lambda x: np.full(len(x), np.nan))
    with pytest.raises(NonFiniteScoresError, match="pyod:IForest"):
        det.score(zero_split.x_test)


def test_xgbod_semi_uses_labels(xgbod, zero_split):
    from pyod.models.xgbod import XGBOD

    assert needs_labels(XGBOD) and xgbod.mode == "semi" and xgbod.n_fit_rows_ == len(zero_split.x_train)
    s = xgbod.score(zero_split.x_test)
    assert np.isfinite(s).all() and roc_auc_score(zero_split.a_test, s) > 0.9
    assert "xgboost" in xgbod.versions


def test_xgbod_needs_semi_mode(xgbod, zero_split):
    with pytest.raises(ValueError, match="requires labels"):
        build_method("pyod:XGBOD", pyod_mode="unsup-normal").fit(zero_split, toy_context())
