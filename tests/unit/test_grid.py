"""Grid expansion: per-grid seeds, the few-anomalies rule for n, per-data-set epochs, and the
workflow's config loading (a --configfile replaces the embedded default instead of merging)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alarmbench import grid
from alarmbench.data import registry

ROOT = Path(__file__).resolve().parents[2]


def _config(**grids) -> dict:
    return {"seeds": [1, 2], "datasets": ["breast_cancer", "adbench_thyroid", "adbench_wbc", "mammography"],
            "grids": grids}


def test_grid_seeds_override_the_top_level_seeds():
    jobs = grid.expand(_config(a={"experiments": ["known"], "methods": ["ae"], "datasets": ["breast_cancer"]},
                               b={"experiments": ["known"], "methods": ["devnet"], "datasets": ["breast_cancer"],
                                  "seeds": [7]}))
    assert {(j.method, j.cell.seed) for j in jobs} == {("ae", 1), ("ae", 2), ("devnet", 7)}


def test_tables_with_few_anomalies_use_half_of_them():
    assert registry.get("adbench_thyroid").n_anomalies_total == 93
    jobs = grid.expand(_config(a={"experiments": ["known"], "methods": ["ae"], "n_anomalies": [0, 10, 100]}))
    ns = {(j.cell.dataset, j.cell.n_anomalies) for j in jobs}
    # thyroid: A = 93 -> at most 46; WBC: A = 10 -> 5; Mammography (A = 260) and unknown counts: as asked
    assert {n for d, n in ns if d == "adbench_thyroid"} == {0, 10, 46}
    assert {n for d, n in ns if d == "adbench_wbc"} == {0, 5}
    assert {n for d, n in ns if d == "mammography"} == {0, 10, 100}
    assert {n for d, n in ns if d == "breast_cancer"} == {0, 10, 100}


@pytest.mark.parametrize(("epochs", "dataset", "want"), [
    (None, "x", None), (3, "x", 3), ({"x": 1, "default": 5}, "x", 1), ({"x": 1, "default": 5}, "y", 5),
    ({"x": 1}, "y", None), ({"default": None, "x": 2}, "y", None),
])
def test_epochs_per_data_set(epochs, dataset, want):
    assert grid.epochs_for({"epochs": epochs}, dataset) == want


def _dry_run(tmp_path: Path, *configfiles: Path) -> str:
    args = ["--configfile", *[str(c) for c in configfiles]] if configfiles else []
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "-d", str(tmp_path), "-s", str(ROOT / "Snakefile"),
           *args]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


@pytest.mark.slow  # starts Snakemake
def test_configfiles_replace_the_default_and_merge_with_each_other(tmp_path):
    base = {"seeds": [5], "datasets": ["breast_cancer"], "run": {"epochs": 2, "device": "cpu"},
            "results_dir": str(tmp_path / "r"), "reports_dir": str(tmp_path / "rep"),
            "grids": {"mine": {"experiments": ["known"], "n_anomalies": [20], "methods": ["ae"]}}}
    overlay = {"run": {"epochs": {"default": 1}}, "grids": {"mine": {"seeds": [6]}}}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    out = _dry_run(tmp_path, tmp_path / "base.yaml", tmp_path / "overlay.yaml")
    # the default config's grids (known, transfer, sweeps, a3 …) and data sets (digits) did not leak in
    assert "digits" not in out and "devnet" not in out and "r2ad2" not in out
    assert "seed=6" in out and "seed=5" not in out and "n=20" in out
