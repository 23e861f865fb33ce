"""A killed Snakemake leaves no job behind: SIGTERM (Snakemake waits for its running jobs), then
SIGKILL before the job is done, as `timeout -k` or an out-of-memory kill does. Before the fix the
fit job ran on for minutes as an orphan and wrote its outputs after the run was gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from test_warm_worker import orphaned_workers
from workdirs import copy_workflow

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")]

# One fit long enough to be interrupted (DevNet, 2000 epochs on breast_cancer: minutes); `ps -ww`: whole
# command lines (the job script is named at the end of a long one).
CONFIG = {"seeds": [110], "datasets": ["breast_cancer"], "run": {"epochs": 2000, "device": "cpu", "threads": 1},
          "grids": {"g": {"experiments": ["known"], "methods": ["devnet"], "n_anomalies": [10]}}}


def processes_in(work: Path) -> list[str]:
    """`ps` lines of running processes whose command line names the work dir (the job scripts do)."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if str(work) in line and line.split()[1][0] != "Z"]


def test_a_killed_snakemake_leaves_no_job_running(tmp_path):
    copy_workflow(tmp_path, config=True)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    log = open(tmp_path / "snakemake.txt", "w")
    run = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=tmp_path, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ))
    fit_log = tmp_path / "logs" / "fit" / "breast_cancer" / "known" / "n10_p0" / "seed110" / "devnet.log"
    try:
        end = time.time() + 300
        while not (fit_log.exists() and "devnet epoch" in fit_log.read_text()) and time.time() < end:
            assert run.poll() is None, (tmp_path / "snakemake.txt").read_text()[-3000:]
            time.sleep(0.5)
        job = [line for line in processes_in(tmp_path) if f"{tmp_path}/.snakemake/scripts/" in line]
        assert len(job) == 1 and "fit_score" in job[0], job  # the fit job is training
        run.send_signal(signal.SIGTERM)  # Snakemake now waits for the running job ...
        time.sleep(3)
        run.kill()  # ... and is killed before it is done
        run.wait()
        end = time.time() + 15
        while (processes_in(tmp_path) or orphaned_workers()) and time.time() < end:
            time.sleep(0.2)
        assert processes_in(tmp_path) == [] and orphaned_workers() == []  # the warm worker's child too
        fit = tmp_path / "results" / "breast_cancer" / "known" / "n10_p0" / "seed110" / "devnet"
        assert not (fit / "fit.json").exists() and not (fit / "scores.npz").exists()
    finally:  # never leave one behind, whatever failed
        run.kill()
        log.close()
        for line in processes_in(tmp_path):
            os.kill(int(line.split()[0]), signal.SIGKILL)
