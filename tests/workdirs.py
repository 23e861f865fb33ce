"""A copy of the workflow in a scratch directory, for tests that run Snakemake on it."""

from __future__ import annotations

import os
import shutil
import subprocess
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


def copy_finished(src: Path, dest: Path) -> Path:
    """A copy of the finished run in `src`, for one test to edit and rerun without touching what
    the next test starts from: every file with its timestamps (copy2) and Snakemake's records
    (.snakemake), links as links. Rerun triggers are content, parameters and inputs, none of them
    the directory's path: the copy is as finished as the original (test_stale_results.py checks it)."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def repository_files() -> list[str]:
    """The repository's files as a commit of the working tree would hold them: tracked and
    untracked, minus what .gitignore excludes (so a test sees uncommitted edits too)."""
    done = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return sorted({f for f in done.stdout.split("\0") if f and (ROOT / f).is_file()})


def copy_repository(dest: Path, *, commit: bool = True) -> Path:
    """What a fresh `git clone` of the working tree holds, in `dest`; with `commit`, `dest` is a git
    repository with those files committed (so `git status` there shows what commands added)."""
    for rel in repository_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return commit_all(dest) if commit else dest


def commit_all(repo: Path, message: str = "repository state under test") -> Path:
    """`repo` as a git repository (initialised if it is none yet) with every file committed."""
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return repo


def git(repo: Path, *args: str) -> str:
    """`git ARGS` in `repo` (a fixed identity, so that commits work on any machine); its stdout."""
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_IDENTITY}).stdout


# A commit needs an identity; a CI machine or a fresh container may have none configured.
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
                "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org"}
