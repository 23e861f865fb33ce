"""The command line as its reader meets it: help for every option, no torch import where nothing
trains, strict JSON, outputs in a git-ignored place, and a log that says the n it used."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from alarmbench.cli import build_parser, dumps, main

ROOT = Path(__file__).resolve().parents[2]


def _parsers(parser: argparse.ArgumentParser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_option_and_sub_command_has_help():
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions if a.help}
                assert helped == set(action.choices), (path, set(action.choices) - helped)
            else:
                assert action.help, (path, action.option_strings or action.dest)
    top = build_parser().format_help()
    assert "join as stages land" not in top and all(c in top for c in ("run", "report", "plan", "data"))


def test_report_help_promises_what_it_writes():
    text = " ".join(build_parser()._subparsers._group_actions[0].choices["report"].format_help().split())
    assert "with --replace also the combined results.csv and roc.csv" in text
    assert "(default: results/cli/report)" in text


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["report", "--help"], ["plan", "--help"],
                                  ["data", "split", "--help"], ["data", "list"]])
def test_help_and_commands_that_train_nothing_do_not_import_torch(argv):
    code = ("import sys; from alarmbench.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "False", (argv, done.stderr[-2000:])


def test_json_is_strict():
    text = dumps({"val_auc": math.nan, "roc": [0.5, math.inf], "n": 3})
    assert json.loads(text) == {"val_auc": None, "roc": [0.5, None], "n": 3}
    assert "NaN" not in text and "Infinity" not in text


def test_run_writes_under_results_cli_and_logs_the_n_it_used(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = ROOT / "config" / "own-data" / "blobs.npz"
    assert main(["run", "--data", str(data), "--method", "iforest", "--seed", "110", "--n-anomalies", "100",
                 "--raw-dir", str(tmp_path / "raw")]) == 0
    err = capsys.readouterr().err
    (out,) = (tmp_path / "results" / "cli" / "run").iterdir()
    record = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in {out}"))
    assert out.name == f"blobs_known_n{record['n_anomalies']}_p0_seed110_iforest.json"
    assert record["n_anomalies"] == 15  # blobs has 30 anomalous rows: 100 is capped at ⌊30 / 2⌋
    assert "n_anomalies 100 -> 15 known anomalies (capped at ⌊anomalies / 2⌋ = 15)" in err
    assert "100 known anomalies" not in err


def test_report_logs_its_steps_and_writes_one_dvc_metrics_file_per_row(tmp_path, capsys):
    from test_report_records import synthetic_records

    from alarmbench.evaluate.aggregate import collect

    records = [r for r in synthetic_records() if r["experiment"] == "known" and r["dataset"] == "mammography"]
    collect(records, tmp_path / "results.csv")
    assert main(["report", "--results", str(tmp_path / "results.csv"), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    for step in ("report: reading", "drawing the figures", "ranks and significance", "paper comparison"):
        assert step in err, (step, err[-2000:])
    flat = json.loads((tmp_path / "out" / "metrics.json").read_text())
    files = {p.relative_to(tmp_path / "out" / "metrics").as_posix(): json.loads(p.read_text())
             for p in (tmp_path / "out" / "metrics").rglob("*.json")}
    assert files and {f"{k.rsplit('/', 1)[0]}.json" for k in flat} == set(files)
    for key, value in flat.items():
        where, metric = key.rsplit("/", 1)
        assert files[f"{where}.json"][metric] == value
