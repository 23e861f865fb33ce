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


def cpu_of(cmd: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    """(user + system CPU seconds of `cmd` and its children, its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="+", default=[1000, 5000, 20000], help="about this many jobs")
    ap.add_argument("--before", metavar="REV", help="also measure this git revision (e.g. main), same run")
    ap.add_argument("--noop-at", type=int, default=5000, help="the scale whose no-op rerun is measured")
    args = ap.parse_args(argv)

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
                if "workflow_noop_cpu" in r:
                    nr = r["workflow_noop_cpu"] / r["baseline_noop_cpu"]
                    noop = f" {r['workflow_noop_cpu']:>11.1f} {r['baseline_noop_cpu']:>14.1f} {nr:>10.2f}×"
                print(f"{r['variant']:<8} {r['jobs']:>6} {r['workflow_cpu']:>13.1f} {r['baseline_cpu']:>14.1f} "
                      f"{ratio:>5.2f}× {'met' if ratio <= TARGET_RATIO else 'MISSED':>7}{noop}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
