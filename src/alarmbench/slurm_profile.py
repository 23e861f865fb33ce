"""Checks of a SLURM run (profiles/slurm) before its first submission, and a watch for lost jobs.

`guard(workflow)`, called once from the workflow (rules/common.smk), registers a start hook that
Snakemake runs after the DAG is built and before any job is submitted, and only in a real run
(not a dry run, not inside a job). Under the `slurm` executor it refuses to start when

- a placeholder of the profile (YOUR_ACCOUNT, CPU_PARTITION, GPU_PARTITION) is still in it;
- the profile's `default-resources` did not arrive (Snakemake's workflow profile,
  profiles/default, replaces the whole block unless the run says `--workflow-profile none`),
  or the local profile's GPU limit did, which would run one GPU job at a time cluster-wide;
- its status command cannot work here: `sacct` without SLURM accounting (slurmdbd), or `squeue`
  with a MinJobAge so short that the plugin falls back to a broken `sacct`. The plugin drops
  the jobs it cannot query and Snakemake then waits for ever.

It then watches the run: a job Snakemake still counts as running, which the executor has
stopped tracking or which SLURM no longer knows (purged, or lost with the controller's state),
ends the run with an error naming the job, after a grace period (latency-wait + 4 min, or
$ALARMBENCH_SLURM_LOST_AFTER seconds); the run's other jobs are cancelled. The plugin itself
would poll such a job for ever.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

from snakemake_interface_common.exceptions import WorkflowError

__all__ = ["PLACEHOLDERS", "GRACE_VAR", "SlurmProfileError", "check_run", "guard", "placeholders_in"]

# What a user replaces, and where it sits in profiles/slurm.
PLACEHOLDERS = {
    "YOUR_ACCOUNT": "your SLURM account",
    "CPU_PARTITION": "the partition for jobs without a GPU",
    "GPU_PARTITION": "the partition for GPU jobs",
}
REQUIRED = ("slurm_account", "runtime", "mem_mb", "cpus_per_task")
GRACE_VAR = "ALARMBENCH_SLURM_LOST_AFTER"  # seconds a job may look lost before the run ends
_ALIVE_CHECK_S = 15  # seconds between the watch's looks at SLURM


class SlurmProfileError(WorkflowError):
    """The SLURM run is set up so that it cannot work; the message says what to change."""


def placeholders_in(text: str) -> list[str]:
    """The profile placeholders that occur in `text`, in PLACEHOLDERS order."""
    return [p for p in PLACEHOLDERS if re.search(rf"\b{p}\b", text)]


def _placeholder_error(found: list[str], where: str) -> SlurmProfileError:
    what = "; ".join(f"{p} ({PLACEHOLDERS[p]})" for p in found)
    return SlurmProfileError(
        f"placeholder{'s' if len(found) > 1 else ''} left in the SLURM profile, {where}: {what}. Replace "
        f"{'them' if len(found) > 1 else 'it'} with your cluster's (profiles/README.md). Nothing was submitted.")


def _raw(resource) -> str:
    """A default resource as the profile or command line gave it."""
    raw = getattr(resource, "raw", None)
    if raw is None:
        raw = "" if resource.is_evaluable() else resource.value
    return str(raw)


def _default_resources(workflow) -> dict[str, str]:
    resources = workflow.resource_settings.default_resources
    return {name: _raw(res) for name, res in (resources.items() if resources else ())}


def _global_resources(workflow) -> dict:
    return dict(getattr(workflow.resource_settings, "resources", None) or {})


def guard(workflow) -> None:
    """Register `check_run` as the workflow's start hook (after any hook registered before)."""
    previous = getattr(workflow, "_onstart", None)

    def onstart(log=None):
        check_run(workflow)
        if previous is not None:
            previous(log)

    workflow.onstart(onstart)


def check_run(workflow) -> None:
    """Raise SlurmProfileError for a SLURM run that would fail or hang; start the lost-job watch."""
    plugin = getattr(workflow, "executor_plugin", None)
    if plugin is None or plugin.name != "slurm":
        return
    settings = workflow.executor_settings
    defaults = _default_resources(workflow)
    found = placeholders_in(" ".join(defaults.values()))
    if found:
        holders = ", ".join(f"{k}={v}" for k, v in defaults.items() if placeholders_in(v))
        raise _placeholder_error(found, f"default-resources {holders}")
    partition_file = getattr(settings, "partition_config", None) or os.environ.get("SNAKEMAKE_SLURM_PARTITIONS")
    if partition_file:
        found = placeholders_in(Path(partition_file).read_text())
        if found:
            raise _placeholder_error(found, str(partition_file))
    elif "slurm_partition" not in defaults:
        raise SlurmProfileError(
            "the SLURM profile names no partition: it needs `slurm-partition-config: partitions.yaml` (profiles/slurm) "
            "or a slurm_partition default resource. Nothing was submitted.")
    missing = [name for name in REQUIRED if name not in defaults]
    if missing or "gpu" in _global_resources(workflow):
        raise SlurmProfileError(
            f"the SLURM profile's default-resources did not reach the jobs (missing: {', '.join(missing) or 'none'}"
            f"{'; the local one-GPU limit did' if 'gpu' in _global_resources(workflow) else ''}): Snakemake also "
            "read its workflow profile, profiles/default, whose default-resources replace the whole block. Run "
            "`snakemake --profile profiles/slurm --workflow-profile none`. Nothing was submitted.")
    _check_status_command(settings)
    grace = float(os.environ.get(GRACE_VAR) or workflow.execution_settings.latency_wait + 240)
    LostJobWatch(workflow, grace).start()


def _works(*cmd: str) -> tuple[bool, str]:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    ok = done.returncode == 0
    return ok, (done.stdout if ok else done.stderr or done.stdout).strip()


def _min_job_age() -> int | None:
    """slurm.conf's MinJobAge (seconds a finished job stays visible to squeue), None if unknown."""
    ok, out = _works("scontrol", "show", "config")
    m = re.search(r"^MinJobAge\s*=\s*(\d+)", out, re.M) if ok else None
    return int(m.group(1)) if m else None


def _check_status_command(settings) -> None:
    """The plugin's status query must work here, or it drops jobs and Snakemake waits for ever."""
    command = getattr(settings, "status_command", None) or "sacct"
    sacct_ok, sacct_says = _works("sacct", "-X", "-n", "--format=JobIdRaw", "--starttime", "now")
    if command == "squeue":
        interval = getattr(settings, "init_seconds_before_status_checks", None) or 40
        age = _min_job_age()
        # the plugin's own rule (2.8): squeue only where MinJobAge >= 3 × that interval, else sacct
        if (age is None or age < 3 * interval) and not sacct_ok:
            raise SlurmProfileError(
                f"slurm-status-command squeue needs MinJobAge >= {3 * interval} s in slurm.conf (it is {age}): "
                "finished jobs would leave squeue before the plugin looks, and its fallback, sacct, fails here "
                f"({sacct_says}). Lower "
                "slurm-init-seconds-before-status-checks or ask for a longer MinJobAge. Nothing was submitted.")
        ok, says = _works("squeue", "-h", "-o", "%i")
        if not ok:
            raise SlurmProfileError(f"squeue fails here ({says}); cannot follow jobs. Nothing was submitted.")
    elif not sacct_ok:
        raise SlurmProfileError(
            f"slurm-status-command sacct fails here ({sacct_says}): this cluster has no SLURM accounting "
            "(slurmdbd), and the plugin would lose every job. Set `slurm-status-command: squeue` in the profile "
            "(the default of profiles/slurm). Nothing was submitted.")


def _label(job) -> str:
    """A job as the log names it: rule (or group) and wildcards."""
    wildcards = getattr(job, "wildcards_dict", None) or {}
    return f"{job.name}" + (f" ({', '.join(f'{k}={v}' for k, v in wildcards.items())})" if wildcards else "")


class LostJobWatch(threading.Thread):
    """Ends the run when a job Snakemake counts as running has been lost for `grace` seconds:
    the executor no longer tracks it (its status queries failed), or SLURM no longer knows its id.
    A finished job may look so while Snakemake waits for its files (latency-wait), hence the grace."""

    def __init__(self, workflow, grace: float):
        super().__init__(name="alarmbench-slurm-lost-jobs", daemon=True)
        self.workflow, self.grace = workflow, grace
        self.since: dict = {}  # job -> (first time it looked lost, why)

    def run(self) -> None:
        while True:
            time.sleep(min(_ALIVE_CHECK_S, self.grace / 3))
            scheduler = self.workflow.scheduler
            executor = getattr(scheduler, "_executor", None) if scheduler else None
            if executor is None or not getattr(executor, "wait", True):
                return  # shut down
            try:
                lost = self.look(scheduler, executor)
            except Exception:  # the watch must never break a run by itself
                continue
            if lost:
                self.fail(scheduler, executor, lost)
                return

    def look(self, scheduler, executor) -> list:
        running = [job for job in list(scheduler.running) if not job.is_local]
        tracked = {info.job: info.external_jobid for info in list(executor.active_jobs)}
        known = self.slurm_ids(sorted({i for i in tracked.values() if i}))
        if known is None:
            return []  # SLURM did not answer: no evidence either way
        now, lost = time.time(), []
        for job in running:
            if job not in tracked:
                why = "the SLURM executor no longer tracks it (its status queries failed)"
            elif tracked[job] and tracked[job] not in known:
                why = f"SLURM no longer knows its job id {tracked[job]}"
            else:
                self.since.pop(job, None)
                continue
            first, _ = self.since.setdefault(job, (now, why))
            if now - first >= self.grace:
                lost.append((job, why, tracked.get(job)))
        for job in set(self.since) - set(running):
            del self.since[job]
        return lost

    @staticmethod
    def slurm_ids(ids: list[str]) -> set[str] | None:
        """The given job ids SLURM still knows (any state), or None when squeue fails."""
        if not ids:
            return set()
        try:
            done = subprocess.run(["squeue", "-h", "--states=all", "-o", "%i", "-j", ",".join(ids)],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0 and "Invalid job id" not in done.stderr:
            return None
        return set(done.stdout.split())

    def fail(self, scheduler, executor, lost: list) -> None:
        names = "; ".join(f"{_label(job)}: {why}" for job, why, _ in lost)
        try:
            executor.cancel_jobs(list(executor.active_jobs))
        except Exception:
            pass
        scheduler.executor_error_callback(WorkflowError(
            f"lost SLURM job{'s' if len(lost) > 1 else ''} after {self.grace:.0f} s: {names}. The run stops and its "
            "other jobs were cancelled; rerun the same command to redo what is missing."))
