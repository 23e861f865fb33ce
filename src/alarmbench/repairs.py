"""Intermediates a job found damaged and removed, so that the next plain run rebuilds them.

Removing a damaged file is not enough by itself: Snakemake does not rerun the producer of a
missing intermediate while the outputs downstream of it are present and up to date (it treats
it like a `temp()` file). The job that failed on it lost its outputs too, and the outputs
downstream of those are still there: after a forced job failed, a plain rerun would say
"Nothing to be done". So the job records both, the damaged file and its own outputs (`record`,
beside Snakemake's own state in `.snakemake/`), and every rule that reads intermediates has the
param `damaged=damaged_inputs` (workflow/rules/common.smk): the records of its inputs. A new
record changes that param for exactly the jobs that read the damaged file or the failed job's
outputs, so the next run reruns them; they need the missing files, so the failed job and the
damaged file's producer rerun, and so does everything downstream of them. Records are kept (a
few bytes each): dropping one would change the param again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

FOLDER = Path(".snakemake") / "alarmbench" / "damaged"


def record(paths: Iterable[str | os.PathLike]) -> None:
    """Record that `paths` (relative to the working directory) were removed now: a damaged input
    of the job, and the job's outputs."""
    from alarmbench.fileio import write_json

    for path in paths:
        rel = os.path.relpath(path)
        stamp = time.time_ns()
        name = hashlib.sha256(f"{rel}\0{stamp}".encode()).hexdigest()[:20]
        write_json(FOLDER / f"{name}.json", {"path": rel, "removed_ns": stamp})


@functools.lru_cache(maxsize=1)
def _records(folder: str) -> dict[str, list[int]]:
    """path -> removal times, read once per process (a DAG build asks for every job)."""
    found: dict[str, list[int]] = {}
    for file in sorted(Path(folder).glob("*.json")):
        try:
            rec = json.loads(file.read_text())
            found.setdefault(os.path.normpath(rec["path"]), []).append(int(rec["removed_ns"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a record cut short by a killed job: its removal is found again when read
    return {path: sorted(times) for path, times in found.items()}


def history(inputs: Iterable[str | os.PathLike]) -> dict[str, list[int]] | None:
    """The removal records of `inputs` (a job's input files), or None where there are none (the
    value of every job that never read a damaged file, so adding the param reran nothing twice)."""
    records = _records(str(FOLDER))
    if not records:
        return None
    found = {os.path.normpath(p): records.get(os.path.normpath(p)) for p in inputs}
    return {p: times for p, times in sorted(found.items()) if times} or None
