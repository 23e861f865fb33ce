"""The warm worker's share of a job counts where the project reads job costs: the client's usage
line (alarmbench.worker.client) is added by benchmarks/suite_time.py to the job's benchmark row."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

from alarmbench.worker import client

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("suite_time", ROOT / "benchmarks" / "suite_time.py")
suite_time = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(suite_time)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _job(tmp_path: Path, name: str, worker: dict | None) -> None:
    bench = tmp_path / "benchmarks" / "fit" / "d" / "known" / f"{name}.tsv"
    log = tmp_path / "logs" / "fit" / "d" / "known" / f"{name}.log"
    for f in (bench, log):
        f.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text(HEADER + "2.5\t0:00:02\t30.0\t0\t0\t0\t0\t0\t0\t0.20\n")
    log.write_text("2026-12-07 INFO alarmbench.workflow_log: done after 0.30 s, peak memory 280 MiB\n")
    if worker:
        client._record_usage(SimpleNamespace(log=[str(log)]), worker)  # noqa: SLF001 (the line a job writes)


def test_the_worker_childs_cpu_and_memory_join_the_jobs_row(tmp_path):
    _job(tmp_path, "devnet", {"utime": 0.4, "stime": 0.1, "maxrss_kib": 300 * 1024, "pid": 7})
    _job(tmp_path, "iforest", None)  # ran in its own process: its benchmark row as it is
    jobs = suite_time.read_jobs(tmp_path / "benchmarks", tmp_path / "logs").set_index("stem")
    assert jobs.loc["devnet", "cpu_time"] == 0.2 + 0.5 and jobs.loc["devnet", "worker_cpu"] == 0.5
    assert jobs.loc["devnet", "max_rss"] == 30.0 + 300
    assert jobs.loc["iforest", "cpu_time"] == 0.2 and jobs.loc["iforest", "max_rss"] == 30.0
    assert jobs.loc["iforest", "worker_cpu"] == 0
