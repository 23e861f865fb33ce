"""The A³ code's split protocol next to R2-AD2's (docs/protocol.md#split, docs/protocol.md#a3-split): test seed, scaler rows, the
record in split.json, the per-experiment default, the config key and the workflow's params."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import yaml

from alarmbench.configcheck import check_config
from alarmbench.data.api import split_cell
from alarmbench.data.protocols import cell_protocol, split_protocol
from alarmbench.data.spec import ClassSetup
from alarmbench.data.splits import SplitError, SplitParams, make_split
from alarmbench.methods.catalog import ConfigError

from test_configcheck import BASE, ROOT
from test_splits import KNOWN, prepared

TRANSFER = ClassSetup(["n1", "n2"], ["a1", "a2", "a3"], ["a1"])


def split(protocol: str, seed: int = 110, setup=KNOWN, **kw):
    return make_split(prepared(**kw), SplitParams(setup, seed=seed, n_train_anomalies=10, split_protocol=protocol))


def minmax(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = x.min(axis=0), x.max(axis=0)
    return lo, np.where(hi > lo, 1.0 / (hi - lo), 1.0)


@pytest.mark.parametrize("setup", [KNOWN, TRANSFER])
def test_a3_code_fits_the_scaler_on_every_training_split_row(setup):
    prep = prepared()
    s = split("a3_code", setup=setup)
    # every row of the training split: the kept rows plus the capped-away anomalies (and, in
    # transfer, the rows of test-only classes), i.e. all rows that are neither val nor test
    rest = np.setdiff1d(np.arange(len(prep.X)), np.concatenate([s.extra["idx_test"], s.extra["idx_val"]]))
    dropped = np.setdiff1d(rest, s.extra["idx_train"])
    assert len(dropped) > 10  # the cap removed anomaly rows, which the A³ scaler still saw
    lo, scale = minmax(prep.X[np.setdiff1d(np.arange(len(prep.X)), _val_and_test(prep, s, 110))])
    np.testing.assert_allclose(s.extra["scaler_min"], lo, rtol=1e-6)
    np.testing.assert_allclose(s.extra["scaler_scale"], scale, rtol=1e-5)
    normal_lo, _ = minmax(prep.X[s.extra["idx_train"][: s.n_normal]])
    assert not np.allclose(s.extra["scaler_min"], normal_lo)  # not the R2-AD2 statistics


def _val_and_test(prep, s, seed):
    """All val and test rows before class filtering (the scikit-learn calls, repeated here)."""
    from sklearn.model_selection import train_test_split

    rest, test = train_test_split(np.arange(len(prep.X)), test_size=0.2, random_state=seed)
    _, val = train_test_split(rest, test_size=0.05, random_state=seed)
    assert np.isin(s.extra["idx_test"], test).all()
    return np.concatenate([test, val])


def test_r2ad2_fits_the_scaler_on_normal_training_rows():
    prep = prepared()
    s = split("r2ad2")
    lo, scale = minmax(prep.X[s.extra["idx_train"][: s.n_normal]])
    np.testing.assert_allclose(s.extra["scaler_min"], lo, rtol=1e-6)
    np.testing.assert_allclose(s.extra["scaler_scale"], scale, rtol=1e-5)
    assert (s.x_train[: s.n_normal].min(axis=0) >= -1e-6).all() and (s.x_train[: s.n_normal].max(axis=0) <= 1 + 1e-6).all()


def test_the_test_split_follows_the_seed_only_under_the_a3_protocol():
    a3 = [split("a3_code", seed).extra["idx_test"] for seed in (2409, 706)]
    r2 = [split("r2ad2", seed).extra["idx_test"] for seed in (2409, 706)]
    assert not np.array_equal(np.sort(a3[0]), np.sort(a3[1]))
    assert np.array_equal(r2[0], r2[1])
    from sklearn.model_selection import train_test_split  # the A³ code's call: random_state = seed

    _, test = train_test_split(np.arange(600), test_size=0.2, random_state=706)
    assert np.isin(a3[1], test).all() and len(a3[1]) == len(test)  # known: nothing filtered out


def test_an_official_test_set_is_kept_under_both_protocols():
    a3, r2 = split("a3_code", official=True), split("r2ad2", official=True)
    assert np.array_equal(a3.extra["idx_test"], r2.extra["idx_test"])
    assert a3.meta["split_protocol"]["test_split_seed"] is None


def test_split_json_records_the_protocol(tmp_path):
    for protocol, seed, scaler in (("a3_code", 706, "all training-split rows"), ("r2ad2", 42, "normal training")):
        s = split(protocol, seed=706)
        s.save(tmp_path / "s.npz", tmp_path / "s.json")
        meta = json.loads((tmp_path / "s.json").read_text())
        assert meta["protocol"]["split_protocol"] == protocol
        assert meta["split_protocol"]["name"] == protocol and meta["split_protocol"]["test_split_seed"] == seed
        assert meta["split_protocol"]["scaler_fitted_on"].startswith(scaler)


def test_a_bad_protocol_is_refused():
    with pytest.raises(SplitError, match="split_protocol: 'a3'"):
        SplitParams(KNOWN, seed=1, split_protocol="a3")


def test_a3_experiments_default_to_the_a3_code_protocol():
    assert split_protocol("a3-1a") == "a3_code" and split_protocol("known") == "r2ad2"
    assert split_protocol("a3-1a", "r2ad2") == "r2ad2" and split_protocol("transfer", "a3_code") == "r2ad2"
    from alarmbench.data.registry import REGISTRY

    prep = prepared(classes=("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), weights=(1,) * 10)
    prep.name = "mnist_t10k"
    assert split_cell(prep, experiment="a3-1a", seed=706, n_anomalies=5).meta["protocol"]["split_protocol"] == "a3_code"
    assert split_cell(prep, experiment="known", seed=706, n_anomalies=5).meta["protocol"]["split_protocol"] == "r2ad2"
    assert "a3-1a" in REGISTRY["mnist_t10k"].presets


def test_the_split_params_change_exactly_for_the_a3_experiments():
    """The split rules' `protocol` param (workflow/rules/common.smk: split_protocol) is this dict,
    so flipping `a3_split` changes the params, hence reruns, of the A³ splits only."""
    for experiment in ("known", "transfer", "a3-1a", "a3-2b"):
        faithful = cell_protocol({"p_val": 0.05}, experiment, "a3-")
        other = cell_protocol({"p_val": 0.05, "a3_split": "r2ad2"}, experiment, "a3-")
        assert faithful["p_val"] == other["p_val"] == 0.05 and "a3_split" not in faithful
        assert (faithful != other) == experiment.startswith("a3-")
    smk = (ROOT / "workflow" / "rules" / "data.smk").read_text()
    assert smk.count("protocol=split_protocol,") == 2  # both split rules: cells and target groups


def test_a3_and_r2ad2_experiments_never_share_a_target_group():
    from alarmbench.data.registry import REGISTRY
    from alarmbench.grid import target_group

    for spec in REGISTRY.values():
        for experiment in spec.presets:
            assert target_group(spec, experiment).startswith("a3-") == experiment.startswith("a3-"), (spec.name, experiment)


@pytest.mark.parametrize("value", ["a3", "R2AD2", 1])
def test_configcheck_refuses_a_bad_a3_split(value):
    config = copy.deepcopy(BASE) | {"protocol": {"a3_split": value}, "method_options": {}}
    with pytest.raises(ConfigError, match=rf"protocol.a3_split: {value!r} is not a split protocol.*a3_code"):
        check_config(config)
    check_config(config | {"protocol": {"a3_split": "r2ad2"}})


def test_shipped_configs_use_the_faithful_default():
    for name in ("config.yaml", "small-real.yaml", "paper.yaml"):
        config = yaml.safe_load((ROOT / "config" / name).read_text())
        assert (config.get("protocol") or {}).get("a3_split", "a3_code") == "a3_code", name
