"""config/own-data.yaml, as README's "Your own data" walks it: the dry run plans every cell (with
the per-data-set n_anomalies and `half`), a wrong entry stops it before any job, and (slow) the
whole example runs to its report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workdirs import copy_workflow



@pytest.fixture
def clone(tmp_path) -> Path:
    """What a fresh clone holds of the workflow, its configs and the example tables."""
    return copy_workflow(tmp_path, config=True)


def snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/own-data.yaml", *args]
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True)


@pytest.mark.slow  # starts Snakemake
def test_dry_run_plans_every_cell_of_the_example(clone):
    result = snakemake(clone, "-n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    cells = set(re.findall(r"results/own-data/(\w+/\w+/n\w+_p0/seed\d+)/metrics.json", result.stdout))
    assert cells == {f"{d}/{e}/{n}_p0/seed{s}" for s in (110, 210) for d, e, n in (
        ("blobs", "known", "n10"), ("blobs", "known", "nhalf"), ("sensors", "known", "nhalf"),
        ("sensors", "transfer", "nhalf"))}


@pytest.mark.slow  # starts Snakemake
def test_a_wrong_entry_stops_the_dry_run_naming_it(clone):
    config = yaml.safe_load((clone / "config" / "own-data.yaml").read_text())
    config["user_datasets"]["sensors"]["label_column"] = "stat"
    (clone / "config" / "own-data.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(clone, "-n")
    assert result.returncode != 0
    assert "sensors.csv: no label column 'stat' (did you mean 'state'?)" in result.stdout + result.stderr


@pytest.mark.slow
def test_the_example_runs_to_its_report(clone):
    config = yaml.safe_load((clone / "config" / "own-data.yaml").read_text())
    config["run"]["epochs"] = 1
    (clone / "config" / "own-data.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(clone)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = pd.read_csv(clone / "results" / "own-data-report" / "results.csv")
    assert set(results["dataset"]) == {"blobs", "sensors"}
    assert set(results["n_anomalies"].astype(str)) == {"10", "half"}
    auc = results[results["metric"] == "test_auc"]
    assert len(auc) == 2 * (2 * 5 + 5 + 2) and auc["value"].between(0, 1).all()
