"""Every shell command of README.md, run the way a reader runs it, so the README cannot drift.

The commands are read from README.md's fenced blocks tagged `bash`/`sh`/`shell`/`console`
(tests/readme_blocks.py; every other block needs a tag such as `text`, so none hides). They run
in README order on a copy of the repository (a git repository of the working tree's files,
tests/workdirs.py), from its root, one shell each. A command runs verbatim unless VARIANTS says
otherwise: `Instead` runs a tiny equivalent, `NotHere` runs nothing; both say why, and where the
real command is exercised. A new README command that is not listed runs verbatim: if it needs the
network, a GPU or an hour, the test fails until it gets an entry here.

After each command: it exited 0; every number its `# comment` promises (e.g. "# 11183 samples")
appears in its output; and it left no file outside git-ignored places (`git status`).
Commands that read `../shared/data` run where that mirror exists (else they are skipped, saying so).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from mirror import mirror_dir
from readme_blocks import SHELL, blocks, commented_commands
from workdirs import copy_repository, git

TIMEOUT_S = 300  # per command; the slowest here (a dry run of the default suite) takes ~15 s idle


@dataclass(frozen=True)
class Instead:
    """Run `command` in place of the README's (a tiny equivalent); `why` says why and where the
    README's own command is exercised."""
    command: str
    why: str


@dataclass(frozen=True)
class NotHere:
    """Run nothing for this README command; `why` names where it is exercised, or why it cannot be."""
    why: str


# Keys: README commands as readme_blocks.commands() gives them (continuations joined, comments
# dropped, whitespace collapsed). Update this mapping when the README's commands change.
VARIANTS: dict[str, Instead | NotHere] = {
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . && "
    "snakemake --cores all": Instead(
        "snakemake -n --cores all",
        "pip needs the network, and the run is the default suite (11 min on 2 cores): its dry run checks the "
        "config and plans every job; tests/integration/test_workflow.py runs the workflow end to end on tiny "
        "configs"),
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e '.[test]' && "
    "python -m pytest --durations=15": NotHere("the network (pip), and the test suite is what runs this test"),
    "snakemake --cores all --configfile config/own-data.yaml": Instead(
        "snakemake -n --cores all --configfile config/own-data.yaml",
        "a few minutes of training: tests/integration/test_own_data_example.py::test_the_example_runs_to_its_report"
        " runs this example end to end (at 1 epoch, marker slow); here its dry run"),
    "snakemake --configfile config/own-data.yaml --report results/own-data-report/report.html": NotHere(
        "needs the example's finished run: tests/integration/test_own_data_example.py::"
        "test_the_example_runs_to_its_report runs this command verbatim after that run"),
}


def readme_commands() -> list[tuple[int, str, str]]:
    """(README line of the block, the command as README writes it, its comment) in README order."""
    return [(b.line, command, note) for b in blocks() if b.lang in SHELL for command, note in commented_commands(b)]


COMMANDS = readme_commands()


def test_every_fenced_block_says_what_it_is():
    untagged = [b.line for b in blocks() if not b.lang]
    assert not untagged, (f"README.md lines {untagged}: fenced blocks without a language tag; tag commands "
                          f"{sorted(SHELL)[0]} and anything else e.g. text")


def test_every_variant_is_a_readme_command():
    """A mapping entry whose command left the README is stale: it would hide nothing, so it goes."""
    stale = set(VARIANTS) - {c for _, c, _ in COMMANDS}
    assert not stale, f"VARIANTS entries that are no longer README commands: {sorted(stale)}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    work = copy_repository(root / "repo")
    mirror = mirror_dir()
    if mirror is not None:  # `../shared/data` from the copy's root, as from a checkout beside shared/
        (root / "shared").mkdir()
        (root / "shared" / "data").symlink_to(mirror)
    return work


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in re.findall(r"(?<![\w.])\d[\d,]*\d|(?<![\w.])\d(?![\w.])", text)}


@pytest.mark.slow
@pytest.mark.parametrize("line, command, comment", COMMANDS,
                         ids=[f"L{line}-{command[:60]}" for line, command, _ in COMMANDS])
def test_readme_command(repo, line, command, comment):
    variant = VARIANTS.get(command)
    if isinstance(variant, NotHere):
        pytest.skip(f"README line {line}: not run here: {variant.why}")
    if "../shared/data" in command and mirror_dir() is None:
        pytest.skip(f"README line {line}: needs the local mirror ../shared/data")
    run = variant.command if isinstance(variant, Instead) else command
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(repo / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    before = _untracked(repo)
    try:
        done = subprocess.run(["bash", "-c", run], cwd=repo, capture_output=True, text=True, env=env,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"README line {line}: `{run}` ran past {TIMEOUT_S} s; if the README means a long run, give it "
                    f"a tiny variant in VARIANTS ({__file__}) and say where the real one is exercised")
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"README line {line}: `{run}` exited {done.returncode}"
        + ("" if variant else f" (run verbatim: if it cannot run in a test, add it to VARIANTS in {__file__})")
        + f"\n--- output (tail)\n{output[-4000:]}")
    if not variant:
        missing = _numbers(comment) - _numbers(output)
        assert not missing, f"README line {line}: the comment `{comment}` promises {sorted(missing)}, not in:\n" \
                            f"{output[-3000:]}"
    added = sorted(_untracked(repo) - before)
    assert not added, f"README line {line}: `{run}` left files outside git-ignored places: {added[:10]}"


def _untracked(repo: Path) -> set[str]:
    """Files git neither tracks nor ignores."""
    return {ln[3:] for ln in git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
            if ln.startswith("??")}
