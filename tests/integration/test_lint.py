"""`snakemake --lint` is clean but for the one warning the workflow justifies (workflow/Snakefile)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JUSTIFIED = "Specify a conda environment or container for each rule."


def test_lint_reports_only_the_justified_warning():
    out = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    lints = re.findall(r"^\s+\* (.*)$", out.stdout + out.stderr, flags=re.M)
    assert set(lints) == {JUSTIFIED + ":"}, lints  # one per rule, nothing else
    assert len(lints) == 10
    assert JUSTIFIED.rstrip(".") in (ROOT / "workflow" / "Snakefile").read_text()
