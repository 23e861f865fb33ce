"""Which subprocess command lines start Snakemake, for the marker rule of tests/conftest.py (a
module of its own: `from conftest import` is ambiguous beside tests/gpu/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

# Every test that starts Snakemake carries one of these markers (tests/README.md): Snakemake runs
# are what make the suite slow, and a marker is how one finds and deselects them.
SNAKEMAKE_MARKERS = ("slow", "gpu", "realdata", "slurm")


def starts_snakemake(args) -> bool:
    """True if a subprocess command line runs Snakemake (`snakemake …`, `python -m snakemake …`)."""
    argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args or [])
    words = [w for a in argv for w in os.fsdecode(a).split()]  # split: `bash -c "snakemake …"` counts too
    return any(Path(w).name == "snakemake" for w in words) or any(
        a == "-m" and b == "snakemake" for a, b in zip(words, words[1:]))
