"""No stale results (issue 15): what a change re-plans, and that a rerun after a change gives the
numbers of a fresh run of the changed config, bit for bit (CPU).

A tiny user-data workflow runs once in a temporary copy of the workflow whose code keys are read
from an editable copy of the sources (ALARMBENCH_CODE_ROOT); each test edits code, config or
data there and checks the plan or the rerun.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from test_workflow import planned, snakemake
from workdirs import copy_workflow

pytestmark = pytest.mark.slow

METHODS = ["r2ad2-1", "a3", "ae", "devnet", "iforest"]
TINY = {
    "seeds": [110],
    "datasets": ["mine"],
    "user_datasets": {"mine": {"path": "mine.csv", "label_column": "label", "normal": [0], "anomalies": [1]}},
    "run": {"epochs": 2, "device": "cpu", "threads": 1},
    "grids": {"known": {"experiments": ["known"], "n_anomalies": [20], "methods": METHODS}},
}


def write_data(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 4))
    y = (rng.random(300) < 0.3).astype(int)
    x[y == 1] += 1.5
    pd.DataFrame(x, columns=[f"f{i}" for i in range(4)]).assign(label=y).to_csv(path, index=False)


def make_workdir(root: Path, config: dict, data_seed: int = 0) -> Path:
    copy_workflow(root, code=True)
    (root / "config").mkdir()
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    write_data(root / "mine.csv", data_seed)
    return root


def run(work: Path, *args: str) -> str:
    return snakemake(work, *args, env={"ALARMBENCH_CODE_ROOT": str(work / "code")})


def metrics(work: Path) -> pd.DataFrame:
    df = pd.read_csv(work / "reports" / "results.csv")
    df = df[~df["metric"].str.endswith("_seconds")]
    return df.sort_values(["method", "metric"]).reset_index(drop=True)[["method", "metric", "value"]]


def fresh(tmp_path_factory, config: dict, data_seed: int = 0) -> pd.DataFrame:
    work = make_workdir(tmp_path_factory.mktemp("fresh"), config, data_seed)
    run(work)
    return metrics(work)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    work = make_workdir(tmp_path_factory.mktemp("stale"), TINY)
    run(work)
    return work


def edit(work: Path, module: str) -> Path:
    path = work / "code" / module
    path.write_text(path.read_text() + "\n# an edit\n")
    return path


def planned_jobs(work: Path) -> list[tuple[str, str]]:
    return planned(run(work, "-n"))


def fits(jobs) -> set[str]:
    return {w.split("method=")[1].split(",")[0] for rule, w in jobs if rule == "fit_score"}


@pytest.mark.parametrize("module, rules, methods", [
    ("nets/alarms.py", {"fit_score"}, {"r2ad2-1", "a3"}),
    ("features/gradients.py", {"extract", "fit_score"}, {"r2ad2-1"}),
    ("methods/r2ad2.py", {"fit_score"}, {"r2ad2-1"}),
    ("data/splits.py", {"split", "target_split", "train_target", "extract", "fit_score"}, set(METHODS)),
    ("report/ranking.py", set(), set()),
])
def test_an_edit_replans_exactly_what_imports_it(finished, module, rules, methods):
    assert "Nothing to be done" in run(finished, "-n")
    path = edit(finished, module)
    try:
        jobs = planned_jobs(finished)
    finally:
        path.write_text(path.read_text().removesuffix("\n# an edit\n"))
    assert fits(jobs) == methods
    later = {"evaluate", "aggregate", "report", "all"} if methods else {"report", "all"}
    assert {rule for rule, _ in jobs} == rules | later
    if module == "features/gradients.py":
        assert all("kind=gradients" in w for rule, w in jobs if rule == "extract")
    assert "Nothing to be done" in run(finished, "-n")


def test_changed_epochs_rerun_equals_a_fresh_run(finished, tmp_path_factory):
    config = dict(TINY, run=dict(TINY["run"], epochs=1))
    changed = finished / "config" / "epochs.yaml"
    changed.write_text(yaml.safe_dump(config))
    run(finished, "--configfile", str(changed))
    pd.testing.assert_frame_equal(metrics(finished), fresh(tmp_path_factory, config))
    assert not list((finished / "results").rglob("*.ckpt")), "a finished run leaves no resumable state"
    run(finished)  # back to the original config for the other tests


def test_changed_method_option_rerun_equals_a_fresh_run(finished, tmp_path_factory):
    config = dict(TINY, method_options={"r2ad2-1": {"fresh_optimizer_at_snapshots": False},
                                        "devnet": {"devnet_fixed_reference": False}})
    changed = finished / "config" / "options.yaml"
    changed.write_text(yaml.safe_dump(config))
    jobs = planned(run(finished, "-n", "--configfile", str(changed)))
    assert fits(jobs) == {"r2ad2-1", "devnet"}
    # the option shapes the shared snapshot chain: its own file and job, the others' untouched
    assert [w for rule, w in jobs if rule == "train_target"] and all(
        "tfile=gaa_snapshots_k4_carry" in w for rule, w in jobs if rule == "train_target")
    run(finished, "--configfile", str(changed))
    pd.testing.assert_frame_equal(metrics(finished), fresh(tmp_path_factory, config))
    run(finished)


def test_edited_user_data_rerun_equals_a_fresh_run(finished, tmp_path_factory):
    write_data(finished / "mine.csv", seed=1)
    jobs = planned_jobs(finished)
    assert {"fetch", "prepare", "train_target", "fit_score"} <= {rule for rule, _ in jobs}
    run(finished)
    pd.testing.assert_frame_equal(metrics(finished), fresh(tmp_path_factory, TINY, data_seed=1))
    run(finished, "--forcerun", "prepare")  # re-prepared, same data: the same numbers again
    pd.testing.assert_frame_equal(metrics(finished), fresh(tmp_path_factory, TINY, data_seed=1))
    write_data(finished / "mine.csv", seed=0)
    run(finished)


def test_identical_runs_write_identical_targets(finished, tmp_path_factory):
    other = make_workdir(tmp_path_factory.mktemp("twin"), TINY)
    run(other)
    twins = list((other / "results").rglob("*.pt"))
    assert len(twins) == 2  # the AE (of ae and a3) and the snapshot chain
    for twin in twins:
        path = finished / twin.relative_to(other)
        assert path.read_bytes() == twin.read_bytes(), path
        assert path.stat().st_mode & 0o044 == 0o044  # group/other readable under the default umask


def test_an_edited_peer_file_reruns_only_the_report(finished):
    """The authors'-code runs (config `peers:`) are an input of the report, keyed by content."""
    peer = finished / "peer.csv"
    peer.write_text("method,seed,epochs,test_auc,test_ap\nAE,110,2,0.9,0.5\n")
    config = finished / "config" / "peers.yaml"
    config.write_text(yaml.safe_dump(dict(TINY, peers={"mine": "peer.csv"})))
    assert {rule for rule, _ in planned(run(finished, "-n", "--configfile", str(config)))} == {"report", "all"}
    run(finished, "--configfile", str(config))
    assert "Nothing to be done" in run(finished, "-n", "--configfile", str(config))
    peer.write_text("method,seed,epochs,test_auc,test_ap\nAE,110,2,0.8,0.4\n")
    assert {rule for rule, _ in planned(run(finished, "-n", "--configfile", str(config)))} == {"report", "all"}
    peer.unlink()
    with pytest.raises(AssertionError, match="peers: mine: peer.csv is not a file"):
        run(finished, "-n", "--configfile", str(config))
    run(finished)  # back to the original config for the other tests
