"""profiles/slurm planned without a cluster (dry runs): what every job asks SLURM for.

A job asks for a GPU exactly where its rule claims one (run.device; CPU-only methods never), and
the plugin's partition choice (partitions.yaml) then sends it to the GPU partition; every job
carries the profile's account and wall time. The README's SLURM section is the commands that
tests/integration/test_slurm.py runs on a real cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from test_slurm import ACCOUNT, CPU_PARTITION, FILL, GPU_PARTITION, PROFILE, RUN, TINY
from test_workflow import planned

from alarmbench.slurm_profile import PLACEHOLDERS, placeholders_in

ROOT = Path(__file__).resolve().parents[2]
DEEP = ["r2ad2", "ae"]  # train targets, extract features (r2ad2), fit on the device
CPU_ONLY = ["iforest"]


def dry_run(work: Path, device: str) -> list[tuple[str, dict]]:
    """(rule, {wildcards, resources}) of every job the filled-in profile plans for run.device."""
    if not (work / "profiles").exists():
        shutil.copytree(ROOT / "profiles" / "slurm", work / "profiles" / "slurm")
        subprocess.run(FILL, shell=True, cwd=work, check=True)
    config = dict(TINY, run={"epochs": 1, "device": device})
    config["grids"] = {"known": {"experiments": ["known"], "n_anomalies": [10], "methods": DEEP + CPU_ONLY}}
    (work / f"{device}.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", *RUN.split()[1:], "-s", str(ROOT / "Snakefile"),
           "--configfile", f"{device}.yaml", "-n"]
    env = {k: v for k, v in os.environ.items() if k != "ALARMBENCH_DEVICE"}
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout + done.stderr
    jobs = []
    for (rule, wildcards), (_, resources) in zip(planned(out, "wildcards"), planned(out, "resources"), strict=True):
        res = dict(kv.split("=", 1) for kv in resources.split(", "))
        wc = dict(kv.split("=", 1) for kv in wildcards.split(", ")) if wildcards else {}
        jobs.append((rule, {"wildcards": wc, "resources": res}))
    return jobs


def partition_for(work: Path, resources: dict) -> str | None:
    """The partition the plugin (2.8) chooses for a job with these resources from partitions.yaml."""
    from snakemake_executor_plugin_slurm.partitions import read_partition_file

    typed = {k: int(v) if v.isdigit() else v for k, v in resources.items()}
    job = SimpleNamespace(resources=typed, threads=int(typed.get("cpus_per_task", 1)), name="job")
    scored = [(p.score_job_fit(job), p.name) for p in read_partition_file(work / "profiles/slurm/partitions.yaml")]
    scored = [(score, name) for score, name in scored if score is not None]
    return max(scored)[1] if scored else None


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("slurm-profile")


def expected_runtime(rule: str) -> str:
    return str(PROFILE["set-resources"].get(rule, {}).get("runtime", PROFILE["default-resources"]["runtime"]))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_jobs_ask_for_a_gpu_exactly_where_they_run_on_one(work, device):
    jobs = dry_run(work, device)
    rules = {rule for rule, _ in jobs}
    assert {"train_target", "extract", "fit_score", "split", "evaluate"} <= rules
    for rule, job in jobs:
        res, method = job["resources"], job["wildcards"].get("method")
        assert res["slurm_account"] == ACCOUNT and res["runtime"] == expected_runtime(rule), (rule, res)
        assert "cpus_per_task" in res and int(res["mem_mb"]) >= 1000 and "gres" not in res, (rule, res)
        on_gpu = device == "cuda" and (rule in ("train_target", "extract") or rule == "fit_score" and method in DEEP)
        assert res["gpu"] == str(int(on_gpu)), (device, rule, method, res)
        assert partition_for(work, res) == (GPU_PARTITION if on_gpu else CPU_PARTITION), (device, rule, method)
    fits = {job["wildcards"]["method"]: job["resources"]["gpu"] for rule, job in jobs if rule == "fit_score"}
    assert fits == {m: str(int(device == "cuda")) for m in DEEP} | {m: "0" for m in CPU_ONLY}


def test_the_readme_slurm_section_is_the_commands_the_cluster_test_runs():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("- **SLURM**"):]
    section = section[:section.index("\n- ")]
    for command in (FILL, RUN):
        assert command in section, command
    assert "GPU" in section


def test_filling_in_the_placeholders_changes_values_and_no_comment(tmp_path):
    """The README's sed replaces each placeholder where it is a value or a key, and nowhere else."""
    shutil.copytree(ROOT / "profiles" / "slurm", tmp_path / "profiles" / "slurm")
    subprocess.run(FILL, shell=True, cwd=tmp_path, check=True)
    for name in ("config.yaml", "partitions.yaml"):
        before = (ROOT / "profiles" / "slurm" / name).read_text().splitlines()
        after = (tmp_path / "profiles" / "slurm" / name).read_text().splitlines()
        comments = [(b.partition("#")[2], a.partition("#")[2]) for b, a in zip(before, after, strict=True)]
        assert all(b == a for b, a in comments), [c for c in comments if c[0] != c[1]]
        changed = [(b, a) for b, a in zip(before, after) if b != a]
        assert len(changed) == {"config.yaml": 1, "partitions.yaml": 2}[name], changed
        assert not placeholders_in("\n".join(after)), name
    filled = yaml.safe_load((tmp_path / "profiles" / "slurm" / "partitions.yaml").read_text())
    assert set(filled["partitions"]) == {CPU_PARTITION, GPU_PARTITION}


def test_the_profile_holds_exactly_the_placeholders_the_check_knows():
    text = "".join((ROOT / "profiles" / "slurm" / name).read_text() for name in ("config.yaml", "partitions.yaml"))
    assert placeholders_in(text) == list(PLACEHOLDERS)
    assert set(re.findall(r"\b[A-Z]+_[A-Z_]+\b", text)) <= set(PLACEHOLDERS)
