"""A workflow job's process ends with the Snakemake process that started it.

Snakemake answers SIGTERM by waiting for its running jobs (and SIGINT by stopping them), but a
Snakemake that dies itself (SIGKILL, e.g. `timeout -k` after the SIGTERM, the OOM killer) leaves
its jobs running as orphans: they train on for minutes and then write outputs that no run is
waiting for, possibly while the next run writes the same files. On Linux a job asks the kernel
for SIGTERM when its parent exits (prctl PR_SET_PDEATHSIG); elsewhere nothing changes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def end_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Have `sig` sent to this process when its parent process exits; True where that is set up.

    If the parent dies while this is set up, `sig` is sent at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        log.warning("cannot tie this job to its parent process (prctl: %s)", os.strerror(ctypes.get_errno()))
        return False
    # The parent died between the two calls: adopted by init (or a subreaper), never signalled.
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True
