"""Configuration that means nothing is an error before any job, naming the key, value and what is
accepted (issue 15); every shipped config passes and plans."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from alarmbench.cli import main
from alarmbench.configcheck import DATASET_NAME, check_config, check_dataset_name, check_jobs
from alarmbench.data import registry
from alarmbench.data.prepare import Prepared
from alarmbench.errors import InputError
from alarmbench.stages.split import split_stage
from alarmbench.grid import expand
from alarmbench.methods.catalog import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def checked(**changes):
    config = copy.deepcopy(BASE)
    config.setdefault("method_options", {})
    for key, value in changes.items():
        target = config
        *parents, last = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    check_config(config)
    check_jobs(expand(config))


def test_the_default_config_passes():
    checked()


@pytest.mark.parametrize("change, message", [
    ({"method_options": {"r2ad2": {"ae_epochz": 3}}}, r"method_options.r2ad2: unknown option 'ae_epochz'.*accepts"),
    ({"method_options": {"r2add2": {}}}, r"unknown method 'r2add2' \(did you mean 'r2ad2'\?\)"),
    ({"method_options": {"devnet": {"devnet_fixed_reference": "no"}}}, r"devnet_fixed_reference: 'no' is not a bool"),
    ({"method_options": {"gradcon": {"gradcon_cosine": "cosine"}}}, r"'cosine' is not one of \['elementwise'"),
    ({"method_options": {"r2ad2": {"snapshots_per_k": True}}}, r"snapshots_per_k: not supported by the workflow"),
    ({"method_options": {"r2ad2": {"holdout_redraw": True}}}, r"holdout_redraw: true needs stored re-draws"),
    ({"run.epochs": {"digitz": 1}}, r"run.epochs: 'digitz' is not one of the configured datasets.*'digits'"),
    ({"max_fpr": {"digitz": 0.1}}, r"max_fpr: 'digitz'"),
    ({"grids.known.experiments": ["knwon"]}, r"grids.known.experiments: unknown experiment 'knwon'.*'known'"),
    ({"grids.known.datasets": ["digitz"]}, r"grids.known.datasets: 'digitz' is not one of the configured"),
    ({"grids.known.methods": ["r2ad3"]}, r"grids.known.methods: unknown method 'r2ad3'"),
    ({"datasets": ["digitz"]}, r"datasets: unknown data set 'digitz' \(did you mean 'digits'\?\)"),
])
def test_meaningless_configuration_is_named(change, message):
    config = copy.deepcopy(BASE)
    config.update(change if not any("." in k for k in change) else {})
    with pytest.raises(ConfigError, match=message):
        checked(**change) if any("." in k for k in change) else (check_config(config), check_jobs(expand(config)))


def test_a_grid_set_that_yields_no_job_is_an_error():
    config = copy.deepcopy(BASE)
    config["datasets"] = ["breast_cancer"]
    config["grids"] = {"a3": BASE["grids"]["a3"]}  # breast_cancer has no a3-* experiments
    check_config(config)
    with pytest.raises(ConfigError, match="no grid applies to any configured data set"):
        check_jobs(expand(config))


def test_user_dataset_keys_are_a_closed_schema(tmp_path):
    (tmp_path / "mine.csv").write_text("a,label\n1,0\n2,1\n")
    config = copy.deepcopy(BASE)
    config["datasets"] = ["mine"]
    config["user_datasets"] = {"mine": {"path": str(tmp_path / "mine.csv"), "label_colum": "label",
                                        "normal": [0], "anomalies": [1]}}
    with pytest.raises(ValueError, match="label_colum"):
        check_config(config)


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "must be at least 1"), (["--epochs", "-3"], "must be at least 1"),
    (["--seed", "-1"], "must be ≥ 0"),
])
def test_cli_refuses_epochs_below_one_and_negative_seeds(args, message, capsys):
    argv = ["run", "--dataset", "digits", "--method", "ae", "--seed", "110", "--out", "x.json"]
    if args[0] == "--seed":
        argv[argv.index("--seed") + 1] = args[1]
    else:
        argv += args
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_cli_refuses_an_unknown_option(tmp_path, capsys):
    code = main(["run", "--dataset", "digits", "--method", "devnet", "--seed", "110", "--option", "devnet_fixd=1",
                 "--out", str(tmp_path / "m.json")])
    assert code == 2 and "unknown option 'devnet_fixd'" in capsys.readouterr().err


@pytest.mark.slow  # starts Snakemake
@pytest.mark.parametrize("configs", [["config.yaml"], ["paper.yaml"], ["small-real.yaml"],
                                     ["small-real.yaml", "small-real-cpu.yaml"]])
def test_every_shipped_config_validates_and_plans(configs, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-n", "-q", "--directory", str(tmp_path), "-s",
           str(ROOT / "Snakefile"), "--configfile", *[str(ROOT / "config" / c) for c in configs]]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow  # starts Snakemake
def test_a_bad_config_fails_before_any_job(tmp_path):
    config = copy.deepcopy(BASE)
    config["method_options"] = {"r2ad2": {"ae_epochz": 3}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "--directory", str(tmp_path), "-s",
           str(ROOT / "Snakefile"), "--configfile", str(tmp_path / "bad.yaml")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode != 0 and "unknown option 'ae_epochz'" in result.stdout + result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- data-set names and pollution

@pytest.mark.parametrize("name", ["../up", "a/b", "two words", "dot.ted", "", "tab\there"])
@pytest.mark.parametrize("key", ["user_datasets", "datasets"])
def test_unsafe_dataset_names_are_refused(name, key, tmp_path):
    config = copy.deepcopy(BASE)
    if key == "user_datasets":
        (tmp_path / "t.csv").write_text("a,label\n1,0\n2,1\n")
        config["user_datasets"] = {name: {"path": str(tmp_path / "t.csv")}}
    else:
        config["datasets"] = ["digits", name]
    with pytest.raises(ConfigError, match=rf"^{key}: data set name {re.escape(repr(name))} is not allowed: .*"
                                          r"only letters, digits, '_' and '-'"):
        check_config(config)


def test_every_registered_name_is_safe_and_the_workflow_wildcard_is_the_same_pattern():
    assert [n for n in registry.REGISTRY if not re.fullmatch(DATASET_NAME, n)] == []
    assert "dataset=configcheck.DATASET_NAME," in (ROOT / "workflow" / "rules" / "common.smk").read_text()
    check_dataset_name("sensors_2024-v2", "user_datasets")


def _polluted(datasets: list[str], levels: list[float], **config) -> dict:
    return copy.deepcopy(BASE) | {"datasets": datasets, "grids": {"sweep": {
        "experiments": ["known"], "n_anomalies": [10], "pollution": levels, "methods": ["ae"]}}} | config


def _at_most(error: ConfigError) -> float:
    return float(re.search(r"pollution can be at most ([0-9.]+) there", str(error)).group(1))


def test_pollution_beyond_the_tables_anomalies_is_refused_naming_what_is_possible():
    # breast_cancer: 357 benign (normal), 212 malignant; 0.99 would relabel 99 × 357 rows.
    with pytest.raises(ConfigError) as exc:
        check_config(_polluted(["breast_cancer"], [0.0, 0.05, 0.99]))
    message = str(exc.value)
    assert message.startswith("grids.sweep.pollution: 0.99 needs more anomalies than data set 'breast_cancer'")
    assert "round(n_normal·p/(1−p))" in message and "35343 for its 357 normal rows" in message
    assert "it has 212 rows of the anomaly classes ['malignant']" in message
    most = _at_most(exc.value)
    assert most == 0.372  # ⌊1000 · 212 / 569⌋ / 1000: the bound itself passes, a bit beyond it fails
    check_config(_polluted(["breast_cancer"], [most]))
    with pytest.raises(ConfigError, match=r"0\.38 needs more anomalies"):
        check_config(_polluted(["breast_cancer"], [0.38]))


@pytest.mark.parametrize("name", [n for n, s in registry.REGISTRY.items() if not any(x.files for x in s.sources)])
def test_an_embedded_tables_declared_class_counts_are_its_loaders(name):
    """The pollution check reads an embedded table's counts from its documented shape (no
    scikit-learn at the DAG build): they must be what loading it gives."""
    from alarmbench.configcheck import embedded_class_counts
    from alarmbench.data.pollution import class_counts
    from alarmbench.data.prepare import load

    spec = registry.REGISTRY[name]
    table = load(spec, spec.sources[0], {})
    assert embedded_class_counts(spec) == class_counts(table.labels, table.is_test)


def test_pollution_is_checked_on_a_user_table_and_on_a_prepared_table(tmp_path):
    # A user file: counted outside its official test part (sensors.csv: 75 test rows).
    sensors = {"path": str(ROOT / "config" / "own-data" / "sensors.csv"), "label_column": "state",
               "normal": ["ok"], "anomalies": ["drift", "spike"], "test_column": "official_test"}
    with pytest.raises(ConfigError, match=r"data set 'sensors' .*pollution can be at most") as exc:
        check_config(_polluted([], [0.9], user_datasets={"sensors": sensors}))
    check_config(_polluted([], [_at_most(exc.value)], user_datasets={"sensors": sensors}))
    # A downloaded data set: unknown before its first fetch, checked once its prepared table is there.
    config = _polluted(["covtype"], [0.5], prepared_dir=str(tmp_path))
    check_config(config)
    labels = np.array(["1"] * 60 + ["2"] * 30 + ["3"] * 10 + ["4"] * 20 + ["5"] * 40)
    is_test = np.zeros(len(labels), bool)
    is_test[-30:] = True  # official test rows: 30 of the anomalies do not count
    np.savez(tmp_path / "covtype.npz", X=np.zeros((len(labels), 1)), labels=labels, is_test=is_test)
    with pytest.raises(ConfigError, match=r"0\.5 needs more anomalies than data set 'covtype' .* 100 for its 100 "
                                          r"normal rows, but it has 30 rows .*at most 0\.23 there"):
        check_config(config)


@pytest.mark.slow
@pytest.mark.parametrize("change, message", [
    ({"grids": {"p": {"experiments": ["known"], "methods": ["ae"], "pollution": [0.99]}}},
     "grids.p.pollution: 0.99 needs more anomalies than data set 'breast_cancer'"),
    ({"user_datasets": {"my data": {"path": "t.csv"}}}, "data set name 'my data' is not allowed"),
])
def test_a_bad_name_or_pollution_fails_before_any_job(change, message, tmp_path):
    config = copy.deepcopy(BASE) | {"datasets": ["breast_cancer"]} | change
    (tmp_path / "t.csv").write_text("a,label\n1,0\n2,1\n")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "--directory", str(tmp_path), "-s",
           str(ROOT / "Snakefile"), "--configfile", str(tmp_path / "bad.yaml")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


def test_the_split_job_checks_pollution_on_a_table_that_was_downloaded_after_the_config_check(tmp_path):
    labels = np.array(["1"] * 60 + ["2"] * 30 + ["3"] * 10 + ["4"] * 20 + ["5"] * 40)
    Prepared("covtype", np.zeros((len(labels), 2)), labels, labels, None, None, {"dataset": "covtype"}).save(
        tmp_path / "covtype.npz")
    cell = dict(prepared=str(tmp_path / "covtype.npz"), dataset="covtype", experiment="known", seed=110,
                n_anomalies=10, protocol={}, out_npz=str(tmp_path / "split.npz"), out_json=str(tmp_path / "split.json"))
    with pytest.raises(InputError, match=r"^pollution: 0\.5 needs more anomalies than data set 'covtype' .*100 for "
                                         r"its 100 normal rows, but it has 60 rows .*at most 0\.375 there"):
        split_stage(**cell, pollution=0.5)
    assert not (tmp_path / "split.npz").exists()
    split_stage(**cell, pollution=0.3)
    assert (tmp_path / "split.npz").exists()
