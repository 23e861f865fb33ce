"""README.md's fenced code blocks, and the shell commands of those tagged as shell.

A block is shell when its info string is `bash`, `sh`, `shell` or `console`; every other block
must carry a tag too (`text`, `yaml`, …), so a command block without one cannot hide from the
tests that run the README (tests/integration/test_readme_commands.py). A command is one line, or
several joined by a trailing backslash; `# …` comments are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELL = {"bash", "sh", "shell", "console"}
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    text: str


def blocks(path: Path = ROOT / "README.md") -> list[Block]:
    """Every fenced block, in order, with its dedented text."""
    found, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, start = m["indent"], m["fence"], i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        found.append(Block(start + 1, m["info"].strip().split(" ")[0], "\n".join(body)))
        i += 1
    return found


def split_comment(line: str) -> tuple[str, str]:
    """`line` as (code, comment): a `#` outside quotes that starts a word begins the comment."""
    quote, prev = None, " "
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and prev.isspace():
            return line[:i].rstrip(), line[i + 1:].strip()
        prev = ch
    return line.rstrip(), ""


def commented_commands(block: Block) -> list[tuple[str, str]]:
    """(command, its comments) per command of the block: continuation lines joined, blank lines
    dropped, runs of whitespace collapsed to one space (the form the tests' mappings use as keys)."""
    out, pending, notes = [], "", []
    for raw in block.text.splitlines():
        line, note = split_comment(raw)
        notes += [note] if note else []
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append((" ".join(line.split()), " ".join(notes)))
        notes = [] if line else notes
    return out


def commands(block: Block) -> list[str]:
    return [command for command, _ in commented_commands(block)]


def shell_commands(path: Path = ROOT / "README.md") -> list[tuple[Block, str]]:
    """(block, command) for every command of every shell block, in README order."""
    return [(b, c) for b in blocks(path) if b.lang in SHELL for c in commands(b)]
