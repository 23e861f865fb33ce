"""`alarmbench data ...` on the embedded data sets (no network, no mirror)."""

import json

import numpy as np

from alarmbench.cli import main
from alarmbench.data.splits import Split


def test_data_list_names_every_kind(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "embedded" in out
    assert "nsl_kdd" in out and "manual" in out
    assert "adbench_mammography" in out


def test_info_and_split_on_embedded_data(tmp_path, capsys):
    assert main(["data", "info", "breast_cancer", "--raw-dir", str(tmp_path / "raw")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {"dataset": "breast_cancer", "n_samples": 569, "n_features": 30, "sample_shape": [30],
                    "classes": {"benign": 357, "malignant": 212}}
    out = tmp_path / "cell"
    assert main(["data", "split", "digits", "--experiment", "transfer", "--seed", "110", "--n-anomalies", "25",
                 "--pollution", "0.05", "--raw-dir", str(tmp_path / "raw"), "--out", str(out)]) == 0
    split = Split.load(out / "split.npz")
    assert split.meta["experiment"] == "transfer" and split.meta["train_anomalies"] == ["4", "5", "6"]
    assert split.a_train.sum() == 25 and np.isin(split.y_train[split.n_normal:], ["4", "5", "6"]).all()


def test_errors_are_reported_not_raised(tmp_path, capsys):
    code = main(["data", "split", "breast_cancer", "--seed", "1", "--n-anomalies", "1000",
                 "--raw-dir", str(tmp_path), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "n_train_anomalies=1000" in err and "malignant" in err
    assert not (tmp_path / "x" / "split.npz").exists()
    assert main(["data", "info", "nsl_kdd", "--raw-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "https://www.unb.ca/cic/datasets/nsl.html" in err and "KDDTrain+.txt" in err
