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


def test_run_rng_original_draws_the_split_in_the_authors_order(tmp_path, monkeypatch):
    """`alarmbench run --rng original` reaches the split (paired seeds with the authors' code), and
    the default stays the named sub-streams."""
    import alarmbench.runner as runner

    seen, real = [], runner.split_cell

    def spy(prep, **kwargs):
        split = real(prep, **kwargs)
        seen.append((kwargs.get("rng", "substreams"), split.idx_train if hasattr(split, "idx_train") else split.x_train))
        return split

    monkeypatch.setattr(runner, "split_cell", spy)
    for rng in ("original", "substreams"):
        args = ["run", "--dataset", "breast_cancer", "--method", "iforest", "--seed", "110", "--n-anomalies", "10",
                "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / f"{rng}.json"), "--quiet"]
        assert main(args + (["--rng", rng] if rng == "original" else [])) == 0
    assert [s[0] for s in seen] == ["original", "substreams"]
    assert not np.array_equal(seen[0][1], seen[1][1])  # another draw of the known anomalies / hold-out
