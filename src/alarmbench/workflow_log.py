"""Where a job's messages go: its workflow log file (`logged`) or the terminal (`to_console`).

The one place logging is configured. Modules log through `logging.getLogger(__name__)`; a workflow
job's `log:` file gets its INFO lines (what ran, on which device and shapes, per-epoch losses,
stage timings, checkpoint writes), Python warnings, and everything the job prints: `sys.stdout`
and `sys.stderr`, and file descriptors 1 and 2 too, so output of C/C++ libraries lands there
as well. Progress bars (tqdm) draw only on a terminal, so the file holds no bar text.

An `InputError` (the user's config or data is wrong, a disk is full; its message says what and
where) is reported as one line, `alarmbench: error: <message>`, without a traceback, and the job
exits with status 1. A `DamagedFileError` (an intermediate fails its digest check) is one such line
too, and the job first deletes the damaged input (`repair`), so that the next run of the workflow
rebuilds it and everything downstream of it (Snakemake reruns the producer of a missing file).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import resource
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from alarmbench import repairs
from alarmbench.errors import DamagedFileError, InputError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger(__name__)


def _install(handler: logging.Handler, level: int) -> logging.Handler:
    """`handler` on the root logger at `level`, with Python warnings routed into logging."""
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(level)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(level, root.getEffectiveLevel()))
    # Off first: captureWarnings(True) does nothing while logging believes it still captures,
    # which is wrong once someone else restored `warnings.showwarning` (pytest does per test).
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    return handler


class _Stderr(logging.StreamHandler):
    """A handler on whatever `sys.stderr` is when a line is written (not when it was made)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def to_console(quiet: bool = False) -> logging.Handler:
    """Log to stderr (`alarmbench run`): INFO and up, or only warnings and errors when `quiet`.
    Configures once: a second call replaces the first one's handler."""
    release_console()
    return _install(_Stderr(), logging.WARNING if quiet else logging.INFO)


def release_console() -> list[logging.Handler]:
    """Remove (and return) the handler of `to_console`, if any."""
    root = logging.getLogger()
    found = [h for h in root.handlers if isinstance(h, _Stderr)]
    for handler in found:
        root.removeHandler(handler)
    return found


@contextlib.contextmanager
def _output_into(fh: IO[str]) -> Iterator[None]:
    """Send stdout and stderr (Python's objects and file descriptors 1 and 2) into `fh`."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(fd) for fd in (1, 2)]
    try:
        for fd in (1, 2):
            os.dup2(fh.fileno(), fd)
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            yield
    finally:
        fh.flush()
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def _describe(job) -> str:
    """rule, wildcards, threads and resources of a Snakemake job object (`snakemake` in a script)."""
    wildcards = ", ".join(f"{k}={v}" for k, v in dict(job.wildcards.items()).items())
    shown = {k: v for k, v in dict(job.resources.items()).items()
             if not k.startswith("_") and k not in ("mem", "mem_mib", "disk", "disk_mib")}  # mem_mb, disk_mb say it
    resources = ", ".join(f"{k}={v}" for k, v in shown.items())
    return f"rule {job.rule} [{wildcards}], threads {job.threads}, resources {resources or 'none'}"


@contextlib.contextmanager
def logged(path: str, job=None) -> Iterator[None]:
    """Run the block with everything it says going to the log file `path` (overwritten). `job`:
    the script's `snakemake` object, whose rule and wildcards head the file. An error's line or
    traceback goes to the console too (written after stdout and stderr are restored)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with open(path, "w", buffering=1, encoding="utf-8", errors="backslashreplace") as fh:
        console = release_console()  # its stderr is the log file now: no line twice
        handler = _install(logging.StreamHandler(fh), logging.INFO)
        try:
            with _output_into(fh):
                if job is not None:
                    log.info("job: %s", _describe(job))
                log.info("host %s, pid %d, python %s", platform.node(), os.getpid(), platform.python_version())
                yield
            _footer("done", began)
        except (InputError, FileNotFoundError) as err:
            if isinstance(err, FileNotFoundError) and not _lost_input(err, job):
                _footer("failed", began)
                traceback.print_exc(file=fh)
                traceback.print_exc(file=sys.stderr)
                raise
            line = f"alarmbench: error: {_one_line(err, job)}"
            _footer("failed", began)
            fh.write(line + "\n")
            print(line, file=sys.stderr)
            raise SystemExit(1) from None
        except BaseException:
            _footer("failed", began)
            traceback.print_exc(file=fh)
            traceback.print_exc(file=sys.stderr)
            raise
        finally:
            logging.getLogger().removeHandler(handler)
            logging.captureWarnings(False)
            for h in console:
                logging.getLogger().addHandler(h)


def _one_line(err: Exception, job) -> str:
    if isinstance(err, DamagedFileError):
        return repair(err, job)
    if isinstance(err, FileNotFoundError):
        return (f"{err.filename}: missing (a job of this run found it damaged and removed it, or it was deleted); "
                f"run the workflow again to rebuild it")
    return str(err)


def _lost_input(err: FileNotFoundError, job) -> bool:
    """A declared input (or a file inside one) vanished while the run went on: another job of the
    same run removed it as damaged (`repair`)."""
    if job is None or not err.filename:
        return False
    path = Path(os.path.abspath(err.filename))
    return any(_inside(path, Path(os.path.abspath(p))) for p in job.input)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def repair(err: DamagedFileError, job=None) -> str:
    """Delete what `err` names for removal when it is (inside) one of the job's declared inputs,
    so that Snakemake finds it missing and rebuilds it; the error's line says what was done. Never
    anything else: without a job (`alarmbench run`), or for a file that is not an input, the line
    asks the user to delete it."""
    inputs = [Path(os.path.abspath(p)) for p in (job.input if job is not None else [])]
    remove = [Path(os.path.abspath(p)) for p in err.remove]
    if not any(_inside(r, i) for r in remove for i in inputs):
        return f"{err}; delete {' and '.join(err.remove)} and run again to rebuild it"
    for path in remove:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    # Snakemake reruns the producer of a missing file only for a job that needs it, and this job's
    # outputs go too (it failed): the records make the jobs that read either rerun (alarmbench.repairs).
    repairs.record([*(r for r in remove if any(_inside(r, i) for i in inputs)), *getattr(job, "output", [])])
    return f"{err}; removed {' and '.join(err.remove)}: run the workflow again to rebuild it"


def _footer(outcome: str, began: float) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    log.info("%s after %.2f s, peak memory %.0f MiB", outcome, time.perf_counter() - began, peak)
