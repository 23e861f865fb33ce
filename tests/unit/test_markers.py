"""Every test that starts Snakemake carries a marker (`slow`, `gpu`, `realdata` or `slurm`): the
suite's conftest fails an unmarked test the moment it starts Snakemake, so the rule cannot drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snakemake_guard import starts_snakemake

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args, expected", [
    ([sys.executable, "-m", "snakemake", "-n"], True),
    (["snakemake", "--cores", "1"], True),
    ("snakemake --profile profiles/slurm --workflow-profile none", True),
    ([Path("/usr/local/bin/snakemake"), "--lint"], True),
    (["bash", "-c", "snakemake -n --cores all"], True),
    ([sys.executable, "-m", "pytest", "tests/unit"], False),
    (["git", "ls-files", "snakemake_notes.txt"], False),
    ([sys.executable, "-c", "print('-m snakemake')"], False),
])
def test_it_recognises_a_snakemake_command_line(args, expected):
    assert starts_snakemake(args) is expected


def test_an_unmarked_test_that_starts_snakemake_fails(tmp_path):
    fake = tmp_path / "bin" / "snakemake"  # stands in for Snakemake: nothing real is started
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    tests = tmp_path / "tests"
    tests.mkdir()
    for helper in ("conftest.py", "mirror.py", "snakemake_guard.py"):
        shutil.copy(ROOT / "tests" / helper, tests / helper)
    (tests / "test_x.py").write_text(
        "import subprocess\nimport pytest\n\n"
        f"CMD = [{str(fake)!r}, '--cores', '1']\n\n"
        "def test_unmarked():\n    subprocess.run(CMD, check=True)\n\n"
        "@pytest.mark.slow\ndef test_marked():\n    subprocess.run(CMD, check=True)\n\n"
        "def test_unmarked_other_command():\n    subprocess.run(['true'], check=True)\n")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore", str(tests)],
                         cwd=tmp_path, capture_output=True, text=True)
    assert "1 failed, 2 passed" in out.stdout, out.stdout[-2000:]
    assert "test_x.py::test_unmarked starts Snakemake without a marker" in out.stdout
