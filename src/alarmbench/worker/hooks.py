"""The warm worker's place in a Snakemake run: started when the run's jobs start, stopped when it ends.

`register(workflow)` (workflow/rules/common.smk) adds to the run's onstart/onsuccess/onerror
hooks. Snakemake calls none of them for a dry run, `--report` or a run with nothing to do; the
server is started only for the local executor in Snakemake's main process, on Linux, unless
ALARMBENCH_WARM_WORKER=0. It learns the Snakemake process's id and ends when that process does,
so a killed run leaves no server behind; its socket sits in a private temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alarmbench.worker import ADDRESS, switched_off

SERVER = Path(__file__).with_name("server.py")  # run as a script: it imports no alarmbench module
# The run waits for the server's imports (≈ 4 s CPU) before its first job, so that every job the
# worker can take goes to it (the first ones are delegated jobs too: prepare, split); a server
# slower than this is left to finish them (jobs that find no socket yet run themselves).
READY_S = 120


class Worker:
    """One started server: its process and its socket's folder."""

    def __init__(self, parent: int | None = None, env: dict | None = None, preload: tuple[str, ...] = ()):
        self.folder = tempfile.mkdtemp(prefix="alarmbench-worker-")  # 0700: only this user connects
        self.socket = os.path.join(self.folder, "socket")
        self.process = subprocess.Popen([sys.executable, str(SERVER), self.socket, str(parent or os.getpid()), *preload],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
                                        env=env)
        # The jobs inherit this (Snakemake copies its environment into each job's); a job on
        # another host (a cluster's exported environment) does not match the host and runs itself.
        self.address = f"{os.uname().nodename}:{self.socket}"

    def wait_ready(self, timeout: float = READY_S) -> bool:
        """Wait until the server listens (its imports done); False if it ended or took too long."""
        end = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.process.poll() is not None or time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 10) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def wanted(workflow) -> bool:
    """Whether this run's jobs get a worker: a local run's main process that runs jobs."""
    plugin = getattr(workflow, "executor_plugin", None)
    return (sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and not switched_off(os.environ)
            and plugin is not None and plugin.name == "local" and workflow.is_main_process
            and not workflow.dryrun and not workflow.touch)


def register(workflow) -> None:
    """Start a worker in the run's onstart hook and stop it in onsuccess/onerror (after the hooks
    registered before; a hook registered after this one must call the previous one likewise)."""
    started: list[Worker] = []
    before = {name: getattr(workflow, f"_{name}", None) for name in ("onstart", "onsuccess", "onerror")}

    def onstart(log=None):
        if before["onstart"] is not None:
            before["onstart"](log)
        if wanted(workflow) and not started:
            started.append(Worker())
            os.environ[ADDRESS] = started[0].address
            started[0].wait_ready()

    def ending(name):
        def hook(log=None):
            if started:
                os.environ.pop(ADDRESS, None)
                started.pop().stop()
            if before[name] is not None:
                before[name](log)
        return hook

    workflow.onstart(onstart)
    workflow.onsuccess(ending("onsuccess"))
    workflow.onerror(ending("onerror"))
