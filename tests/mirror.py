"""Where the local data mirror is (`../shared/data` beside the repository, or $ALARMBENCH_MIRROR).

A module of its own rather than a conftest function: `from conftest import …` is ambiguous
(tests/gpu has a conftest.py too) and fails when the whole suite is collected."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mirror_dir() -> Path | None:
    candidate = Path(os.environ.get("ALARMBENCH_MIRROR", ROOT.parent / "shared" / "data"))
    return candidate if (candidate / "SHA256SUMS").exists() or candidate.is_dir() and any(candidate.iterdir()) else None
