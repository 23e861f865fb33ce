"""No stale results (issue 15): what a change re-plans, and that a rerun after a change gives the
numbers of a fresh run of the changed config, bit for bit (CPU).

A tiny user-data workflow runs once in a temporary copy of the workflow whose code keys are read
from an editable copy of the sources (ALARMBENCH_CODE_ROOT); each test gets its own copy of that
finished run (`finished`), edits code, config or data there and checks the plan or the rerun.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from test_workflow import planned, snakemake
from workdirs import copy_finished, copy_workflow

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
def finished_run(tmp_path_factory) -> Path:
    """The tiny run, once per module; tests read it or copy it (`finished`), never edit it."""
    work = make_workdir(tmp_path_factory.mktemp("stale"), TINY)
    run(work)
    return work


@pytest.fixture
def finished(finished_run, tmp_path) -> Path:
    """This test's own copy of the finished run: what it edits and reruns, no other test sees."""
    return copy_finished(finished_run, tmp_path / "work")


def test_a_copy_of_the_finished_run_plans_nothing(finished):
    """What every test here starts from is a finished run, not just its files."""
    assert "Nothing to be done" in run(finished, "-n")


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
    ("nets/optim.py", {"train_target", "extract", "fit_score"}, {"r2ad2-1", "a3", "ae", "devnet"}),
    ("evaluate/metrics.py", {"evaluate", "aggregate"}, set()),
])
def test_an_edit_replans_exactly_what_imports_it(finished, module, rules, methods):
    edit(finished, module)
    jobs = planned_jobs(finished)
    assert fits(jobs) == methods
    later = {"evaluate", "aggregate", "report", "all"} if methods else {"report", "all"}
    assert {rule for rule, _ in jobs} == rules | later
    if module == "features/gradients.py":
        assert all("kind=gradients" in w for rule, w in jobs if rule == "extract")


ONE_EPOCH = dict(TINY, run=dict(TINY["run"], epochs=1))


@pytest.fixture(scope="module")
def one_epoch_rerun(finished_run, tmp_path_factory) -> Path:
    """A copy of the finished run, rerun after run.epochs changed from 2 to 1 (read by two tests)."""
    work = copy_finished(finished_run, tmp_path_factory.mktemp("epochs") / "work")
    changed = work / "config" / "epochs.yaml"
    changed.write_text(yaml.safe_dump(ONE_EPOCH))
    run(work, "--configfile", str(changed))
    return work


@pytest.fixture(scope="module")
def one_epoch_fresh(tmp_path_factory) -> Path:
    """A fresh run of the 1-epoch config (read by two tests)."""
    work = make_workdir(tmp_path_factory.mktemp("fresh"), ONE_EPOCH)
    run(work)
    return work


def test_changed_epochs_rerun_equals_a_fresh_run(one_epoch_rerun, one_epoch_fresh):
    pd.testing.assert_frame_equal(metrics(one_epoch_rerun), metrics(one_epoch_fresh))
    assert not list((one_epoch_rerun / "results").rglob("*.ckpt")), "a finished run leaves no resumable state"


def test_changed_method_option_rerun_equals_a_fresh_run(finished, tmp_path_factory):
    config = dict(TINY, method_options={"r2ad2-1": {"fresh_optimizer_at_snapshots": False},
                                        "devnet": {"devnet_fixed_reference": False}})
    changed = finished / "config" / "options.yaml"
    changed.write_text(yaml.safe_dump(config))
    jobs = planned(run(finished, "--configfile", str(changed)))  # the jobs the rerun ran
    assert fits(jobs) == {"r2ad2-1", "devnet"}
    # the option shapes the shared snapshot chain: its own file and job, the others' untouched
    assert [w for rule, w in jobs if rule == "train_target"] and all(
        "tfile=gaa_snapshots_k4_carry" in w for rule, w in jobs if rule == "train_target")
    pd.testing.assert_frame_equal(metrics(finished), fresh(tmp_path_factory, config))


def test_edited_user_data_rerun_equals_a_fresh_run(finished, tmp_path_factory):
    write_data(finished / "mine.csv", seed=1)
    jobs = planned(run(finished))  # the jobs the rerun ran
    assert {"fetch", "prepare", "train_target", "fit_score"} <= {rule for rule, _ in jobs}
    expected = fresh(tmp_path_factory, TINY, data_seed=1)
    pd.testing.assert_frame_equal(metrics(finished), expected)
    run(finished, "--forcerun", "prepare")  # re-prepared, same data: the same numbers again
    pd.testing.assert_frame_equal(metrics(finished), expected)


def test_identical_runs_write_identical_targets(one_epoch_rerun, one_epoch_fresh):
    """The targets of one config written by two runs in two processes: the 1-epoch rerun trained
    both again (epochs key them), from its split; the fresh run made its own split first."""
    twins = list((one_epoch_fresh / "results").rglob("*.pt"))
    assert len(twins) == 2  # the AE (of ae and a3) and the snapshot chain
    for twin in twins:
        path = one_epoch_rerun / twin.relative_to(one_epoch_fresh)
        assert path.read_bytes() == twin.read_bytes(), path
        assert twin.stat().st_mode & 0o044 == 0o044  # group/other readable under the default umask


def test_an_edited_peer_file_reruns_only_the_report(finished):
    """The authors'-code runs (config `peers:`) are an input of the report, keyed by content."""
    peer = finished / "peer.csv"
    peer.write_text("method,seed,epochs,test_auc,test_ap\nAE,110,2,0.9,0.5\n")
    config = finished / "config" / "peers.yaml"
    config.write_text(yaml.safe_dump(dict(TINY, peers={"mine": "peer.csv"})))
    assert {rule for rule, _ in planned(run(finished, "--configfile", str(config)))} == {"report", "all"}  # ran
    assert "Nothing to be done" in run(finished, "-n", "--configfile", str(config))
    peer.write_text("method,seed,epochs,test_auc,test_ap\nAE,110,2,0.8,0.4\n")
    assert {rule for rule, _ in planned(run(finished, "-n", "--configfile", str(config)))} == {"report", "all"}
    peer.unlink()
    with pytest.raises(AssertionError, match="peers: mine: peer.csv is not a file"):
        run(finished, "-n", "--configfile", str(config))


# ---------------------------------------------------------------- keyed by content and meaning (issue 23, 24)
EVERYTHING = {"fetch", "prepare", "split", "target_split", "train_target", "extract", "fit_score"}


def rules_of(jobs) -> set[str]:
    return {rule for rule, _ in jobs} - {"evaluate", "aggregate", "report", "all"}


@pytest.mark.parametrize("script, rules, methods", [
    ("fetch.py", EVERYTHING, set(METHODS)),
    ("prepare.py", EVERYTHING - {"fetch"}, set(METHODS)),
    ("split.py", EVERYTHING - {"fetch", "prepare"}, set(METHODS)),
    ("train_target.py", {"train_target", "extract", "fit_score"}, {"r2ad2-1", "a3", "ae"}),
    ("extract.py", {"extract", "fit_score"}, {"r2ad2-1", "a3"}),
    ("fit_score.py", {"fit_score"}, set(METHODS)),
    ("evaluate.py", set(), set()),
    ("aggregate.py", set(), set()),
    ("report.py", set(), set()),
])
def test_a_script_edited_with_its_mtime_set_back_reruns_its_jobs(finished, script, rules, methods):
    """As `cp -p`, `rsync -a` or `tar x` leave an edited script: older than every output."""
    path = finished / "workflow" / "scripts" / script
    stat = path.stat()
    path.write_text(path.read_text() + "\n# an edit\n")
    os.utime(path, (stat.st_atime, stat.st_mtime - 86400))
    jobs = planned_jobs(finished)
    assert rules_of(jobs) == rules and fits(jobs) == methods
    later = {"aggregate", "report", "all"} | ({"evaluate"} if script not in ("aggregate.py", "report.py") else set())
    assert {rule for rule, _ in jobs} - rules == later - ({"aggregate"} if script == "report.py" else set())


def test_touched_sources_and_scripts_rerun_nothing(finished):
    """`touch`, `git checkout`: newer timestamps, the same content. Also without a profile."""
    for path in [*(finished / "workflow").rglob("*"), *(finished / "code").rglob("*.py")]:
        if path.is_file():
            path.touch()
    assert "Nothing to be done" in run(finished, "-n")
    out = run(finished, "-n", "--workflow-profile", "none")  # Snakemake's default triggers: code is turned off
    assert "Nothing to be done" in out and "rerun triggers: code, mtime off" in out


def changed_config(work: Path, name: str, config: dict) -> Path:
    path = work / "config" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.parametrize("run_settings", [
    dict(reversed(list(TINY["run"].items()))),  # the same settings, keys in another order
    dict(TINY["run"], feature_memory_gb=0.0001),  # a memory strategy: features read batch by batch
    dict(TINY["run"], precision="fp32"),  # no effect on a CPU
    dict(TINY["run"], checkpoint_every_s=0),
], ids=["key-order", "feature-memory", "cpu-precision", "checkpoints"])
def test_run_settings_that_change_no_number_rerun_nothing(finished, run_settings):
    config = changed_config(finished, "same", dict(TINY, run=run_settings))
    assert "Nothing to be done" in run(finished, "-n", "--configfile", str(config))


def test_feature_dtype_reruns_exactly_extract_and_the_feature_readers(finished):
    config = changed_config(finished, "dtype", dict(TINY, run=dict(TINY["run"], feature_dtype="float32")))
    jobs = planned(run(finished, "-n", "--configfile", str(config)))
    assert rules_of(jobs) == {"extract", "fit_score"}
    assert fits(jobs) == {"r2ad2-1", "a3"}  # not AE (its target reads no features), DevNet, IForest


def test_run_epochs_rerun_no_method_that_trains_nothing(finished):
    config = changed_config(finished, "epochs3", dict(TINY, run=dict(TINY["run"], epochs=3)))
    jobs = planned(run(finished, "-n", "--configfile", str(config)))
    assert fits(jobs) == set(METHODS) - {"iforest"}
    # the feature caches follow their retrained targets (inputs); an extract job has no epochs in its key
    assert rules_of(jobs) == {"train_target", "extract", "fit_score"}


def test_one_methods_epochs_replan_exactly_its_jobs_and_are_recorded(finished):
    config = changed_config(finished, "method-epochs", dict(TINY, run=dict(TINY["run"], method_epochs={"r2ad2-1": 1})))
    jobs = planned(run(finished, "--configfile", str(config)))  # the jobs the rerun ran
    assert fits(jobs) == {"r2ad2-1"}
    assert rules_of(jobs) == {"train_target", "extract", "fit_score"}
    # its snapshot chain and gradient cache in a folder of their own: what AE and A³ read is untouched
    assert all("tfile=e1/gaa_snapshots_k4" in w for rule, w in jobs if rule in ("train_target", "extract"))
    records = {r["method"]: r for r in json.loads(next((finished / "results").rglob("metrics.json")).read_text())}
    assert {m: r["epochs"] for m, r in records.items()} == {"r2ad2-1": 1, "a3": 2, "ae": 2, "devnet": 2, "iforest": 2}
    # the loops ran what the record says: R2-AD2-1's chain and alarm 1 epoch, A³'s alarm 2
    logs = finished / "logs"
    chain = next(logs.rglob("e1/gaa_snapshots_k4.log")).read_text()
    assert "epoch 1/1" in chain and "epoch 2/2" not in chain
    assert "epoch 1/1" in next(logs.rglob("fit/**/r2ad2-1.log")).read_text()
    assert "epoch 2/2" in next(logs.rglob("fit/**/a3.log")).read_text()
    assert "Nothing to be done" in run(finished, "-n", "--configfile", str(config))
    assert fits(planned_jobs(finished)) == {"r2ad2-1"}  # back: the other methods were never touched


def installed_as(work: Path, package: str, version: str) -> dict:
    """An environment in which `package` reports `version` (a dist-info first on the path): what a
    down- or upgrade looks like to the DAG build, without changing what the code imports."""
    info = work / "fake-site" / f"{package.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    path = os.pathsep.join(p for p in (str(info.parent), os.environ.get("PYTHONPATH")) if p)
    return {"ALARMBENCH_CODE_ROOT": str(work / "code"), "PYTHONPATH": path}


def test_a_changed_package_version_is_reported_and_rerun_on_request(finished):
    recorded = json.loads(next((finished / "results").rglob("devnet/fit.json")).read_text())["versions"]
    env = installed_as(finished, "scikit-learn", "1.7.2")
    out = snakemake(finished, "-n", env=env)
    assert "Nothing to be done" in out  # no package keys a job outright: kept, and said
    assert (f"software: {len(METHODS)} of {len(METHODS)} existing results were made with other package versions: "
            f"scikit-learn {recorded['scikit-learn']} (installed: 1.7.2) in {len(METHODS)}; kept") in out
    assert "Nothing to be done" in snakemake(finished, "-n", "--config", "software_rerun=[torch]", env=env)
    jobs = planned(snakemake(finished, "-n", "--config", "software_rerun=[scikit-learn]", env=env))
    assert fits(jobs) == set(METHODS)  # every job that recorded another version: fits, targets, caches
    assert rules_of(jobs) == {"train_target", "extract", "fit_score"}
    assert "Nothing to be done" in run(finished, "-n", "--config", "software_rerun=true")  # as installed: nothing


def test_an_edited_recorded_version_is_reported(finished):
    """The issue's simulation: one result says it was made with scikit-learn 1.7.2."""
    record = next((finished / "results").rglob("devnet/fit.json"))
    data = json.loads(record.read_text())
    installed = data["versions"]["scikit-learn"]
    data["versions"]["scikit-learn"] = "1.7.2"
    record.write_text(json.dumps(data))
    out = run(finished, "-n")
    assert (f"software: 1 of {len(METHODS)} existing results were made with other package versions: "
            f"scikit-learn 1.7.2 (installed: {installed}) in 1") in out
    # a record edited by hand no longer matches the key its job ran under: that job alone reruns
    assert fits(planned(out)) == {"devnet"}


def test_edited_published_values_rerun_only_the_report(finished):
    path = finished / "code" / "data" / "paper" / "r2ad2_table3_known.csv"
    path.write_text(path.read_text() + "\n")
    assert {rule for rule, _ in planned_jobs(finished)} == {"report", "all"}
