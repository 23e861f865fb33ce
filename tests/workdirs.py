"""A copy of the workflow in a scratch directory, for tests that run Snakemake on it."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_workflow(dest: Path, *, config: bool = False, code: bool = False) -> Path:
    """Snakefile, workflow/ and profiles/ (and config/ if asked) into `dest`; with `code`, the
    package sources into `dest/code` too, so that a test can edit them and see what reruns (code
    keys are read from ALARMBENCH_CODE_ROOT)."""
    for item in ("Snakefile", "workflow", *(("config",) if config else ()), "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / item)
    if code:
        shutil.copytree(ROOT / "src" / "alarmbench", dest / "code", ignore=shutil.ignore_patterns("__pycache__"))
    return dest
