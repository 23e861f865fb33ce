"""`snakemake --lint` is clean but for the one warning the workflow justifies (workflow/Snakefile)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # starts Snakemake (tests/README.md)
JUSTIFIED = "Specify a conda environment or container for each rule."


def test_lint_reports_only_the_justified_warning():
    out = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    lints = re.findall(r"^\s+\* (.*)$", out.stdout + out.stderr, flags=re.M)
    assert set(lints) == {JUSTIFIED + ":"}, lints  # one per rule, nothing else
    assert len(lints) == 10
    assert JUSTIFIED.rstrip(".") in (ROOT / "workflow" / "Snakefile").read_text()
    # ...and each rule it names says so where it is defined (the comment right above `rule NAME:`)
    for rule, line, path in re.findall(r"^Lints for rule (\w+) \(line (\d+), (.+)\):$", out.stdout + out.stderr, re.M):
        above = Path(path).read_text().splitlines()[int(line) - 3:int(line) - 1]
        assert "justified, no `conda:`" in "".join(above), f"{path}:{line} rule {rule}: no justification above it"
