"""The Snakemake workflow end to end on a tiny config, and what reruns after which change.

Runs in a temporary copy of the workflow. Dry-run job lists prove the rerun rules: nothing after a
complete run, only one method's jobs after changing that method's option, only one data set's
jobs after editing its loader (in a copy of the finished run: a test that edits it has its own).
Marked slow: a few minutes on a 2-core CPU. DVC: tests/integration/test_dvc.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workdirs import copy_finished, copy_workflow

pytestmark = pytest.mark.slow

TINY = {
    "seeds": [110],
    "datasets": ["breast_cancer", "mine"],
    "user_datasets": {"mine": {"path": "mine.csv", "label_column": "label", "normal": [0], "anomalies": [1]}},
    "run": {"epochs": 1, "device": "cpu", "threads": 1},
    "grids": {
        "known": {"experiments": ["known"], "n_anomalies": [20], "methods": ["r2ad2-1", "ae", "a3", "devnet"]},
        "pollution": {"experiments": ["known"], "n_anomalies": [20], "pollution": [0.0, 0.1], "methods": ["devnet"]},
    },
}


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> str:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout + result.stderr


def planned(output: str, field: str = "wildcards") -> list[tuple[str, str]]:
    """(rule, that job's `field:` line, e.g. its wildcards or resources) of every job a dry run
    would execute."""
    jobs, rule = [], None
    for line in output.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            rule = m.group(1)
            jobs.append((rule, ""))
        elif rule and line.strip().startswith(f"{field}:"):
            jobs[-1] = (rule, line.strip()[len(field) + 1:].strip())
    return jobs


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("workflow")
    copy_workflow(work, config=True, code=True)  # code keys read from this copy: a test can edit a loader
    rng = __import__("numpy").random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (rng.random(400) < 0.25).astype(int)
    x[y == 1] += 2.5
    pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]).assign(label=y).to_csv(work / "mine.csv", index=False)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(TINY))
    snakemake(work, env={"ALARMBENCH_CODE_ROOT": str(work / "code")})
    return work


@pytest.fixture(scope="module")
def dry_run(workflow) -> str:
    """What a dry run of the finished workflow prints (two tests read it: one Snakemake start)."""
    return snakemake(workflow, "-n", env={"ALARMBENCH_CODE_ROOT": str(workflow / "code")})


def own_copy(workflow: Path, tmp_path: Path) -> tuple[Path, dict]:
    """A copy of the finished run for a test that edits it, and the environment that keys its code."""
    work = copy_finished(workflow, tmp_path / "work")
    return work, {"ALARMBENCH_CODE_ROOT": str(work / "code")}


def test_complete_run_writes_every_report(workflow):
    reports = workflow / "reports"
    for name in ("results.csv", "roc.csv", "metrics.json", "report.tex", "paper_comparison.csv", "summary.csv"):
        assert (reports / name).stat().st_size > 0, name
    results = pd.read_csv(reports / "results.csv")
    assert set(results["dataset"]) == {"breast_cancer", "mine"}
    assert set(results["method"]) == {"r2ad2-1", "ae", "a3", "devnet"}
    assert set(results["pollution"]) == {0.0, 0.1}
    auc = results[results["metric"] == "test_auc"]
    assert auc["value"].between(0, 1).all() and len(auc) == 2 * 4 + 2  # known cells + the polluted devnet cells
    assert any((reports / "figures").glob("*.png")) and any((reports / "tables").glob("*.tex"))
    # shared targets: one AE per (data set, group, pollution, seed), read by both ae and a3
    assert len(list((workflow / "results").glob("*/_targets/known_p0/seed110/ae.pt"))) == 2


def test_records_time_the_jobs_each_method_read(workflow, dry_run):
    """total_seconds = the fit + the train_target and extract jobs it read (their own records), and
    the validation ROC is named so; the dry run prints the cost estimate of every modelled method."""
    results = pd.read_csv(workflow / "reports" / "results.csv")
    known = results[results["pollution"] == 0.0].pivot_table(index=["dataset", "method"], columns="metric",
                                                              values="value")
    parts = known["fit_seconds"] + known["target_seconds"] + known["extract_seconds"]
    assert (known["total_seconds"] - parts).abs().max() < 5e-3
    assert (known.xs("ae", level="method")["target_seconds"] > 0).all()  # its AE trains in train_target
    assert (known.xs("a3", level="method")["extract_seconds"] > 0).all()
    assert (known.xs("devnet", level="method")["target_seconds"] == 0).all()
    records = __import__("json").loads(next((workflow / "results").glob("*/known/*/seed110/metrics.json")).read_text())
    assert all("roc_validation" in r and "roc" not in r for r in records)
    assert "cost estimate" in dry_run
    for dataset in ("breast_cancer", "mine"):
        for method in ("r2ad2-1", "ae", "a3", "devnet"):
            assert re.search(rf"^  {dataset} {method} x\d+: .*steps", dry_run, re.M), (dataset, method)


def test_noop_rerun_does_nothing(dry_run):
    assert "Nothing to be done" in dry_run


def test_jobs_claim_the_gpu_only_where_they_run_on_one(workflow):
    """run.device auto: training jobs claim the local profile's single GPU only where CUDA is
    available (on a CPU-only machine a claim serialised every job); only fetch takes a download slot."""
    from alarmbench.device import gpu_claim

    config = yaml.safe_load((workflow / "config" / "config.yaml").read_text())
    config["run"]["device"] = "auto"
    auto = workflow / "config" / "auto.yaml"
    auto.write_text(yaml.safe_dump(config))
    out = snakemake(workflow, "-n", "--forceall", "--configfile", str(auto),
                    env={"ALARMBENCH_CODE_ROOT": str(workflow / "code")})
    claims = {}
    for rule, resources in planned(out, "resources"):
        # a resource the rule does not claim is not listed (profiles/default sets no default-resources): 0
        gpu, downloads = (int(m.group(1)) if (m := re.search(rf"\b{key}=(\d+)", resources)) else 0
                          for key in ("gpu", "downloads"))
        claims.setdefault(rule, set()).add((gpu, downloads))
    gpu = gpu_claim("auto")
    for r in ("train_target", "extract", "fit_score"):
        assert claims[r] == {(gpu, 0)}, r
    assert claims["fetch"] == {(0, 1)}
    assert all(c == {(0, 0)} for r, c in claims.items() if r not in ("train_target", "extract", "fit_score", "fetch"))


def test_changing_one_method_option_reruns_only_that_method(workflow):
    config = yaml.safe_load((workflow / "config" / "config.yaml").read_text())
    config["method_options"] = {"devnet": {"devnet_fixed_reference": False}}
    changed = workflow / "config" / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    jobs = planned(snakemake(workflow, "-n", "--configfile", str(changed),
                             env={"ALARMBENCH_CODE_ROOT": str(workflow / "code")}))
    fits = [w for rule, w in jobs if rule == "fit_score"]
    assert fits and all("method=devnet" in w for w in fits)
    assert len(fits) == 4  # two data sets × (p = 0, p = 0.1)
    assert {rule for rule, _ in jobs} == {"fit_score", "evaluate", "aggregate", "report", "all"}


def test_job_logs_say_what_ran(workflow):
    """The scripts' wiring (issue 16): the rule and wildcards, device, shapes, each epoch's loss
    (run.epochs = 1), stage timings; no progress bar text."""
    cell = "breast_cancer/known/n20_p0/seed110"
    fit = (workflow / "logs" / "fit" / cell / "a3.log").read_text()
    assert "job: rule fit_score [dataset=breast_cancer, experiment=known, n=20, p=0, seed=110, method=a3]" in fit
    assert "device cpu, precision tf32, torch threads 1, epochs 1, checkpoint every 300 s" in fit
    assert re.search(r"split: train \d+×30 .*features activations: train \d+×\d+ float16", fit, re.S)
    assert re.search(r"a3 epoch 1/1: loss \S+, \d+\.\d\d s", fit) and re.search(r"fit a3: \d+\.\d\d s", fit)
    target = next((workflow / "logs" / "targets" / "breast_cancer").rglob("gaa_snapshots_k4.log")).read_text()
    assert re.search(r"target/gaa epoch 1/1: loss", target) and "checkpoint " in target  # the chain's part ends
    for log in (workflow / "logs").rglob("*.log"):
        assert "\r" not in log.read_text() and "it/s]" not in log.read_text(), log


def test_editing_a_loader_reruns_only_its_data_set(workflow, tmp_path):
    work, env = own_copy(workflow, tmp_path)
    loader = work / "code" / "data" / "loaders" / "user.py"
    loader.write_text(loader.read_text() + "\n# an edit\n")
    jobs = planned(snakemake(work, "-n", env=env))
    prepares = [w for rule, w in jobs if rule == "prepare"]
    assert prepares == ["dataset=mine"]
    assert all("dataset=mine" in w for rule, w in jobs if rule in ("split", "fit_score", "train_target"))


def test_timestamps_alone_trigger_nothing(workflow, tmp_path):
    """What `dvc checkout` and `dvc pull` do to raw data: new mtimes, same content."""
    work, env = own_copy(workflow, tmp_path)
    raw = [path for path in (work / "data" / "raw").rglob("*") if path.is_file()]
    assert raw
    for path in raw:
        os.utime(path)
    assert "Nothing to be done" in snakemake(work, "-n", env=env)


def test_html_report_and_slurm_profile(workflow):
    env = {"ALARMBENCH_CODE_ROOT": str(workflow / "code")}
    snakemake(workflow, "--report", "report.html", env=env)
    html = (workflow / "report.html").read_text(errors="replace")
    assert len(html) > 100_000 and "Results" in html and "Figures" in html
    # the SLURM profile plans the same workflow (dry run; needs snakemake-executor-plugin-slurm)
    assert "Nothing to be done" in snakemake(workflow, "--profile", "profiles/slurm", "-n", env=env)
