"""The mirrored real data sets load with the documented sizes and split reproducibly (docs/protocol.md#datasets)."""

import json

import numpy as np
import pytest

from alarmbench.cli import main
from alarmbench.data.api import prepare_dataset, split_cell
from alarmbench.data.prepare import info

pytestmark = pytest.mark.realdata


def test_mammography(mirror, raw_root):
    summary = info(prepare_dataset("mammography", raw_root=raw_root, mirror=mirror))
    assert (summary["n_samples"], summary["n_features"]) == (11183, 6)
    assert summary["classes"] == {"0": 10923, "1": 260}


def test_nsl_kdd_20(mirror, raw_root):
    prep = prepare_dataset("nsl_kdd_20", raw_root=raw_root, mirror=mirror)
    summary = info(prep)
    assert summary["n_features"] == 122
    assert summary["official_split"]["train"]["n_samples"] == 25192
    assert summary["official_split"]["test"]["n_samples"] == 22544
    assert set(summary["classes"]) == {"normal", "DoS", "Probe", "R2L", "U2R"}
    assert np.isfinite(prep.X).all()
    # every one-hot group is a proper one-hot: exactly one 1 per row and group
    for prefix in ("protocol_type_", "service_", "flag_"):
        cols = [i for i, n in enumerate(prep.feature_names) if n.startswith(prefix)]
        assert (prep.X[:, cols].sum(1) == 1).all()


def test_mnist_t10k(mirror, raw_root):
    summary = info(prepare_dataset("mnist_t10k", raw_root=raw_root, mirror=mirror))
    assert summary["n_samples"] == 10000 and summary["n_features"] == 784
    assert summary["sample_shape"] == [28, 28]


@pytest.mark.parametrize("name,rows,features", [("adbench_cardio", 1831, 21), ("adbench_thyroid", 3772, 6)])
def test_adbench_tables(mirror, raw_root, name, rows, features):
    summary = info(prepare_dataset(name, raw_root=raw_root, mirror=mirror))
    assert (summary["n_samples"], summary["n_features"]) == (rows, features)


def test_nsl_kdd_transfer_split_with_pollution(mirror, raw_root):
    prep = prepare_dataset("nsl_kdd_20", raw_root=raw_root, mirror=mirror)
    s = split_cell(prep, experiment="transfer", seed=210, n_anomalies=100, pollution=0.05)
    assert len(s.x_test) == 22544  # the official test set, every class kept
    assert set(s.y_train[s.n_normal:]) <= {"DoS", "Probe"}
    assert s.extra["polluted"].sum() == round((s.n_normal - s.extra["polluted"].sum()) * 0.05 / 0.95)


def test_cli_split_twice_is_byte_identical(mirror, raw_root, tmp_path, capsys):
    outs = []
    for i in range(2):
        out = tmp_path / f"cell{i}"
        assert main(["data", "split", "mammography", "--seed", "110", "--mirror", str(mirror),
                     "--raw-dir", str(raw_root), "--out", str(out)]) == 0
        outs.append(((out / "split.npz").read_bytes(), (out / "split.json").read_bytes()))
    assert outs[0] == outs[1]
    meta = json.loads(outs[0][1])
    assert meta["counts"]["n_known_anomalies"] == 100
    # 20 % test with seed 42 (ceil), 5 % validation of the rest
    assert sum(meta["counts"]["test"].values()) == 2237 and sum(meta["counts"]["val"].values()) == 448
