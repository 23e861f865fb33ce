"""The DVC section of docs/operations.md on a fresh clone: `dvc repro` records the run, `dvc push` stores the raw
data, the metrics and the sweep plots in a real (local directory) remote, and a second clone gets
them back with `dvc pull` (nothing rerun, nothing downloaded); `dvc metrics show` prints one short
row per experiment/dataset/method.

The repository state under test is this working tree with config/config.yaml replaced by
config/tiny.yaml (the stage runs `snakemake --cores all` on the default config, ≈ 3 minutes; the
tiny one takes about a minute). The commands are the guide's, verbatim but for the store's path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from workdirs import GIT_IDENTITY, ROOT, commit_all, copy_repository, git

pytestmark = pytest.mark.slow

STORE = "/path/to/dvc-store"
# In docs/operations.md, verbatim: the first block on the machine that runs, the second on another clone.
RUN_AND_PUSH = [
    f"dvc remote add -d store {STORE}",
    "dvc repro",
    'git add .dvc/config dvc.lock && git commit -m "Results and their DVC remote"',
    "dvc push",
]
PULL = ["dvc pull", "dvc metrics show"]


def sh(repo: Path, command: str, store: Path) -> str:
    env = {**os.environ, **GIT_IDENTITY, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command.replace(STORE, str(store)), shell=True, cwd=repo, capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def tree(root: Path) -> dict[str, bytes]:
    """The files DVC versions under `root` (.dvcignore leaves out Snakemake's directory markers)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".snakemake_timestamp"}


def test_the_guide_s_dvc_commands_are_these():
    guide = (ROOT / "docs" / "operations.md").read_text()
    for command in RUN_AND_PUSH + PULL:
        assert command in guide, command


def test_push_then_pull_on_a_second_clone(tmp_path):
    repo = copy_repository(tmp_path / "repo", commit=False)
    shutil.copy(ROOT / "config" / "tiny.yaml", repo / "config" / "config.yaml")
    commit_all(repo, "tiny state")
    store = tmp_path / "store"
    store.mkdir()
    for command in RUN_AND_PUSH:
        sh(repo, command, store)

    stored = [p for p in store.rglob("*") if p.is_file()]
    pushed = {"data/raw": tree(repo / "data" / "raw"), "reports/metrics": tree(repo / "reports" / "metrics")}
    assert pushed["data/raw"] and pushed["reports/metrics"]
    # every raw file and every metrics file is in the store (content-addressed: compare contents)
    contents = {p.read_bytes() for p in stored}
    for folder, files in pushed.items():
        assert set(files.values()) <= contents, folder
    assert (repo / "reports" / "metrics.json").read_bytes() in contents

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert not (clone / "data").exists() and not (clone / "reports" / "metrics").exists()
    pull, show = (sh(clone, command, store) for command in PULL)
    for folder, files in pushed.items():
        assert tree(clone / folder) == files, folder
    assert (clone / "reports" / "metrics.json").read_bytes() == (repo / "reports" / "metrics.json").read_bytes()
    for plot in ("r2ad2_fig2_pollution_auc.csv", "r2ad2_fig3_n_anomalies_auc.csv"):
        assert (clone / "reports" / "figures" / plot).exists(), plot
    assert not (clone / "results").exists()  # pulled, not rerun

    # `dvc metrics show`: one row per method of the tiny grid, the two numbers of its file, short lines
    lines = show.splitlines()
    assert lines[0].split() == ["Path", "test_ap", "test_auc"], show
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert set(rows) == {f"reports/metrics/known/breast_cancer/{m}.json" for m in ("ae", "iforest")}, show
    for path, (ap, auc) in rows.items():
        values = json.loads((clone / path).read_text())
        assert (float(ap), float(auc)) == (values["test_ap"], values["test_auc"])
    assert max(map(len, lines)) < 100, show
