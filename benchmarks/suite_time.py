"""Wall time and job-time breakdown of a finished Snakemake run, from the rules' `benchmark:` files.

    python benchmarks/suite_time.py --log .snakemake/log/<run>.snakemake.log
    python benchmarks/suite_time.py --bench-dir benchmarks/out --datasets nsl_kdd_20 mammography
    python benchmarks/suite_time.py --startup [--src DIR] [--before OLD_SRC] [--worker]   # per-job start-up of a torch and a non-torch fit

Only train_target, extract and fit_score write benchmark files (workflow/rules/*.smk), one TSV per
job: benchmarks/out/{targets,extract,fit}/<dataset>/…/<stem>.tsv with Snakemake's columns (s,
h:m:s, max_rss in MiB, …, cpu_time). fetch/prepare/split/evaluate/report write none, so the job
seconds below leave them out; the suite wall time (first to last timestamp of the log) has them.

A job that ran in the warm worker (src/alarmbench/worker) has the CPU seconds and peak memory of
the worker's child, which its benchmark file does not see (it measures the job's own process, the
client that waited), on a line at the end of its log (`logs/<same path>.log`, `--log-dir`): they
are added to the job's cpu_time and max_rss here (the client's and the child's memory side by side;
the child's includes the libraries the server preloaded, shared by all its children).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

RULES = {"targets": "train_target", "extract": "extract", "fit": "fit_score"}  # benchmark sub-dir → rule
# alarmbench.worker.USAGE_PREFIX's line (read as text: this script runs without the package installed)
WORKER_LINE = re.compile(r"^alarmbench worker child: cpu ([0-9.]+) s .*peak memory ([0-9.]+) MiB")
CHEAP = ("iforest", "ae")  # fit jobs that do almost no work: their time is mostly start-up
HOST_GOAL_MIB = 8e9 / 2**20  # the 8 GB host-memory goal; Snakemake's "MB" are MiB (rss / 1024²)
# Snakemake prefixes its log records with time.asctime(): "[Tue Dec  1 17:54:39 2026]".
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d{1,2} \d\d:\d\d:\d\d \d{4})\]")
ELAPSED = re.compile(r"^Elapsed time: (\S+)")  # Snakemake 9's last line; includes building the DAG


def worker_usage(log: Path) -> tuple[float, float] | None:
    """(CPU seconds, peak MiB) of the warm worker's child from a job's log; None: ran by itself."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    found = [m for line in lines if (m := WORKER_LINE.match(line))]
    return (float(found[-1].group(1)), float(found[-1].group(2))) if found else None


def read_jobs(bench_dir: Path, log_dir: Path | None = None) -> pd.DataFrame:
    """One row per benchmark file: path, rule, dataset, stem, s, max_rss, cpu_time, worker_cpu.

    A `repeat(...)` benchmark has one line per repeat: times are summed, memory maxed.
    "NA" (a job shorter than Snakemake's first sample) becomes NaN. With `log_dir`, the warm
    worker's share of a job (module docstring) is added to its cpu_time and max_rss (worker_cpu: that share).
    """
    rows = []
    for f in sorted(bench_dir.rglob("*.tsv")):
        rel = f.relative_to(bench_dir)
        t = pd.read_csv(f, sep="\t", na_values=["NA", "-"])
        row = {"path": str(rel.with_suffix("")), "rule": RULES.get(rel.parts[0], rel.parts[0]),
               "dataset": rel.parts[1] if len(rel.parts) > 2 else "?", "stem": rel.stem,
               "s": t["s"].sum(), "max_rss": t["max_rss"].max(), "cpu_time": t["cpu_time"].sum(min_count=1),
               "worker_cpu": 0.0}
        usage = worker_usage(log_dir / rel.with_suffix(".log")) if log_dir is not None else None
        if usage is not None:
            row["worker_cpu"] = usage[0]
            row["cpu_time"] = (0 if pd.isna(row["cpu_time"]) else row["cpu_time"]) + usage[0]
            row["max_rss"] = (0 if pd.isna(row["max_rss"]) else row["max_rss"]) + usage[1]
        rows.append(row)
    return pd.DataFrame(rows, columns=["path", "rule", "dataset", "stem", "s", "max_rss", "cpu_time", "worker_cpu"])


def log_span(log: Path) -> tuple[datetime, datetime, int, str | None]:
    """First and last timestamp in a Snakemake log, how many there were, and its 'Elapsed time'."""
    lines = log.read_text(errors="replace").splitlines()
    stamps = [datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y") for line in lines if (m := STAMP.match(line))]
    if not stamps:
        raise ValueError(f"no '[<asctime>]' timestamps in {log} (a --quiet run writes none)")
    elapsed = next((m.group(1) for line in reversed(lines) if (m := ELAPSED.match(line))), None)
    return stamps[0], stamps[-1], len(stamps), elapsed


def breakdown(jobs: pd.DataFrame, by: str) -> pd.DataFrame:
    """Jobs, total/median/max seconds and share of all job seconds per value of `by`."""
    g = jobs.groupby(by)["s"].agg(jobs="count", total_s="sum", median_s="median", max_s="max")
    g["share"] = (g.total_s / jobs.s.sum()).map("{:.1%}".format)
    return g.sort_values("total_s", ascending=False).round(1)


def hms(seconds: float) -> str:
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{seconds % 60:04.1f}"


# --startup: one breast_cancer cell's data is prepared once; then each job runs as the workflow's
# script runs it (stage function under `logged`) in a fresh interpreter, and its CPU seconds are read:
# the two fits of issue 25's targets (`devnet`, 1 epoch and no shared target, is the cheapest torch
# fit; `iforest` the cheapest without torch), and the cell's split and evaluate jobs (no target:
# shown for the jobs without training). Snakemake's own script preamble (unpickling its `snakemake`
# object) is not included.
STARTUP_TARGETS = {"fit_score devnet": 1.5, "fit_score iforest": 0.6, "split": None, "evaluate": None}  # CPU s per job
_SETUP = """
import sys
from pathlib import Path
from alarmbench.stages.data import fetch_stage, prepare_stage
d = Path(sys.argv[1])
fetch_stage(dataset="breast_cancer", raw_dir=str(d / "raw"), mirror=None, manifest=str(d / "raw/m.json"))
prepare_stage(dataset="breast_cancer", manifest=str(d / "raw/m.json"), out=str(d / "prepared.npz"))
"""
_JOB = """
import sys
from pathlib import Path
from types import SimpleNamespace
from alarmbench.workflow_log import logged
d, stage = Path(sys.argv[1]), sys.argv[2]
job = SimpleNamespace(rule=stage.split()[0], wildcards={}, threads=1, resources={"gpu": 0, "_cores": 1})
run = {"epochs": 1, "device": "cpu", "precision": "tf32", "threads": 1, "options": {}, "checkpoint_every_s": 0}
with logged(str(d / f"{stage}.log"), job):
    if stage == "split":
        from alarmbench.stages.split import split_stage
        split_stage(prepared=str(d / "prepared.npz"), dataset="breast_cancer", experiment="known", seed=110,
                    n_anomalies=20, pollution=0.0, protocol={}, out_npz=str(d / "split.npz"),
                    out_json=str(d / "split.json"))
    elif stage == "evaluate":
        from alarmbench.stages.evaluate import cell_record, evaluate_stage
        ms = ["devnet", "iforest"]
        evaluate_stage(split_npz=str(d / "split.npz"), methods=ms, scores_npz=[str(d / m / "scores.npz") for m in ms],
                       info_json=[str(d / m / "fit.json") for m in ms], max_fpr=0.05, out=str(d / "metrics.json"),
                       cell=cell_record(dataset="breast_cancer", experiment="known", n_anomalies=20, pollution=0.0,
                                        seed=110, epochs=1))
    else:
        from alarmbench.stages.fit import fit_score_stage
        m = stage.split()[1]
        fit_score_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, method=m, run=run,
                        code="x", targets_dir=str(d / "targets"), features={}, work_dir=None,
                        out_scores=str(d / m / "scores.npz"), out_info=str(d / m / "fit.json"))
"""


def _child_cpu(cmd: list[str], env: dict) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


# --startup --worker: the same job script, first handed to a warm worker (alarmbench.worker) started
# for the measurement: its CPU seconds are the client's (a fresh interpreter, as above) plus the
# worker child's (the usage line the client appends to the job's log).
_CLIENT = """import sys
from types import SimpleNamespace
from alarmbench.worker.client import delegate
delegate(SimpleNamespace(log=[f"{sys.argv[1]}/{sys.argv[2]}.log"]))
"""


def measure_startup(src: Path, repeats: int, before: Path | None = None, worker: bool = False) -> None:
    """Median CPU seconds of the cheapest torch and non-torch fit jobs, against the targets; with
    `before` (e.g. an exported older revision's src), the same jobs of that code too, the two
    interleaved run by run so that both see the same load on a busy machine; with `worker`, those
    of `src` through a warm worker too."""
    sources = {"before": before, "after": src} if before else {"now": src}
    if worker:
        sources[f"{'after' if before else 'now'}, warm worker"] = src
    with tempfile.TemporaryDirectory(prefix="startup-") as d:
        server = _start_worker(src, Path(d)) if worker else None
        job = Path(d, "job.py")
        job.write_text(_CLIENT + _JOB)
        try:
            for label, path in sources.items():  # each version its own split (its own prepare/split code)
                Path(d, label).mkdir()
                subprocess.run([sys.executable, "-c", _SETUP, str(Path(d, label))], check=True, capture_output=True,
                               env={**os.environ, "PYTHONPATH": str(path)})
            # split first (the fits read it), evaluate after the fits (it reads their scores)
            for stage in ["split", *(k for k in STARTUP_TARGETS if k.startswith("fit")), "evaluate"]:
                target = STARTUP_TARGETS[stage]
                cpu: dict[str, list[float]] = {label: [] for label in sources}
                for _ in range(repeats):
                    for label, path in sources.items():
                        env = {**os.environ, "PYTHONPATH": str(path)}
                        if label.endswith("warm worker"):
                            env[server[0]] = server[1]
                            spent = _child_cpu([sys.executable, str(job), str(Path(d, label)), stage], env)
                            usage = worker_usage(Path(d, label, f"{stage}.log"))
                            if usage is None:
                                raise RuntimeError(f"{stage}: the warm worker did not run the job")
                            spent += usage[0]
                        else:
                            spent = _child_cpu([sys.executable, "-c", _JOB, str(Path(d, label)), stage], env)
                        cpu[label].append(spent)
                for label, path in sources.items():
                    med = statistics.median(cpu[label])
                    goal = "" if target is None else f"; target ≤ {target} s: {'met' if med <= target else 'MISSED'}"
                    print(f"per-job start-up, {stage} job, {label}: {med:.2f} s CPU (median of {repeats}: "
                          f"{', '.join(f'{c:.2f}' for c in cpu[label])}){goal}  [{path}]", flush=True)
        finally:
            if server is not None:
                server[2].terminate()
                server[2].wait()


def _start_worker(src: Path, d: Path) -> tuple[str, str, subprocess.Popen]:
    """A warm worker server of `src` (the environment variable that names it, its value, its process),
    once it listens (its imports are not counted: once per run, not per job)."""
    sock = d / "worker.socket"
    proc = subprocess.Popen([sys.executable, str(src / "alarmbench" / "worker" / "server.py"), str(sock),
                             str(os.getpid())], env={**os.environ, "PYTHONPATH": str(src)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    while not sock.exists():
        if proc.poll() is not None:
            raise RuntimeError("the warm worker server ended before it listened")
        time.sleep(0.1)
    return "ALARMBENCH_WORKER", f"{os.uname().nodename}:{sock}", proc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-dir", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--datasets", nargs="+", help="only jobs of these data sets (the path's data-set part)")
    ap.add_argument("--log", type=Path, help="Snakemake log of the run, for the suite wall time")
    ap.add_argument("--log-dir", type=Path, default=Path("logs"),
                    help="the jobs' log files (the warm worker's usage line; module docstring)")
    ap.add_argument("--top", type=int, default=10, help="how many of the longest jobs to list")
    ap.add_argument("--startup", action="store_true", help="measure the per-job start-up instead (see above)")
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src",
                    help="--startup: the package sources to run (e.g. an exported older revision)")
    ap.add_argument("--before", type=Path, help="--startup: also measure this older src (e.g. `git archive REV src`), "
                    "interleaved with --src")
    ap.add_argument("--worker", action="store_true",
                    help="--startup: also measure --src's jobs handed to a warm worker (alarmbench.worker)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if args.startup:
        measure_startup(args.src, args.repeats, args.before, args.worker)
        return 0

    wall = None
    if args.log:
        first, last, n, elapsed = log_span(args.log)
        wall = (last - first).total_seconds()
        print(f"suite wall time: {hms(wall)} ({wall:,.0f} s; {first:%Y-%m-%d %H:%M:%S} → {last:%Y-%m-%d %H:%M:%S}, "
              f"{n} log timestamps, 1 s resolution)" + (f"; Snakemake's 'Elapsed time' {elapsed}" if elapsed else ""))
    if not args.bench_dir.is_dir():
        print(f"no benchmark directory {args.bench_dir}")
        return 0 if wall is not None else 1
    jobs = read_jobs(args.bench_dir, args.log_dir)
    if args.datasets:
        jobs = jobs[jobs.dataset.isin(args.datasets)]
    if jobs.empty:
        print(f"no benchmark files in {args.bench_dir}" + (f" for {args.datasets}" if args.datasets else ""))
        return 0
    total = jobs.s.sum()
    print(f"{len(jobs)} benchmarked jobs in {args.bench_dir}: {total:,.0f} job seconds ({hms(total)}), "
          f"cpu_time {jobs.cpu_time.sum():,.0f} s (of which in the warm worker's children "
          f"{jobs.worker_cpu.sum():,.0f} s, {(jobs.worker_cpu > 0).sum()} jobs)" + (f"; on average {total / wall:.2f} benchmarked jobs "
                                                      "running over the wall time" if wall else ""))
    pd.set_option("display.width", 160)
    print("\nper rule:\n" + breakdown(jobs, "rule").to_string())
    print("\nper data set:\n" + breakdown(jobs, "dataset").to_string())
    fits = jobs[jobs.rule == "fit_score"]
    if not fits.empty:
        print("\nper method (fit_score jobs):\n" + breakdown(fits, "stem").to_string())
    longest = jobs.nlargest(args.top, "s")[["path", "s", "max_rss", "cpu_time"]].round(1)
    print(f"\n{args.top} longest jobs:\n" + longest.to_string(index=False))

    if jobs.max_rss.notna().any():
        peak = jobs.loc[jobs.max_rss.idxmax()]
        # Snakemake samples RSS (summed over the job's processes) periodically: a short spike can be
        # missed; and jobs running side by side add up on the host, which no single file shows.
        print(f"\npeak max_rss of any job: {peak.max_rss:,.0f} MiB ({peak.path}) = "
              f"{peak.max_rss / HOST_GOAL_MIB:.0%} of the 8 GB host-memory goal")
    cheap = fits[fits.stem.isin(CHEAP)]
    if not cheap.empty:
        startup = cheap.s.median()
        print(f"per-job start-up cost, estimate: {startup:.1f} s ({cheap.cpu_time.median():.2f} s CPU, the warm "
              f"worker's share included) = median of {len(cheap)} fit_score jobs of "
              f"{'/'.join(CHEAP)} (the cheapest job class, so an upper bound); over {len(jobs)} jobs ≈ "
              f"{startup * len(jobs):,.0f} s ({startup * len(jobs) / total:.0%} of the job seconds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
