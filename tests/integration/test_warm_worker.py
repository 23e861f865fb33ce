"""The warm worker in a real Snakemake run (alarmbench.worker): the same tiny run with the worker
and with ALARMBENCH_WARM_WORKER=0 gives the same bytes; the worker ran the jobs (their logs carry
its usage line, their pids are its children's), and no worker process outlives the run."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from test_workflow import snakemake
from workdirs import copy_workflow

pytestmark = pytest.mark.slow

# A torch fit (devnet), one with a shared target (ae: train_target), one with scikit-learn (iforest).
CONFIG = """
seeds: [110]
datasets: [mine]
user_datasets: {mine: {path: mine.csv, label_column: label, normal: [0], anomalies: [1]}}
run: {epochs: 1, device: cpu, threads: 1}
grids: {known: {experiments: [known], n_anomalies: [20], methods: [devnet, ae, iforest]}}
"""
CELL = "results/mine/known/n20_p0/seed110"
SERVER = "alarmbench/worker/server.py"


def orphaned_workers() -> list[str]:
    """`ps` lines of warm worker processes (servers and their children: `server.py SOCKET PID`)
    whose Snakemake process (PID) is gone: none may be left once a run has ended."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.splitlines() if SERVER in line and line.split()[1][0] != "Z"]
    return [line for line in lines if not Path(f"/proc/{line.split()[-1]}").exists()]


def run_tiny(work: Path, worker: str) -> dict[str, str]:
    copy_workflow(work)
    (work / "config").mkdir()
    (work / "config" / "config.yaml").write_text(CONFIG)
    rng = __import__("numpy").random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (rng.random(300) < 0.3).astype(int)
    x[y == 1] += 2.0
    lines = ["a,b,c,d,label", *(",".join(f"{v:.6f}" for v in row) + f",{t}" for row, t in zip(x, y))]
    (work / "mine.csv").write_text("\n".join(lines) + "\n")
    snakemake(work, CELL + "/metrics.json", env={"ALARMBENCH_WARM_WORKER": worker})  # the cell: no report job
    return {str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((work / "results").rglob("*")) if p.is_file() and p.suffix in (".npz", ".pt")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, dict[str, str]]]:
    found = {}
    for worker in ("1", "0"):
        work = tmp_path_factory.mktemp(f"worker{worker}")
        found[worker] = (work, run_tiny(work, worker))
        assert orphaned_workers() == [], "a worker process outlived its run"
    return found


def usage_lines(work: Path) -> dict[str, str]:
    return {str(p.relative_to(work)): line for p in sorted((work / "logs").rglob("*.log"))
            for line in p.read_text().splitlines() if line.startswith("alarmbench worker child:")}


def test_the_worker_ran_the_jobs(runs):
    work, _ = runs["1"]
    used = usage_lines(work)
    fits = {k for k in used if k.startswith("logs/fit/")}
    assert fits == {f"logs/fit/mine/known/n20_p0/seed110/{m}.log" for m in ("devnet", "ae", "iforest")}, used
    assert any(k.startswith("logs/targets/") for k in used), used
    assert usage_lines(runs["0"][0]) == {}


def test_results_are_identical_with_and_without_the_worker(runs):
    (on, files_on), (off, files_off) = runs["1"], runs["0"]
    assert files_on == files_off and any(k.endswith("scores.npz") for k in files_on)
    assert _metrics(on) == _metrics(off)


def _metrics(work: Path) -> list[dict]:
    """The cell's metrics records less the times (and the checksum over them)."""
    records = json.loads((work / CELL / "metrics.json").read_text())
    return [{k: v for k, v in r.items() if not k.endswith("_seconds") and k != "_sha256"} for r in records]
