"""What the A³ switches replan after a finished run: `protocol.a3_split` exactly the A³
experiments' splits (and what follows them), `a3_threshold` exactly the evaluate jobs of the A³
cells that read another cell's threshold (docs/protocol.md#a3-split, docs/protocol.md#a3-threshold)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from test_workflow import planned, snakemake
from workdirs import copy_workflow

pytestmark = pytest.mark.slow

TINY = {
    "seeds": [110],
    "datasets": ["digits"],
    "run": {"epochs": 1, "device": "cpu", "threads": 1},
    "grids": {
        "known": {"experiments": ["known"], "n_anomalies": [20], "methods": ["ae"]},
        "a3": {"experiments": ["a3-1a", "a3-2a"], "n_anomalies": [10, 20], "methods": ["ae"]},
    },
}


def _env(work: Path) -> dict:
    return {"ALARMBENCH_CODE_ROOT": str(work / "code")}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("a3reruns")
    copy_workflow(work, code=True)
    (work / "config").mkdir()
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(TINY))
    snakemake(work, env=_env(work))
    return work


def _plan(work: Path, **changes) -> list[tuple[str, str]]:
    changed = work / "config" / "changed.yaml"
    changed.write_text(yaml.safe_dump(TINY | changes))
    return planned(snakemake(work, "-n", "--configfile", str(changed), env=_env(work)))


def test_the_a3_split_switch_reruns_exactly_the_a3_splits(finished):
    jobs = _plan(finished, protocol={"a3_split": "r2ad2"})
    splits = sorted(w for rule, w in jobs if rule in ("split", "target_split"))
    assert splits and all("experiment=a3-" in w or "group=a3-" in w for w in splits)
    assert len([w for w in splits if "experiment=" in w]) == 4  # a3-1a, a3-2a × n = 10, 20
    assert not any(rule in ("fetch", "prepare") for rule, _ in jobs)
    assert all("experiment=known" not in w and "group=known" not in w for _, w in jobs)


def test_the_threshold_switch_reruns_exactly_the_cells_that_reuse_one(finished):
    jobs = _plan(finished, a3_threshold="per_cell")
    evaluates = sorted(w for rule, w in jobs if rule == "evaluate")
    # a3-1a n20 chose its own threshold before and after; the other three A³ cells read it
    assert evaluates == sorted(f"dataset=digits, experiment={e}, n={n}, p=0, seed=110"
                               for e, n in (("a3-1a", 10), ("a3-2a", 10), ("a3-2a", 20)))
    assert {rule for rule, _ in jobs} == {"evaluate", "aggregate", "report", "all"}
