"""Configuration that means nothing is an error before any job, naming the key, value and what is
accepted (issue 15); every shipped config passes and plans."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alarmbench.cli import main
from alarmbench.configcheck import check_config, check_jobs
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
