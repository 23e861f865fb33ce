"""benchmarks/gpu_check.sh --plan, as CI runs it through this suite: every command the GPU check
would run exists and parses, and its steps fit in 8 minutes; a missing or changed benchmark fails
the plan, naming it. The summary reads what the steps wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "benchmarks/gpu_check.sh"


def plan(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    return subprocess.run(["bash", str(root / SCRIPT), "--plan", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.slow  # its workflow step starts Snakemake (a dry run)
def test_gpu_check_plan_passes_here():
    result = plan(ROOT)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "plan: ready" in out and "MISSING" not in out
    for step in ("pytest", "alarm-tf32", "alarm-bf16", "gradients", "workflow"):
        assert f"\n{step} " in out, step
    assert "a fit of r2ad2, devnet, a3 and ae, each claiming gpu=1" in out
    total = int(out.split("worst case with 5s kill grace per step: ")[1].split("s")[0])
    assert total < 480


def test_gpu_check_plan_names_what_is_missing(tmp_path):
    repo = tmp_path / "repo"
    for part in ("benchmarks", "src", "config"):
        shutil.copytree(ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__", "out"))
    (repo / "benchmarks" / "gradients.py").unlink()
    bench = repo / "benchmarks" / "alarm_training.py"
    bench.write_text(bench.read_text().replace('add_argument("--json"', 'add_argument("--json-out"'))
    result = plan(repo, "--only", "alarm-bf16,gradients")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "MISSING: benchmarks/gradients.py (step gradients)" in out
    assert "MISSING: benchmarks/alarm_training.py does not accept --json (step alarm-bf16)" in out
    assert "plan: 2 problem(s)" in out


def test_summary_reports_each_step_and_the_bf16_target(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "steps.tsv").write_text("step\tbudget_s\twall_s\trc\npytest\t110\t50.2\t0\nalarm-bf16\t35\t12.0\t0\n"
                                        "workflow\t200\t200.1\t124\n")
    (tmp_path / "logs" / "pytest.log").write_text("FAILED tests/gpu/test_x.py::test_y - boom\n1 failed, 35 passed in 50.0s\n")
    figures = {"samples_per_s": 1e5, "tflops": 200.0, "of_peak_bf16": 200 / 989.4, "of_peak_tf32": 200 / 494.7,
               "peak_bf16": 989.4, "device_name": "NVIDIA H200", "ms_per_step": {"a": 1.0, "b": 2.0, "c": 3.0},
               "dataset": "nsl_kdd_20", "n_params": 12012, "k": 3, "batch": 512, "steps": 200}
    (tmp_path / "alarm-bf16.json").write_text(json.dumps(figures))
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check_summary.py"), str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "summary.md").read_text()
    assert "| workflow | 200 | 200.1 | **TIMEOUT** |" in text and "| pytest | 110 | 50.2 | ok |" in text
    assert "| total | 345 | 262.3 | under 8 min |" in text
    assert "1 failed, 35 passed in 50.0s" in text and "FAILED tests/gpu/test_x.py::test_y" in text
    assert "| bf16 | 100,000 | 200.0 | 20.2% | 40.4% |" in text
    assert "target ≥ 25% of the bf16 peak (989 TFLOP/s, NVIDIA H200): **not met** (20.2%)" in text
    assert "| r2ad2 | — | — | 0.88 ± 0.02 | 0.90 ± 0.03 | (not finished) | |" in text


def test_check_plan_wants_every_fit_on_the_gpu(tmp_path):
    dry = tmp_path / "dry.txt"
    dry.write_text("rule fit_score:\n    wildcards: dataset=d, method=r2ad2\n    resources: tmpdir=/t, gpu=1, downloads=0\n"
                   "rule fit_score:\n    wildcards: dataset=d, method=ae\n    resources: tmpdir=/t, gpu=0, downloads=0\n")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check_summary.py"), "--check-plan", str(dry),
                             "--methods", "r2ad2,ae,devnet"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "no fit_score job for devnet" in result.stdout and "fit_score ae claims gpu=0, expected gpu=1" in result.stdout
