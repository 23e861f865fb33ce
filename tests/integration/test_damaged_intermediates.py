"""A damaged intermediate is never read as data (issue 23): after a finished tiny run, one flipped
byte or a truncation in a feature chunk, a target, a split or a scores file fails the next job that
reads it with one line naming the file; that job deletes it (and records so, alarmbench.repairs),
and a plain rerun rebuilds it and what depends on it, ending with the numbers of the finished run
(bit for bit, CPU).

The jobs that read the file are forced (`--forcerun`): after a finished run a plain run reads
nothing, and a damaged file that nothing reads changes no result. Forcing is also the hard case
for the repair: the results downstream of the removed file are still present, so Snakemake alone
would not rebuild it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from test_stale_results import TINY, make_workdir, metrics, run
from test_workflow import planned
from workdirs import copy_finished

pytestmark = pytest.mark.slow

CELL = "results/mine/known/n20_p0/seed110"
TARGET = "results/mine/_targets/known_p0/seed110/gaa_snapshots_k4.pt"
CHUNK = f"{CELL}/features/gradients/gaa_snapshots_k4/train/chunk_000000.npy"
# r2ad2-1 reads all four kinds; a second method because the report needs two to rank
CONFIG = dict(TINY, grids={"known": {"experiments": ["known"], "n_anomalies": [20],
                                     "methods": ["r2ad2-1", "iforest"]}})


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    work = make_workdir(tmp_path_factory.mktemp("finished"), CONFIG)
    run(work)
    return work


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def failing_run(work: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    result = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                            env={**os.environ, "ALARMBENCH_CODE_ROOT": str(work / "code")})
    out = result.stdout + result.stderr
    assert result.returncode != 0, f"the run read a damaged file without failing:\n{out[-3000:]}"
    return out


@pytest.mark.parametrize("damaged, damage, forced, removed, producer", [
    (CHUNK, flip, f"{CELL}/r2ad2-1/scores.npz", [str(Path(CHUNK).parent)], "extract"),  # read by the fit
    (TARGET, flip, "extract", [TARGET], "train_target"),  # read by the extract job (and the fit)
    (f"{CELL}/split.npz", truncate, f"{CELL}/r2ad2-1/scores.npz", [f"{CELL}/split.npz", f"{CELL}/split.json"],
     "split"),
    (f"{CELL}/r2ad2-1/scores.npz", truncate, f"{CELL}/metrics.json", [f"{CELL}/r2ad2-1/scores.npz"], "fit_score"),
], ids=["feature-chunk", "target", "split", "scores"])
def test_a_damaged_file_fails_its_reader_and_a_plain_rerun_rebuilds_it(finished, tmp_path, damaged, damage, forced,
                                                                        removed, producer):
    work = copy_finished(finished, tmp_path / "work")
    before = metrics(work)
    damage(work / damaged)

    out = failing_run(work, "--forcerun", forced)
    errors = [line for line in out.splitlines() if line.startswith("alarmbench: error:")]
    assert errors and errors[0].startswith(f"alarmbench: error: {damaged}: "), out[-3000:]
    assert "removed" in errors[0] and "run the workflow again" in errors[0]
    # other jobs of the same run (keep-going) that read it find it missing, and say so in one line
    assert all(" missing (a job of this run found it damaged " in e for e in errors[1:]), errors
    assert "Traceback" not in out  # one line per job, in the console and in the job's log
    assert all(not (work / p).exists() for p in removed)

    ran = {rule for rule, _ in planned(run(work))}  # the jobs the plain rerun ran
    assert producer in ran  # rebuilt, though results are present
    pd.testing.assert_frame_equal(metrics(work), before)
    assert "Nothing to be done" in run(work, "-n")
