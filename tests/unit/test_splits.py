"""The split protocol (docs/protocol.md#split): sizes, pollution, caps, filtering, scaling, hold-out, determinism."""

import hashlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarmbench.data.prepare import Prepared
from alarmbench.data.spec import ClassSetup
from alarmbench.data.splits import Split, SplitError, SplitParams, make_split


def prepared(n=600, classes=("n1", "n2", "a1", "a2", "a3"), weights=(0.4, 0.3, 0.15, 0.1, 0.05), official=False,
             seed=0, n_features=4) -> Prepared:
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.array(classes), n, p=np.array(weights) / sum(weights))
    X = rng.normal(size=(n, n_features)).astype(np.float32) * 5 + 3
    is_test = (np.arange(n) >= n * 0.8) if official else None
    return Prepared("toy", X, labels, labels, is_test, [f"f{i}" for i in range(n_features)], {"dataset": "toy"})


KNOWN = ClassSetup(["n1", "n2"], ["a1", "a2", "a3"])
TRANSFER = ClassSetup(["n1", "n2"], ["a1", "a2", "a3"], ["a1"])


def test_sizes_follow_scikit_learn_rounding():
    prep = prepared(n=601)
    s = make_split(prep, SplitParams(KNOWN, seed=110, n_train_anomalies=10))
    n_test = math.ceil(0.2 * 601)
    n_val = math.ceil(0.05 * (601 - n_test))
    assert len(s.x_test) == n_test and len(s.x_val) == n_val  # known: nothing filtered out of val/test
    n_train_pool = 601 - n_test - n_val
    assert s.n_normal + 10 == len(s.x_train) <= n_train_pool


def test_test_rows_do_not_depend_on_the_experiment_seed_but_val_rows_do():
    prep = prepared()
    a = make_split(prep, SplitParams(KNOWN, seed=110, n_train_anomalies=5))
    b = make_split(prep, SplitParams(KNOWN, seed=210, n_train_anomalies=5))
    assert np.array_equal(a.extra["idx_test"], b.extra["idx_test"])
    assert not np.array_equal(np.sort(a.extra["idx_val"]), np.sort(b.extra["idx_val"]))


def test_official_test_set_is_used_as_is():
    prep = prepared(official=True)
    s = make_split(prep, SplitParams(KNOWN, seed=1, n_train_anomalies=5))
    assert np.array_equal(np.sort(s.extra["idx_test"]), np.flatnonzero(prep.is_test))
    assert not np.isin(s.extra["idx_train"], np.flatnonzero(prep.is_test)).any()


@settings(max_examples=25, deadline=None)
@given(p=st.sampled_from([0.0, 0.025, 0.05, 0.075, 0.1]), n=st.integers(0, 40), seed=st.integers(0, 10_000),
       transfer=st.booleans())
def test_pollution_cap_and_filtering_properties(p, n, seed, transfer):
    setup = TRANSFER if transfer else KNOWN
    prep = prepared(seed=seed % 7)
    s = make_split(prep, SplitParams(setup, seed=seed, n_train_anomalies=n, pollution=p))
    polluted = s.extra["polluted"]
    n_norm_original = s.n_normal - int(polluted.sum())
    assert polluted.sum() == round(n_norm_original * p / (1 - p))
    # polluted rows are anomalies in the source data, relabelled with a normal class and label 0
    assert np.isin(prep.labels[s.extra["idx_train"][polluted]], setup.all_anomalies).all()
    assert np.isin(s.y_train[polluted], setup.normal).all()
    # normal rows first, then exactly n known anomalies of the train-anomaly classes
    assert (s.a_train[: s.n_normal] == 0).all() and (s.a_train[s.n_normal:] == 1).all()
    assert s.a_train.sum() == n and np.isin(s.y_train[s.n_normal:], setup.train_anomalies).all()
    assert np.isin(s.y_val, setup.normal + setup.train_anomalies).all()
    assert np.isin(s.y_test, setup.normal + setup.test_anomalies).all()
    assert set(s.y_test) >= set(setup.test_anomalies)
    # no row used twice
    rows = np.concatenate([s.extra["idx_train"], s.extra["idx_val"], s.extra["idx_test"]])
    assert len(np.unique(rows)) == len(rows)
    assert len(s.holdout) == math.floor(0.75 * s.n_normal) and len(np.unique(s.holdout)) == len(s.holdout)


def test_transfer_keeps_unknown_classes_out_of_training_and_validation():
    s = make_split(prepared(), SplitParams(TRANSFER, seed=3, n_train_anomalies=20))
    assert set(s.y_train[s.n_normal:]) == {"a1"}
    assert not np.isin(s.y_val, ["a2", "a3"]).any()
    assert np.isin(s.y_test, ["a2", "a3"]).any()
    assert s.a_test[np.isin(s.y_test, ["a2", "a3"])].all()


def test_scaler_fitted_on_normal_training_rows_only():
    prep = prepared()
    s = make_split(prep, SplitParams(KNOWN, seed=5, n_train_anomalies=30))
    normal = s.x_train[: s.n_normal]
    assert np.allclose(normal.min(0), 0, atol=1e-6) and np.allclose(normal.max(0), 1, atol=1e-6)
    raw_normal = prep.X[s.extra["idx_train"][: s.n_normal]]
    assert np.allclose(s.extra["scaler_min"], raw_normal.min(0))
    # anomalies and test rows may leave [0, 1]: the scaler never saw them
    assert (s.x_test < 0).any() or (s.x_test > 1).any()


def test_constant_feature_gets_scale_one():
    prep = prepared()
    prep.X[:, 1] = 7.0
    s = make_split(prep, SplitParams(KNOWN, seed=5, n_train_anomalies=3))
    assert s.extra["scaler_scale"][1] == 1.0 and np.all(s.x_train[:, 1] == 0)


def test_images_are_divided_by_255():
    prep = prepared(n=200)
    prep.X = np.random.default_rng(0).integers(0, 256, (200, 4, 4)).astype(np.float32)
    s = make_split(prep, SplitParams(KNOWN, seed=1, n_train_anomalies=2, scaling="divide255"))
    assert s.x_train.shape[1:] == (4, 4)
    assert np.allclose(s.x_test * 255, prep.X[s.extra["idx_test"]], atol=1e-4)
    assert "scaler_min" not in s.extra


def test_same_cell_twice_is_byte_identical(tmp_path):
    prep = prepared()
    digests = []
    for i in range(2):
        s = make_split(prep, SplitParams(KNOWN, seed=110, n_train_anomalies=10, pollution=0.05))
        s.save(tmp_path / f"{i}.npz", tmp_path / f"{i}.json")
        digests.append([hashlib.sha256((tmp_path / f"{i}.{ext}").read_bytes()).hexdigest() for ext in ("npz", "json")])
    assert digests[0] == digests[1]
    loaded = Split.load(tmp_path / "0.npz", tmp_path / "0.json")
    assert np.array_equal(loaded.x_train, s.x_train) and loaded.n_normal == s.n_normal
    assert np.array_equal(loaded.extra["polluted"], s.extra["polluted"])


def test_named_substreams_keep_draws_independent():
    """Adding pollution must not change which rows form the hold-out draw's generator state."""
    prep = prepared()
    a = make_split(prep, SplitParams(KNOWN, seed=9, n_train_anomalies=10))
    b = make_split(prep, SplitParams(KNOWN, seed=9, n_train_anomalies=25))
    # the cap draw differs in size, but the (independent) hold-out stream gives the same draw
    assert np.array_equal(a.holdout, b.holdout)
    c = make_split(prep, SplitParams(KNOWN, seed=9, n_train_anomalies=10, rng="original"))
    d = make_split(prep, SplitParams(KNOWN, seed=9, n_train_anomalies=25, rng="original"))
    assert not np.array_equal(c.holdout, d.holdout)  # one shared generator: draws shift, as in the original


def test_original_rng_order_matches_a_hand_written_reference():
    prep = prepared()
    s = make_split(prep, SplitParams(KNOWN, seed=7, n_train_anomalies=4, rng="original"))
    rng = np.random.default_rng(7)
    from sklearn.model_selection import train_test_split

    rest, _ = train_test_split(np.arange(len(prep.X)), test_size=0.2, random_state=42)
    train, _ = train_test_split(rest, test_size=0.05, random_state=7)
    labels = prep.labels[train]
    idx_norm = np.flatnonzero(np.isin(labels, KNOWN.normal))
    drawn = rng.choice(np.flatnonzero(np.isin(labels, KNOWN.train_anomalies)), 4, replace=False)
    assert np.array_equal(s.extra["idx_train"], train[np.concatenate([idx_norm, drawn])])
    assert np.array_equal(s.holdout, rng.choice(len(idx_norm), math.floor(0.75 * len(idx_norm)), replace=False))


def test_holdout_redraws_are_stored_on_request():
    s = make_split(prepared(), SplitParams(KNOWN, seed=1, n_train_anomalies=3, holdout_redraws=4))
    assert s.extra["holdout_redraws"].shape == (4, len(s.holdout))
    assert not np.array_equal(s.extra["holdout_redraws"][0], s.holdout)


def test_errors_name_the_problem():
    prep = prepared()
    with pytest.raises(SplitError, match=r"n_train_anomalies=5000 but the training split has only \d+ rows"):
        make_split(prep, SplitParams(KNOWN, seed=1, n_train_anomalies=5000))
    with pytest.raises(SplitError, match="no normal training rows"):
        make_split(prepared(weights=(0, 0, 0.4, 0.3, 0.3)), SplitParams(KNOWN, seed=1, n_train_anomalies=1))
    with pytest.raises(SplitError, match="both normal and anomalous"):
        SplitParams(ClassSetup(["n1"], ["n1", "a1"]), seed=1)
    with pytest.raises(SplitError, match="not among the test anomaly"):
        SplitParams(ClassSetup(["n1"], ["a1"], ["a2"]), seed=1)
    with pytest.raises(SplitError, match="pollution must be in"):
        SplitParams(KNOWN, seed=1, pollution=1.0)
