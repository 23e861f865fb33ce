"""The documentation resolves from a clone: every `docs/…md#anchor` the code cites names an anchor
that exists, no citation points at a document outside the repository (the old `SPEC §…` and
`DESIGN §…`), and every relative link of the README and the other guides reaches a file and, where
it names one, an anchor of that file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("src", "workflow", "tests", "benchmarks", "config", "profiles")
CODE_FILES = ("Snakefile", "dvc.yaml", "pyproject.toml", ".ci/run")
GUIDES = ("README.md", "CONTRIBUTING.md", "docs", "config/README.md", "profiles/README.md", "benchmarks/README.md",
          "tests/README.md")
CITATION = re.compile(r"docs/[\w./-]+?\.md#[\w-]+")
OUTSIDE = re.compile(r"\b(?:SPEC|DESIGN)\b|(?<![\w/])§\s?\d")  # the development notes' names, § numbers
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"`|\*\*|\*", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Explicit `<a id="…">` / `id="…"` anchors and the headings' anchors (duplicates numbered)."""
    text = path.read_text()
    found = set(re.findall(r'\bid="([^"]+)"', text))
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", re.sub(r"```.*?```", "", text, flags=re.S), flags=re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        found.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return found


def tracked(*paths: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--", *paths], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.splitlines() if (ROOT / line).is_file()]


def code_files() -> list[Path]:
    files = [p for p in tracked(*CODE_DIRS, *CODE_FILES) if p.suffix not in {".md", ".npz", ".csv", ".png", ".pdf"}]
    return [p for p in files if p.name != Path(__file__).name]


def guides() -> list[Path]:
    return [p for p in tracked(*GUIDES) if p.suffix == ".md"]


def broken_citations(files: list[Path]) -> list[str]:
    bad = []
    for path in files:
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{lineno}"
            for cite in CITATION.findall(line):
                doc, anchor = cite.split("#", 1)
                if not (ROOT / doc).is_file():
                    bad.append(f"{where}: {cite}: no file {doc}")
                elif anchor not in anchors(ROOT / doc):
                    bad.append(f"{where}: {cite}: no anchor #{anchor} in {doc}")
            if OUTSIDE.search(line):
                bad.append(f"{where}: cites a document outside the repository: {line.strip()[:100]}")
    return bad


def broken_links(path: Path) -> list[str]:
    bad = []
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}: ({target})"
        if not dest.exists():
            bad.append(f"{where}: no such file")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            bad.append(f"{where}: no anchor #{anchor}")
        elif ROOT not in dest.parents and dest != ROOT:
            bad.append(f"{where}: outside the repository")
    return bad


def test_every_docs_citation_in_the_code_resolves_and_none_points_outside():
    files = code_files()
    assert len(files) > 50
    assert sum(bool(CITATION.search(p.read_text(errors="replace"))) for p in files) > 30
    assert broken_citations(files) == []


def test_every_relative_link_of_the_guides_resolves():
    files = guides()
    assert ROOT / "README.md" in files and ROOT / "docs" / "methods.md" in files
    assert [problem for path in files for problem in broken_links(path)] == []
    assert broken_citations(files) == []  # their docs/… citations too, and no SPEC/DESIGN §


def test_the_checks_find_what_they_look_for(tmp_path, monkeypatch):
    """A checker that never complains proves nothing: a dead anchor, a dead file, a SPEC citation."""
    doc = tmp_path / "docs" / "x.md"
    doc.parent.mkdir()
    doc.write_text('# A title, with `code`\n<a id="kept"></a>\n## A title, with `code`\n[ok](#kept) [dead](#gone) '
                   "[file](missing.md) [web](https://example.org/#x)\n")
    assert anchors(doc) == {"kept", "a-title-with-code", "a-title-with-code-1"}
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [p.split(": ", 1)[1] for p in broken_links(doc)] == ["(#gone): no anchor #gone",
                                                                "(missing.md): no such file"]
    code = tmp_path / "m.py"
    code.write_text('"""See docs/x.md#kept and docs/x.md#gone."""\n# SPEC §3.1\n# (§4.2)\n# 122 features (SPEC)\n'
                    '_SPECS = DatasetSpec()\n')
    problems = broken_citations([code])
    assert len(problems) == 4 and "no anchor #gone" in problems[0]
    assert all("outside the repository" in p for p in problems[1:])


@pytest.mark.parametrize("heading, anchor", [("Your own data", "your-own-data"), ("A³ family", "a³-family"),
                                             ("R2-AD2 (`r2ad2`, `r2ad2-1` … `r2ad2-4`)", "r2-ad2-r2ad2-r2ad2-1--r2ad2-4")])
def test_heading_anchors_follow_github(heading, anchor):
    assert slug(heading) == anchor
