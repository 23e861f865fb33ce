"""A job process ends when the process that started it dies (jobprocess.end_with_parent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")

# A parent that starts a child (tied to it or not), prints the child's pid and waits to be killed.
PARENT = """
import subprocess, sys
tie = "from alarmbench.jobprocess import end_with_parent; end_with_parent(); " if sys.argv[1] == "tied" else ""
child = subprocess.Popen([sys.executable, "-c", tie + "print('ready', flush=True); import time; time.sleep(120)"],
                         stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "ready\\n"
print(child.pid, flush=True)
import time; time.sleep(120)
"""


def alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied-control"])
def test_a_tied_child_ends_when_its_parent_is_killed(tied: bool) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, "tied" if tied else "free"], stdout=subprocess.PIPE,
                              text=True, env=os.environ)
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.kill()  # as SIGKILL ends a Snakemake: no chance to stop its jobs
        parent.wait()
        end = time.time() + 10
        while alive(child) and time.time() < end:
            time.sleep(0.1)
        assert alive(child) != tied  # the control shows an untied child lives on: the test can fail
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
