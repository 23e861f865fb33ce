"""Jobs keyed by content and meaning (issues 23 and 24): scripts by content, run settings only
where they can change a job's output and in a canonical form, per-method epochs resolved in one
place and checked before any job, package versions recorded and compared."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from alarmbench import codekeys, grid, runkeys, software, workflow_triggers
from alarmbench.configcheck import check_config
from alarmbench.methods.catalog import METHODS, ConfigError

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
CPU = {"device": "cpu", "threads": 1, "precision": "tf32", "feature_dtype": "float16", "feature_memory_gb": 4,
       "checkpoint_every_s": 300, "epochs": 3}


# ------------------------------------------------------------------ scripts keyed by content
def _script(tmp_path: Path, body: str, mtime: float | None = None) -> str:
    path = tmp_path / "fit_score.py"
    path.write_text(body)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def test_a_script_is_keyed_by_its_content_not_its_timestamp(tmp_path):
    body = "from alarmbench.stages.fit import fit_score_stage\n"
    key = codekeys.code_key(_script(tmp_path, body))
    codekeys._file_digest.cache_clear(), codekeys.code_key.cache_clear()  # both memoised per process (one DAG build)
    assert codekeys.code_key(_script(tmp_path, body, mtime=1.0)) == key  # touched / set back: same
    codekeys._file_digest.cache_clear(), codekeys.code_key.cache_clear()  # both memoised per process (one DAG build)
    assert codekeys.code_key(_script(tmp_path, body + "x = 1\n", mtime=1.0)) != key  # edited, older mtime


def test_a_script_key_covers_the_modules_it_imports():
    script = str(ROOT / "workflow" / "scripts" / "fit_score.py")
    modules = codekeys.closure(tuple(sorted(codekeys._script_imports(Path(script)))))
    assert {"alarmbench.stages.fit", "alarmbench.workflow_log", "alarmbench.runkeys"} <= set(modules)


def test_published_values_key_the_report():
    files = codekeys.package_data("data/paper")
    assert {"r2ad2_table3_known.csv", "a3_table5_f1.csv"} <= set(files)
    assert all(len(digest) == 64 for digest in files.values())


def test_the_timestamp_triggers_are_turned_off_for_a_run_without_a_profile(capsys):
    from snakemake.settings.enums import RerunTrigger

    settings = SimpleNamespace(rerun_triggers=RerunTrigger.all())  # Snakemake's default: no profile
    workflow = SimpleNamespace(dag_settings=settings, is_main_process=True)
    assert workflow_triggers.content_only(workflow) == ["code", "mtime"]
    assert set(settings.rerun_triggers) == {RerunTrigger.PARAMS, RerunTrigger.INPUT, RerunTrigger.SOFTWARE_ENV}
    assert "code, mtime off" in capsys.readouterr().err
    assert workflow_triggers.content_only(workflow) == []  # once
    assert workflow_triggers.content_only(SimpleNamespace(dag_settings=None)) == []  # Snakefile still parsing


@pytest.mark.parametrize("profile", ["default", "slurm"])
def test_the_profiles_leave_the_code_trigger_out(profile):
    triggers = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())["rerun-triggers"]
    assert "code" not in triggers and "mtime" not in triggers
    assert {"params", "input"} <= set(triggers)


# ------------------------------------------------------------------ run settings keyed by meaning
def test_key_order_does_not_change_a_key():
    reordered = dict(reversed(list(CPU.items())))
    options = {"b": 1, "a": {"y": 2, "x": 1}}
    a = runkeys.job_key(CPU, epochs=3, trains=True, reads_features=True, options=options)
    b = runkeys.job_key(reordered, epochs=3, trains=True, reads_features=True, options=dict(reversed(options.items())))
    assert repr(a) == repr(b)  # Snakemake compares params by repr


def test_a_memory_strategy_and_the_checkpoint_interval_are_never_keyed():
    key = runkeys.job_key(CPU, epochs=3, trains=True, reads_features=True)
    assert runkeys.job_key(dict(CPU, feature_memory_gb=0.001, checkpoint_every_s=0), epochs=3, trains=True,
                           reads_features=True) == key
    assert "feature_memory_gb" not in key and "checkpoint_every_s" not in key


@pytest.mark.parametrize("precision", ["tf32", "fp32"])
def test_precision_on_a_cpu_is_not_keyed_but_bf16_autocast_is(precision):
    assert "precision" not in runkeys.job_key(dict(CPU, precision=precision), trains=True, autocasts=True)
    assert runkeys.job_key(dict(CPU, precision="bf16"), trains=True, autocasts=True)["precision"] == "bf16"
    assert "precision" not in runkeys.job_key(dict(CPU, precision="bf16"), trains=True)  # a target job


def test_precision_on_cuda_is_keyed(monkeypatch):
    monkeypatch.setattr(runkeys, "gpu_claim", lambda spec: 1)
    assert runkeys.job_key(dict(CPU, device="cuda:1", precision="fp32"))["precision"] == "fp32"
    assert runkeys.job_key(dict(CPU, device="cuda:1"))["device"] == runkeys.job_key(dict(CPU, device="cuda:0"))["device"]
    assert "precision" not in runkeys.job_key(dict(CPU, device="cuda"), cpu_only=True)  # IForest runs on the CPU


def test_epochs_and_feature_dtype_only_where_they_shape_the_output():
    key = runkeys.job_key(CPU, epochs=3)
    assert "epochs" not in key and "feature_dtype" not in key  # IForest: trains nothing, reads no features
    assert runkeys.job_key(CPU, epochs=None, trains=True)["epochs"] is None  # the papers' epochs, keyed
    assert runkeys.job_key(CPU, reads_features=True)["feature_dtype"] == "float16"


def test_a_job_runs_with_its_key_and_the_settings_as_configured():
    config = dict(CPU, device="auto", precision="fp32")
    run = runkeys.job_run(config, runkeys.job_key(config, epochs=2, trains=True))
    assert run["epochs"] == 2 and run["device"] == "auto" and run["precision"] == "fp32"
    assert run["feature_memory_gb"] == 4 and run["checkpoint_every_s"] == 300


def test_a_memory_strategy_keeps_checkpoints():
    from alarmbench.stages.context import job_fingerprint

    assert job_fingerprint("k", dict(CPU, feature_memory_gb=1)) == job_fingerprint("k", dict(CPU, feature_memory_gb=8))


# ------------------------------------------------------------------ epochs per method
@pytest.mark.parametrize(("run", "dataset", "method", "want"), [
    ({"epochs": 3, "method_epochs": {"r2ad2": 1}}, "x", "r2ad2", 1),
    ({"epochs": 3, "method_epochs": {"r2ad2": 1}}, "x", "ae", 3),
    ({"epochs": 3, "method_epochs": {"r2ad2": 1}}, "x", None, 3),
    ({"epochs": 3, "method_epochs": {"ae": None}}, "x", "ae", None),  # the papers' for AE only
    ({"epochs": {"x": 2}, "method_epochs": {"ae": {"y": 5}}}, "x", "ae", 2),  # y only: x takes run.epochs
    ({"epochs": {"x": 2}, "method_epochs": {"ae": {"y": 5}}}, "y", "ae", 5),
    ({"epochs": 1, "method_epochs": {"ae": {"y": 5, "default": None}}}, "x", "ae", None),
])
def test_epochs_per_method_and_data_set(run, dataset, method, want):
    assert grid.epochs_for(run, dataset, method) == want


def _config(**run) -> dict:
    config = copy.deepcopy(BASE)
    config["run"] = dict(config["run"], **run)
    return config


@pytest.mark.parametrize(("method_epochs", "message"), [
    ({"r2add2": 1}, r"run.method_epochs: unknown method 'r2add2' \(did you mean 'r2ad2'\?\)"),
    ({"iforest": 1}, r"run.method_epochs.iforest: iforest trains no network"),
    ({"r2ad2": {"digitz": 1}}, r"run.method_epochs.r2ad2: 'digitz' is not one of the configured datasets"),
    ({"ae": 0}, r"run.method_epochs.ae: 0 is not a number of epochs"),
])
def test_unknown_method_epochs_are_refused_before_any_job(method_epochs, message):
    with pytest.raises(ConfigError, match=message):
        check_config(_config(method_epochs=method_epochs))


def test_every_method_that_trains_may_have_epochs_of_its_own():
    check_config(_config(method_epochs={m: {"digits": 1, "default": None} for m, d in METHODS.items() if d.trains}))


def test_the_schema_declares_method_epochs_beside_the_other_run_settings():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert "method_epochs" in schema["properties"]["run"]["properties"]


# ------------------------------------------------------------------ software versions
def _record(tmp_path: Path, name: str, versions: dict | None) -> Path:
    path = tmp_path / name / "fit.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"method": name, **({"versions": versions} if versions is not None else {})}))
    return path


def test_the_installed_versions_are_those_that_can_change_a_number():
    assert {"torch", "numpy", "scipy", "scikit-learn", "pandas"} <= set(software.installed()) <= set(software.PACKAGES)


def test_other_versions_are_reported_with_packages_and_counts(tmp_path):
    now = software.installed()
    same = _record(tmp_path, "a", now)
    old = _record(tmp_path, "b", dict(now, **{"scikit-learn": "1.7.2"}))
    none = _record(tmp_path, "c", None)  # made before versions were recorded
    assert software.report([same, none]) is None
    message = software.report([same, old, none, tmp_path / "missing.json"])
    assert "1 of 2 existing results" in message
    assert f"scikit-learn 1.7.2 (installed: {now['scikit-learn']}) in 1" in message
    assert "software_rerun=true" in message


@pytest.mark.parametrize(("value", "want"), [
    (True, True), ("true", True), ("false", False), (False, False), (None, False), (["torch"], ["torch"]),
])
def test_the_switch_as_the_config_and_the_command_line_give_it(value, want):
    from snakemake.utils import validate

    assert software.switch(value) == want
    config = copy.deepcopy(BASE)
    if value is not None:
        config["software_rerun"] = value
        validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))


def test_the_switch_reruns_exactly_the_results_made_with_other_versions(tmp_path):
    now = software.installed()
    same = _record(tmp_path, "a", now)
    old_versions = dict(now, torch="0.1")
    old = _record(tmp_path, "b", old_versions)
    # off: the param stays what the record says, so nothing reruns
    assert software.job_param(old) == dict(sorted(old_versions.items()))
    assert software.job_param(same) == dict(sorted(now.items()))
    # on: the installed versions where they differ (the param changes: that job reruns and records them)
    assert software.job_param(old, True) == dict(sorted(now.items()))
    assert software.job_param(same, True) == software.job_param(same)
    assert software.job_param(old, ["scikit-learn"]) == dict(sorted(old_versions.items()))  # not torch
    assert software.job_param(old, ["torch"]) == dict(sorted(now.items()))
    assert software.job_param(tmp_path / "new.json") == dict(sorted(now.items()))  # no output yet
