"""Bring your own data: binary labels without class lists, official test parts, n_anomalies
"half" and per data set, the cap rule for user tables, `alarmbench run --data`, and the example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alarmbench import configcheck, grid
from alarmbench.cli import main
from alarmbench.data import registry
from alarmbench.data.api import prepare_dataset, split_cell
from alarmbench.data.loaders import DataFormatError
from alarmbench.data.userdata import UserDataError, check_user_config, check_user_data, user_spec
from alarmbench.methods.catalog import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _table(n=400, n_anom=40, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n, np.int8)
    y[:n_anom] = 1
    x = rng.normal(size=(n, 4)).astype(np.float32)
    x[y == 1] += 3
    return x, y


@pytest.fixture
def npz(tmp_path):
    x, y = _table()
    path = tmp_path / "mine.npz"
    np.savez(path, X=x, y=y)
    return path


# ------------------------------------------------------------------------------ binary labels
def test_binary_labels_need_no_class_lists(npz):
    spec = user_spec("mine", {"path": str(npz)})
    assert spec.preset("known").normal == ("0",) and spec.preset("known").test_anomalies == ("1",)
    assert check_user_data("mine", {"path": str(npz)})["anomaly_rows"] == 40


def test_other_labels_without_class_lists_say_what_to_give(tmp_path):
    x, y = _table()
    path = tmp_path / "abc.npz"
    np.savez(path, X=x, y=np.where(y == 1, "bad", "good"))
    with pytest.raises(DataFormatError, match=r"must be 0 \(normal\) and 1 \(anomaly\); give normal"):
        check_user_data("abc", {"path": str(path)})
    with pytest.raises(UserDataError, match="anomalies without normal"):
        check_user_config("abc", {"path": str(path), "anomalies": ["bad"]})


# ------------------------------------------------------------------------------ official test parts
def test_test_path_rows_are_the_test_part_of_every_seed(tmp_path, npz):
    x, y = _table(120, 12, seed=1)
    test = tmp_path / "mine_test.npz"
    np.savez(test, X=x, y=y)
    user = {"mine": {"path": str(npz), "test_path": str(test)}}
    prep = prepare_dataset("mine", raw_root=tmp_path / "raw", user=user)
    assert prep.is_test.sum() == 120 and len(prep.X) == 520
    for seed in (1, 2):
        split = split_cell(prep, experiment="known", seed=seed, n_anomalies=5, user=user)
        assert sorted(split.extra["idx_test"]) == list(range(400, 520))
        assert split.meta["inputs"]["prepared_files"]["test:mine_test.npz"]  # its sha256 is recorded


def test_test_column_marks_the_test_rows_and_is_not_a_feature(tmp_path):
    x, y = _table()
    frame = pd.DataFrame(x, columns=list("abcd")).assign(label=y, held=(np.arange(400) % 4 == 0).astype(int))
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    user = {"mine": {"path": str(path), "test_column": "held"}}
    prep = prepare_dataset("mine", raw_root=tmp_path / "raw", user=user)
    assert prep.feature_names == list("abcd")
    np.testing.assert_array_equal(prep.is_test, np.arange(400) % 4 == 0)
    frame.assign(held=2).to_csv(path, index=False)
    with pytest.raises(DataFormatError, match="test column 'held' holds '2'"):
        prepare_dataset("mine", raw_root=tmp_path / "raw", user=user)


def test_test_part_with_other_features_is_refused(tmp_path, npz):
    test = tmp_path / "t.npz"
    np.savez(test, X=np.zeros((10, 3), np.float32), y=np.zeros(10, int))
    with pytest.raises(DataFormatError, match="the test part has features"):
        check_user_data("mine", {"path": str(npz), "test_path": str(test)})


# ------------------------------------------------------------------------------ n_anomalies
def test_half_is_half_of_each_seeds_training_anomalies(tmp_path, npz):
    user = {"mine": {"path": str(npz)}}
    prep = prepare_dataset("mine", raw_root=tmp_path / "raw", user=user)
    for seed in (3, 4, 5):
        split = split_cell(prep, experiment="known", seed=seed, n_anomalies="half", user=user)
        in_train = np.isin(np.arange(400), split.extra["idx_test"], invert=True)
        in_train &= np.isin(np.arange(400), split.extra["idx_val"], invert=True)
        expected = int((prep.labels[in_train] == "1").sum()) // 2
        assert split.meta["n_anomalies"] == {"requested": "half", "effective": expected}
        assert int(split.a_train.sum()) == expected


def test_the_cap_rule_is_the_same_for_user_and_registered_tables(npz):
    mammo = registry.get("adbench_mammography")
    assert grid.effective_n(mammo, 100) == min(100, mammo.n_anomalies_total // 2)
    user = {"mine": {"path": str(npz)}}
    config = {"seeds": [1, 2], "datasets": [], "user_datasets": user,
              "grids": {"g": {"experiments": ["known"], "methods": ["iforest"],
                              "n_anomalies": {"mine": [100, 30, 10, "half"], "default": [5]}}}}
    totals = grid.anomaly_totals(config)
    assert totals == {"mine": 40}
    cells = sorted({j.cell for j in grid.expand(config, totals)})
    assert sorted({c.n_anomalies for c in cells}, key=str) == [10, 20, "half"]  # 100 and 30 capped at ⌊40/2⌋
    assert grid.requested_n(config, totals)["mine/known/n20_p0/seed1"] == [30, 100]


def test_n_anomalies_per_data_set_and_bad_values_are_named(npz):
    base = {"seeds": [1], "user_datasets": {"mine": {"path": str(npz)}}, "datasets": ["breast_cancer"]}

    def check(n):
        configcheck.check_config({**base, "grids": {"g": {"experiments": ["known"], "methods": ["iforest"],
                                                          "n_anomalies": n}}})

    check({"mine": ["half"], "breast_cancer": [10], "default": [5]})
    with pytest.raises(ConfigError, match=r"grids.g.n_anomalies.mine: 'halve' is not a count"):
        check({"mine": ["halve"]})
    with pytest.raises(ConfigError, match=r"grids.g.n_anomalies: 'mien' is not one of the configured datasets"):
        check({"mien": [10]})
    with pytest.raises(ConfigError, match=r"grids.g.n_anomalies: -1 is not a count"):
        check([-1])


def test_user_datasets_need_not_be_listed_in_datasets(npz):
    config = {"seeds": [1], "user_datasets": {"mine": {"path": str(npz)}},
              "grids": {"g": {"experiments": ["known"], "methods": ["iforest"]}}}
    configcheck.check_config(config)
    assert {j.cell.dataset for j in grid.expand(config)} == {"mine"}
    assert grid.configured_datasets({**config, "datasets": ["digits", "mine"]}) == ["digits", "mine"]


# ------------------------------------------------------------------------------ NSL-KDD test file
KDD_LINE = ("0,tcp,http,SF,{b},1000,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,{c},5,0,0,0,0,1,0,0,10,10,1,0,0,0,0,0,0,0,"
            "{label},{d}")


def _kdd(path, rows):
    path.write_text("".join(KDD_LINE.format(b=200 + i, c=i % 7 + 1, label=label, d=21) + "\n"
                            for i, label in enumerate(rows)))
    return path


def test_nsl_kdd_takes_an_alternative_test_file_recorded_with_its_sha256(tmp_path):
    from alarmbench.fileio import sha256_file

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _kdd(mirror / "KDDTrain+.txt", ["normal"] * 30 + ["neptune"] * 10 + ["satan"] * 5)
    hard = _kdd(mirror / "KDDTest-21.txt", ["normal"] * 8 + ["smurf"] * 6 + ["guess_passwd"] * 4)
    user = {"kdd21": {"base": "nsl_kdd", "test_file": "KDDTest-21.txt"}}
    check_user_config("kdd21", user["kdd21"])
    prep = prepare_dataset("kdd21", raw_root=tmp_path / "raw", mirror=mirror, user=user)
    assert prep.is_test.sum() == 18 and prep.meta["files"]["KDDTest-21.txt"] == sha256_file(hard)
    assert sorted(set(prep.labels[prep.is_test])) == ["DoS", "R2L", "normal"]
    locked = json.loads((tmp_path / "raw" / "checksums.lock.json").read_text())
    assert any("KDDTest-21.txt" in k and v.get("sha256", v) == sha256_file(hard) for k, v in locked.items())
    wrong = {"kdd21": {**user["kdd21"], "test_sha256": "0" * 64}}
    with pytest.raises(Exception, match="KDDTest-21"):
        prepare_dataset("kdd21", raw_root=tmp_path / "raw2", mirror=mirror, user=wrong)
    config = {"seeds": [1], "user_datasets": user, "grids": {"g": {"experiments": ["transfer"], "methods": ["ae"]}}}
    configcheck.check_config(config)
    assert grid.anomaly_totals(config) == {}  # a variant's files come with fetch, as the base's do
    assert {j.cell.path for j in grid.expand(config)} == {"kdd21/transfer/n100_p0/seed1"}
    with pytest.raises(UserDataError, match="base: 'mammography' has no official test file"):
        check_user_config("x", {"base": "mammography", "test_file": "t.txt"})


# ------------------------------------------------------------------------------ alarmbench run --data
def test_run_dataset_that_is_a_file_says_use_data(npz, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--dataset", str(npz), "--method", "iforest", "--seed", "1", "--out", "x.json"])
    assert f"use --data {npz}" in capsys.readouterr().err


def test_run_file_flags_need_data(capsys):
    assert main(["run", "--dataset", "breast_cancer", "--label-column", "y", "--method", "iforest", "--seed", "1",
                 "--out", "x.json"]) == 2
    assert "--label-column describes a file given with --data" in capsys.readouterr().err


def test_run_without_validation_anomalies_still_writes_the_test_metrics(tmp_path, capsys):
    x, y = _table(400, 12, seed=2)
    path = tmp_path / "few.npz"
    np.savez(path, X=x, y=y)
    out = tmp_path / "m.json"
    seed = next(s for s in range(50) if not split_cell(
        prepare_dataset("few", raw_root=tmp_path / "raw", user={"few": {"path": str(path)}}), experiment="known",
        seed=s, n_anomalies="half", user={"few": {"path": str(path)}}).a_val.any())
    assert main(["run", "--data", str(path), "--method", "iforest", "--seed", str(seed), "--n-anomalies", "half",
                 "--device", "cpu", "--raw-dir", str(tmp_path / "raw"), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["dataset"] == "few" and record["n_anomalies"] == "half"
    assert record["val_auc"] is None and 0.5 < record["test_auc"] <= 1 and "roc" not in record  # strict JSON: NaN -> null


# ------------------------------------------------------------------------------ the example
def test_example_files_are_what_the_script_writes(tmp_path):
    script = ROOT / "config" / "own-data" / "make_example.py"
    copy = tmp_path / "own-data"
    copy.mkdir()
    (copy / "make_example.py").write_text(script.read_text())
    subprocess.run([sys.executable, str(copy / "make_example.py")], check=True)
    committed = ROOT / "config" / "own-data"
    assert (copy / "sensors.csv").read_bytes() == (committed / "sensors.csv").read_bytes()
    with np.load(copy / "blobs.npz") as a, np.load(committed / "blobs.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
    for size in ((committed / "sensors.csv").stat().st_size, (committed / "blobs.npz").stat().st_size):
        assert size < 12_000
