"""config/own-data.yaml, as README's "Your own data" walks it: the dry run plans every cell (with
the per-data-set n_anomalies and `half`), a wrong entry stops it before any job, and (slow) the
whole example runs to its report."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from readme_blocks import shell_commands
from workdirs import ROOT, copy_workflow

from alarmbench.cli import build_parser, user_entry
from alarmbench.grid import n_values

REPORT_HTML = "snakemake --configfile config/own-data.yaml --report results/own-data-report/report.html"


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


def test_the_readme_one_cell_examples_are_cells_of_the_grid():
    """Each `alarmbench run --data config/own-data/…` of the README is a cell of config/own-data.yaml:
    the same table entry, method, seed, n, epochs and device (so its record is the grid's)."""
    config = yaml.safe_load((ROOT / "config" / "own-data.yaml").read_text())
    examples = [c for _, c in shell_commands() if c.startswith("alarmbench run --data config/own-data/")]
    assert len(examples) >= 2
    for command in examples:
        args = build_parser().parse_args(shlex.split(command)[1:])
        name, entry = user_entry(args)
        declared = config["user_datasets"][name]
        # the transfer classes matter only to the transfer experiment (`run` has no flag for them)
        unused = {"transfer_train_anomalies"} if args.experiment != "transfer" else set()
        assert entry == {k: v for k, v in declared.items() if k not in unused}, command
        grids = [g for g in config["grids"].values() if args.method in g["methods"]
                 and args.experiment in g["experiments"] and args.n_anomalies in n_values(g, name)]
        assert grids, f"{command}: no grid of config/own-data.yaml has this method, experiment and n"
        assert args.seed in config["seeds"] and args.pollution == 0, command
        assert (args.epochs, args.device) == (config["run"]["epochs"], config["run"]["device"]), command


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

    # the README's browsable report of this run (the same --configfile; finding: it reported the default)
    assert REPORT_HTML in {c for _, c in shell_commands()}
    result = subprocess.run([sys.executable, "-m", *shlex.split(REPORT_HTML)], cwd=clone, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (clone / "results" / "own-data-report" / "report.html").read_text()
    # the ROC panels of both data sets are one grid figure (alarmbench.report.roc)
    for figure in ("roc_validation_1", "results.csv"):
        assert figure in html, figure
