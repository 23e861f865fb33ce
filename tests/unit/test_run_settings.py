"""A job's run settings are one typed object (`runopts.RunSettings`) with the defaults in one
place: the workflow schema states the same defaults for the config's readers, `alarmbench run`'s
flags and the fit context take theirs from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from alarmbench.runopts import DEFAULTS, RunSettings

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def test_schema_defaults_are_the_settings_defaults():
    run = yaml.safe_load(SCHEMA.read_text())["properties"]["run"]["properties"]
    for f in dataclasses.fields(RunSettings):
        if f.name in run and "default" in run[f.name]:
            schema = run[f.name]["default"]
            ours = getattr(DEFAULTS, f.name)
            assert (schema, type(schema) is bool) == (ours, type(ours) is bool) or \
                (f.name == "device" and schema == "auto" and ours in ("auto", None)), f.name
    assert {"precision", "threads", "feature_dtype", "checkpoint_every_s", "feature_memory_gb", "device"} <= set(run)


def test_from_run_fills_defaults_and_reads_only_settings():
    s = RunSettings.from_run({"precision": "bf16", "epochs": 3, "method_epochs": {"gbdt": 1}})
    assert (s.precision, s.epochs, s.threads, s.feature_dtype) == ("bf16", 3, DEFAULTS.threads, DEFAULTS.feature_dtype)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.precision = "fp32"  # type: ignore[misc]


@pytest.mark.parametrize("bad, match", [({"precision": "fp16"}, "run.precision"),
                                        ({"feature_dtype": "int8"}, "run.feature_dtype"),
                                        ({"checkpoint_every_s": -1}, "run.checkpoint_every_s")])
def test_bad_settings_name_the_key(bad, match):
    with pytest.raises(ValueError, match=match):
        RunSettings.from_run(bad)


def test_cli_and_context_defaults_come_from_the_settings(monkeypatch):
    from alarmbench import cli, runopts
    from alarmbench.runner import CellSpec

    args = cli.build_parser().parse_args(["run", "--dataset", "digits", "--method", "gbdt", "--seed", "110"])
    assert (args.precision, args.feature_dtype, args.threads, args.checkpoint_every_s) == (
        DEFAULTS.precision, DEFAULTS.feature_dtype, DEFAULTS.threads, DEFAULTS.checkpoint_every_s)
    cell = CellSpec("digits", "gbdt", 110)
    assert cell.settings() == dataclasses.replace(DEFAULTS, device=None)  # None: CUDA when available, as auto
    # one place: another default there is the parser's
    monkeypatch.setattr(runopts, "DEFAULTS", dataclasses.replace(DEFAULTS, precision="fp32"))
    args = cli.build_parser().parse_args(["run", "--dataset", "digits", "--method", "gbdt", "--seed", "110"])
    assert args.precision == "fp32"
