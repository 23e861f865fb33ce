"""The first line of a job script that imports torch or scikit-learn: `delegate(snakemake)`.

With a warm worker for this run on this host (`ALARMBENCH_WORKER`, set by `hooks.start`), the job
runs in a child of that worker and this process only waits for it: it forwards SIGINT/SIGTERM to
it, ends with its exit status, and appends the child's CPU seconds and peak memory to the job's log
(a line starting with `USAGE_PREFIX`; Snakemake's benchmark files measure this process only,
benchmarks/suite_time.py adds the line's numbers). Otherwise, or when the worker cannot take the
job, `delegate` returns and the script runs here as before. Cheap on purpose: standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from alarmbench.worker import ADDRESS, USAGE_PREFIX, switched_off


def worker_address(environ=os.environ) -> str | None:
    """The socket of this run's worker, if one is named for this host and not switched off."""
    value = environ.get(ADDRESS)
    if not value or switched_off(environ):
        return None
    host, _, path = value.partition(":")
    return path if host == os.uname().nodename and path else None


def delegate(job=None) -> None:
    """Run this script in the worker and exit with its status; return where it cannot (see above).
    `job`: the script's `snakemake` object (its log file gets the usage line)."""
    path = worker_address()
    if path is None:
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.connect(path)
        # The child's environment is this one less the worker's address: there the script runs itself.
        env = {k: v for k, v in os.environ.items() if k != ADDRESS}
        request = {"argv": sys.argv, "cwd": os.getcwd(), "env": env, "executable": sys.executable}
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        socket.send_fds(sock, [json.dumps(request).encode()], [0, 1, 2])
        started = sock.recv(4096)
    except OSError:  # no server (yet, or any more), or it could not take the job: nothing ran
        sock.close()
        return
    if not started:
        sock.close()
        return
    raise SystemExit(_wait(sock, job))


def _wait(sock: socket.socket, job) -> int:
    def forward(signum, frame):
        try:
            sock.send(json.dumps({"signal": signum}).encode())
        except OSError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    try:
        reply = sock.recv(4096)
    except OSError:
        reply = b""
    if not reply:
        print("alarmbench: the warm worker ended before this job did (see the Snakemake log)", file=sys.stderr)
        return 1
    result = json.loads(reply)
    _record_usage(job, result)
    status = result["status"]
    if status < 0:  # the child died of a signal: so does this process, as the job's own would
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status


def _record_usage(job, result: dict) -> None:
    logs = list(getattr(job, "log", None) or [])
    if not logs:
        return
    cpu = result["utime"] + result["stime"]
    with open(logs[0], "a", encoding="utf-8") as fh:
        fh.write(f"{USAGE_PREFIX} cpu {cpu:.3f} s (user {result['utime']:.3f}, system {result['stime']:.3f}), "
                 f"peak memory {result['maxrss_kib'] / 1024:.0f} MiB, pid {result['pid']}\n")
