"""One way to build a fit: a cell run through `alarmbench run` gives the metrics record the
workflow writes for it (same keys, same values but wall-clock seconds), for user data (NPZ with
binary labels, CSV with classes and an official test column, n = "half"), a registered data set,
and a user table whose default hyperparameters depend on its rows (batch 512 from 20,000 rows:
the split's training part is below that, the prepared table above). Slow: a real Snakemake run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from alarmbench import runner
from alarmbench.cli import main
from alarmbench.fileio import read_json
from workdirs import copy_workflow

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

CONFIG = {
    "seeds": [110],
    "datasets": ["breast_cancer"],
    "user_datasets": {
        "blobs": {"path": "blobs.npz"},
        "sensors": {"path": "sensors.csv", "label_column": "state", "normal": ["ok"], "anomalies": ["drift", "spike"],
                    "test_column": "official_test"},
        "big": {"path": "big.npz"},
    },
    "run": {"epochs": 1, "device": "cpu", "threads": 1},
    "grids": {
        "small": {"experiments": ["known"], "methods": ["devnet", "ae", "iforest"],
                  "datasets": ["blobs", "sensors", "breast_cancer"],
                  "n_anomalies": {"blobs": [10], "default": ["half"]}},
        "rows": {"experiments": ["known"], "methods": ["ae"], "datasets": ["big"], "n_anomalies": [50]},
    },
}
CLI_DATA = {  # the same user data sets as `alarmbench run --data` flags
    "blobs": ["--data", "blobs.npz"],
    "sensors": ["--data", "sensors.csv", "--label-column", "state", "--normal", "ok", "--anomalies", "drift",
                "spike", "--test-column", "official_test"],
    "big": ["--data", "big.npz"],
}
def _timing(key: str) -> bool:
    """Timings differ between any two runs, and so does where they are booked: the CLI trains a
    method's targets inside its fit, the workflow in train_target/extract jobs (target_seconds …)."""
    return key.endswith("_seconds")


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cli_vs_workflow")
    copy_workflow(work, config=True)
    for name in ("blobs.npz", "sensors.csv"):
        shutil.copy(ROOT / "config" / "own-data" / name, work / name)
    rng = np.random.default_rng(7)
    y = (rng.random(21_000) < 0.02).astype(np.int8)
    x = rng.normal(size=(21_000, 3)).astype(np.float32) + 3 * y[:, None]
    np.savez(work / "big.npz", X=x, y=y)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--until", "evaluate"]
    result = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return work


def _same(record: dict) -> str:
    """The record but its wall-clock seconds, as text (NaN validation metrics compare equal)."""
    return json.dumps({k: v for k, v in record.items() if not _timing(k)}, sort_keys=True)


def _records(work: Path) -> list[dict]:
    return [rec for f in sorted((work / "results").rglob("metrics.json")) for rec in read_json(f)]  # digests checked


def test_every_cell_gives_the_workflows_record_through_the_cli(workflow, monkeypatch, tmp_path):
    monkeypatch.chdir(workflow)
    batch = {}
    build = runner.job_context

    def spy(split, **kwargs):  # the hyperparameters the CLI's fit is given
        ctx = build(split, **kwargs)
        batch[kwargs["dataset"]] = ctx.hparams.batch_size
        return ctx

    monkeypatch.setattr(runner, "job_context", spy)
    records = _records(workflow)
    assert {(r["dataset"], r["method"]) for r in records} == {
        *((d, m) for d in ("blobs", "sensors", "breast_cancer") for m in ("devnet", "ae", "iforest")), ("big", "ae")}
    for rec in records:
        data = CLI_DATA.get(rec["dataset"], ["--dataset", rec["dataset"]])
        out = tmp_path / f"{rec['dataset']}-{rec['method']}.json"
        assert main(["run", *data, "--method", rec["method"], "--seed", str(rec["seed"]),
                     "--experiment", rec["experiment"], "--n-anomalies", str(rec["n_anomalies"]), "--epochs", "1",
                     "--device", "cpu", "--raw-dir", "data/raw", "--out", str(out)]) == 0
        cli = json.loads(out.read_text())
        assert sorted(k for k in cli if not _timing(k)) == sorted(k for k in rec if not _timing(k)), rec["dataset"]
        assert _same(cli) == _same(rec), (rec["dataset"], rec["method"])
    assert batch["big"] == 512 and batch["blobs"] == 128  # sized by the prepared table's rows, as the workflow
    split = json.loads(next((workflow / "results" / "big").rglob("split.json")).read_text())
    assert split["counts"]["n_normal_train"] < 20_000 < split["inputs"]["prepared_rows"]
    sensors = json.loads(next((workflow / "results" / "sensors").rglob("split.json")).read_text())
    assert sensors["n_anomalies"]["requested"] == "half" and sensors["n_anomalies"]["grid"] == ["half"]
    assert sum(sensors["counts"]["test"].values()) == 75  # the official test rows, every seed
