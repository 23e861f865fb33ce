"""tests/README.md maps each promise of the README and the guides to the tests that guard it; every
name in that table must be a test that exists: a file (or a glob matching files) under tests/, a
test function defined in the file it follows, and a marker those files carry. A renamed or deleted
test otherwise leaves the map pointing at nothing, silently."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
MARKERS = ("slow", "gpu", "realdata", "slurm")


def promise_rows(text: str) -> list[tuple[str, str]]:
    """(promise, test column) of each row of the table under '## Which test guards which promise'."""
    section = text.split("## Which test guards which promise", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("promise", "---"):
            rows.append((cells[0], cells[2]))
    return rows


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _files(token: str) -> list[Path]:
    if token.endswith("/"):
        return sorted((TESTS / token).glob("test_*.py"))
    return sorted(TESTS.glob(token))


def problems(column: str) -> list[str]:
    """What in one row's test column names nothing: a file, a function of the file before it, a marker."""
    found, files = [], []
    tokens = re.findall(r"`([^`]+)`", column)
    if not tokens:
        return [f"no test named in {column!r}"]
    for token in tokens:
        path, _, function = token.partition("::")
        if path.endswith((".py", "/")):
            files = _files(path)
            if not files:
                found.append(f"{token}: no such test file under tests/")
            elif function and not any(function in _functions(f) for f in files):
                found.append(f"{token}: no function {function} in {path}")
        elif token.startswith("test_"):
            if not any(token in _functions(f) for f in files):
                found.append(f"{token}: not a function of {[str(f.relative_to(TESTS)) for f in files]}")
        elif token in MARKERS:
            if not any(f"mark.{token}" in f.read_text() for f in files):
                found.append(f"`{token}`: {[str(f.relative_to(TESTS)) for f in files]} carry no such marker")
        else:
            found.append(f"{token}: neither a test file, a test function nor a marker")
    return found


def test_every_test_the_promise_map_names_exists():
    rows = promise_rows((TESTS / "README.md").read_text())
    assert len(rows) >= 20  # the table was found and read
    bad = {promise: p for promise, column in rows if (p := problems(column))}
    assert bad == {}


@pytest.mark.parametrize("column, complaint", [
    ("`unit/test_no_such_file.py`", "no such test file"),
    ("`unit/test_cli.py::test_nothing_of_the_kind`", "no function test_nothing_of_the_kind"),
    ("`unit/test_cli.py` (`test_renamed_away`)", "not a function of"),
    ("`unit/test_cli.py` (`realdata`)", "carry no such marker"),
    ("`unit/test_method_*.py` (`test_renamed_away`)", "not a function of"),
    ("the figure audit", "no test named"),
    ("`docs/operations.md`", "neither a test file"),
])
def test_the_check_finds_a_stale_entry(column, complaint):
    assert any(complaint in p for p in problems(column))


def test_the_check_accepts_what_exists():
    assert problems("`unit/test_cli.py::test_data_list_names_every_kind`, `unit/test_method_*.py`, `gpu/` (`gpu`)") == []
