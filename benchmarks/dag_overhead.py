"""`snakemake -n` CPU of the workflow against plain Snakemake with the same rules, path patterns and
job counts (issue 25's target: ≤ 1.3×), at about 1k, 5k and 20k jobs; and the no-op rerun.

    python benchmarks/dag_overhead.py                         # this checkout: 1k, 5k, 20k jobs
    python benchmarks/dag_overhead.py --before main --scales 1000 5000   # also a git revision, side by side

A scale multiplies the seeds of config/config.yaml (2 data sets, every grid) until the dry run
holds about that many jobs. The baseline is generated from the workflow itself: one plain rule per
workflow rule with the rule's own output/log/benchmark patterns (read through Snakemake's API),
and each job's inputs from a lookup table of the workflow's own dry run, so it builds the same DAG
without the workflow's Python (config checks, grid expansion, code keys, params, resources). The
workflow runs with its own profile (profiles/default), the baseline with none.

CPU is the Snakemake process's user + system time (`resource.getrusage(RUSAGE_CHILDREN)`), which a
loaded machine inflates far less than wall time. The no-op rerun: every output of the dry run is
created (one mtime for all, so no timestamp triggers either side), then `snakemake -n` again; this
reads no job metadata (none was written), so it is the DAG build over existing files.

At the end, every target of issue 25 next to its value: the dry-run ratios, the no-op ratio, the
no-op wall time of the default suite (`--finished DIR`: `snakemake -n` in the directory of a
finished default run, its job metadata read as a real rerun reads it; otherwise the default
config's outputs created as above), the per-job start-up (`--startup`: `suite_time.py --startup`)
and the default suite's wall time (`--suite-log`: the Snakemake log of a run of the README's main
command, read by `suite_time.py`). One command for all of them:

    python benchmarks/dag_overhead.py --startup --finished DIR --suite-log DIR/.snakemake/log/<run>.snakemake.log
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3

PATTERNS_PROBE = r"""
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.io import is_flagged
from snakemake.settings.types import ResourceSettings, OutputSettings
with SnakemakeApi(OutputSettings()) as api:
    wf = api.workflow(resource_settings=ResourceSettings(), snakefile=Path("Snakefile"), workdir=Path("."))
    rules = {}
    for r in wf._workflow.rules:
        rules[r.name] = {
            "output": [[str(o), is_flagged(o, "directory")] for o in r.output],
            "log": [str(x) for x in r.log], "benchmark": str(r.benchmark) if r.benchmark else None,
            "local": bool(getattr(r, "is_local", False))}
print("PATTERNS" + json.dumps(rules))
"""


LAST_WALL = [0.0]  # wall seconds of the last cpu_of command


def cpu_of(cmd: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    """(user + system CPU seconds of `cmd` and its children, its output); its wall time in LAST_WALL."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_WALL[0] = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} in {cwd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out.stdout + out.stderr


def tree(rev: str | None, dest: Path) -> Path:
    """The workflow and package of this checkout (rev None) or of a git revision, in `dest`."""
    dest.mkdir(parents=True)
    if rev is None:
        for item in ("Snakefile", "workflow", "profiles", "config", "src"):
            (shutil.copytree if (ROOT / item).is_dir() else shutil.copy)(ROOT / item, dest / item)
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "Snakefile", "workflow", "profiles",
                                  "config", "src"], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    return dest


def env_for(src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("ALARMBENCH_CODE_ROOT", None)
    return env


def write_config(work: Path, seeds: int) -> None:
    config = yaml.safe_load((work / "config" / "config.yaml").read_text())
    config["seeds"] = [1001 + i for i in range(seeds)]  # 4 digits: no other wildcard value looks like one
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))


def dry_run(work: Path, env: dict, *extra: str) -> tuple[float, str]:
    return cpu_of([sys.executable, "-m", "snakemake", "-n", "--cores", "1", *extra], work, env)


def parse_jobs(text: str) -> list[dict]:
    """Rule, wildcards, inputs and outputs of every job a dry run lists."""
    jobs, job = [], None
    for line in text.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            job = {"rule": m.group(1), "input": [], "output": [], "wildcards": {}}
            jobs.append(job)
        elif job is not None and (m := re.match(r"^\s+(input|output|wildcards): (.*)$", line)):
            key, value = m.groups()
            items = [v for v in value.split(", ") if v]
            job[key] = dict(v.split("=", 1) for v in items) if key == "wildcards" else items
    return jobs


def baseline_snakefile(patterns: dict, jobs: list[dict]) -> tuple[str, dict]:
    """A plain Snakefile with the workflow's rules and patterns, and its input lookup table."""
    lookup = {}
    lines = ["import json", "INPUTS = json.load(open('inputs.json'))", ""]
    for name, rule in patterns.items():
        if name == "all":
            continue
        lookup[name] = {json.dumps(sorted(j["wildcards"].items())): j["input"] for j in jobs if j["rule"] == name}
        outputs = ", ".join(f"directory({p!r})" if d else repr(p) for p, d in rule["output"])
        lines += [f"rule {name}:", f"    input: lambda w: INPUTS[{name!r}][json.dumps(sorted(w.items()))]",
                  f"    output: {outputs}"]
        if rule["log"]:
            lines.append(f"    log: {', '.join(map(repr, rule['log']))}")
        if rule["benchmark"]:
            lines.append(f"    benchmark: {rule['benchmark']!r}")
        if rule["local"]:
            lines.append("    localrule: True")
        lines += ["    shell: 'true'", ""]
    final = next(j["input"] for j in jobs if j["rule"] == "all")
    lines = lines[:3] + ["rule all:", f"    input: {final!r}", "    default_target: True", ""] + lines[3:]
    return "\n".join(lines), lookup


def prepared_labels(path: Path, dataset: str) -> None:
    """A prepared table holding only what the DAG build reads of it: each row's class and whether
    it is an official test row, as the registry documents them."""
    import numpy as np

    from alarmbench.data.registry import REGISTRY

    shape = REGISTRY[dataset].shape
    test = dict(shape.test_class_rows or {})
    labels = [c for c, n in shape.class_rows.items() for _ in range(n)]
    is_test = [i < test.get(c, 0) for c, n in shape.class_rows.items() for i in range(n)]
    with path.open("wb") as f:
        np.savez(f, labels=np.array(labels), is_test=np.array(is_test, bool))


def create_outputs(work: Path, jobs: list[dict]) -> None:
    """Every output of the dry run, with one mtime (a finished run, as far as files go)."""
    made = []
    for job in jobs:
        for out in job["output"]:
            path = work / out
            path.parent.mkdir(parents=True, exist_ok=True)
            if not Path(out).suffix and job["rule"] in ("extract", "report"):  # directory outputs
                path.mkdir(exist_ok=True)
            elif path.name == "manifest.json":  # the workflow reads a fetched manifest's file hashes
                path.write_text('{"files": {}}')
            elif job["rule"] == "prepare":  # the pollution check reads a prepared table's labels
                prepared_labels(path, job["wildcards"]["dataset"])
            else:
                path.touch()
            made.append(path)
    stamp = 1_700_000_000
    for path in made:
        os.utime(path, (stamp, stamp))


def job_count(text: str) -> int:
    return int(re.search(r"^total\s+(\d+)", text, re.M).group(1))


def measure(label: str, code: Path, scratch: Path, seeds: int, patterns: dict | None, noop: bool,
            jobs: list[dict] | None = None) -> tuple[dict, list[dict]]:
    """Dry-run CPU of the workflow at `code` and of its baseline; with noop also the no-op reruns."""
    work = scratch / f"{label}-{seeds}"
    shutil.copytree(code, work, ignore=shutil.ignore_patterns("src"))
    write_config(work, seeds)
    env = env_for(code / "src")
    cpu, text = dry_run(work, env, "--forceall")
    row = {"variant": label, "jobs": job_count(text), "workflow_cpu": cpu}
    jobs = jobs or parse_jobs(text)
    if patterns is None:
        if noop:
            create_outputs(work, jobs)
            row["workflow_noop_cpu"], _ = dry_run(work, env)
    else:
        base = scratch / f"baseline-{seeds}"
        base.mkdir()
        snakefile, lookup = baseline_snakefile(patterns, jobs)
        (base / "Snakefile").write_text(snakefile)
        (base / "inputs.json").write_text(json.dumps(lookup))
        bcpu, btext = dry_run(base, env, "--forceall", "--workflow-profile", "none")
        row.update(baseline_jobs=job_count(btext), baseline_cpu=bcpu)
        if noop:
            create_outputs(work, jobs)
            create_outputs(base, jobs)
            row["workflow_noop_cpu"], wtext = dry_run(work, env)
            row["baseline_noop_cpu"], btext = dry_run(base, env, "--workflow-profile", "none")
            row["noop_jobs"] = (wtext.count("Nothing to be done"), btext.count("Nothing to be done"))
    return row, jobs


NOOP_WALL_TARGET = 3.0  # s: a no-op rerun of the default suite
SUITE_TARGET = 6 * 60  # s: the default suite's wall time


def default_noop(code: Path, scratch: Path, finished: Path | None) -> tuple[float, float, str]:
    """(wall s, CPU s, what was measured) of `snakemake -n` over a finished default suite."""
    if finished is not None:
        cpu, text = dry_run(finished, env_for(code / "src"))
        what = f"in {finished}"
    else:
        work = scratch / f"default-noop-{code.name}"  # one per variant: --before measures both
        shutil.copytree(code, work, ignore=shutil.ignore_patterns("src"))
        _, text = dry_run(work, env_for(code / "src"), "--forceall")
        create_outputs(work, parse_jobs(text))
        cpu, text = dry_run(work, env_for(code / "src"))
        what = "default config, outputs created (no job metadata)"
    if "Nothing to be done" not in text:
        raise RuntimeError(f"the no-op rerun ({what}) would run jobs:\n{text[-2000:]}")
    return LAST_WALL[0], cpu, what


def startup_lines(src: Path) -> list[tuple[str, str, str, str]]:
    """suite_time.py --startup's rows: (what, value, goal, met/MISSED)."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite_time.py"), "--startup", "--src", str(src)],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        if m := re.match(r"per-job start-up, (.+?): ([0-9.]+ s CPU).*target (≤ [0-9.]+ s): (\w+)", line):
            rows.append((f"per-job start-up, {m.group(1)}", m.group(2), m.group(3), m.group(4)))
    return rows


def suite_line(log: Path) -> tuple[str, str, str, str]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from suite_time import hms, log_span

    first, last, _, _ = log_span(log)
    wall = (last - first).total_seconds()
    return ("default suite (README's main command), wall", f"{hms(wall)} ({log.name})", "≤ 0:06:00",
            "met" if wall <= SUITE_TARGET else "MISSED")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[1000, 5000, 20000], help="about this many jobs")
    ap.add_argument("--before", metavar="REV", help="also measure this git revision (e.g. main), same run")
    ap.add_argument("--noop-at", type=int, default=5000, help="the scale whose no-op rerun is measured")
    ap.add_argument("--finished", type=Path, metavar="DIR", help="a finished run of the default suite: its no-op")
    ap.add_argument("--startup", action="store_true", help="also run suite_time.py --startup (each variant)")
    ap.add_argument("--suite-log", type=Path, metavar="LOG", help="the Snakemake log of a default-suite run")
    args = ap.parse_args(argv)

    targets: list[tuple[str, str, str, str]] = []  # (what, value, goal, met), in the order printed
    with tempfile.TemporaryDirectory(prefix="dag_overhead-") as tmp:
        scratch = Path(tmp)
        after = tree(None, scratch / "code-after")
        before = tree(args.before, scratch / "code-before") if args.before else None
        probe = subprocess.run([sys.executable, "-c", PATTERNS_PROBE], cwd=after, env=env_for(after / "src"),
                               capture_output=True, text=True, check=True).stdout
        patterns = json.loads(probe[probe.index("PATTERNS") + len("PATTERNS"):])
        _, text = dry_run(after, env_for(after / "src"), "--forceall")  # the default config: jobs per seed
        per_seed = job_count(text) / len(yaml.safe_load((after / "config" / "config.yaml").read_text())["seeds"])
        print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start "
              f"(CPU seconds are the Snakemake processes' own; the target ratio is ≤ {TARGET_RATIO}×)")
        print(f"{'variant':<8} {'jobs':>6} {'dry-run CPU s':>13} {'baseline CPU s':>14} {'ratio':>6} {'target':>7}"
              f" {'no-op CPU s':>11} {'baseline no-op':>14} {'no-op ratio':>11}")
        for scale in args.scales:
            seeds = max(1, round(scale / per_seed))
            noop = scale == args.noop_at
            row, jobs = measure("after", after, scratch, seeds, patterns, noop)
            rows = [row]
            if before is not None:  # the same DAG: the after-run's jobs and baseline serve it
                rows.append(measure("before", before, scratch, seeds, None, noop, jobs)[0])
                rows[-1].update({k: v for k, v in row.items() if k.startswith("baseline")})
            for r in rows:
                if r["baseline_jobs"] != r["jobs"]:
                    raise RuntimeError(f"baseline built {r['baseline_jobs']} jobs, the workflow {r['jobs']}")
                ratio = r["workflow_cpu"] / r["baseline_cpu"]
                noop = ""
                label = f" [{r['variant']}]" if before is not None else ""
                targets.append((f"dry run at {r['jobs']:,} jobs, CPU vs plain Snakemake{label}", f"{ratio:.2f}×",
                                f"≤ {TARGET_RATIO}×", "met" if ratio <= TARGET_RATIO else "MISSED"))
                if "workflow_noop_cpu" in r:
                    nr = r["workflow_noop_cpu"] / r["baseline_noop_cpu"]
                    noop = f" {r['workflow_noop_cpu']:>11.1f} {r['baseline_noop_cpu']:>14.1f} {nr:>10.2f}×"
                    targets.append((f"no-op rerun at {r['jobs']:,} jobs, CPU vs plain Snakemake{label}",
                                    f"{nr:.2f}×", f"≤ {TARGET_RATIO}×", "met" if nr <= TARGET_RATIO else "MISSED"))
                print(f"{r['variant']:<8} {r['jobs']:>6} {r['workflow_cpu']:>13.1f} {r['baseline_cpu']:>14.1f} "
                      f"{ratio:>5.2f}× {'met' if ratio <= TARGET_RATIO else 'MISSED':>7}{noop}", flush=True)
        for label, code in [("after", after), *([("before", before)] if before is not None else [])]:
            wall, cpu, what = default_noop(code, scratch, args.finished if label == "after" else None)
            tag = f" [{label}]" if before is not None else ""
            targets.append((f"no-op rerun of the default suite, wall{tag}", f"{wall:.1f} s ({cpu:.1f} s CPU; {what})",
                            f"≤ {NOOP_WALL_TARGET:.0f} s", "met" if wall <= NOOP_WALL_TARGET else "MISSED"))
            if args.startup:
                targets += [(f"{w}{tag}", v, g, m) for w, v, g, m in startup_lines(code / "src")]
    if args.suite_log:
        targets.append(suite_line(args.suite_log))
    width = max(len(t[0]) for t in targets)
    vwidth = max(len(t[1]) for t in targets)
    print(f"\nissue 25's targets (load average now {os.getloadavg()[0]:.1f}; wall times on a loaded machine "
          f"overstate an idle one's):")
    for what, value, goal, met in targets:
        print(f"  {what:<{width}}  {value:<{vwidth}}  {goal:<9}  {met}")
    if not args.suite_log:
        print("  default suite wall: not measured here (--suite-log LOG of a run of the README's main command)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
