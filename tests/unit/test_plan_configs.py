"""`alarmbench plan` on every shipped config, in a fresh copy of the repository (no data/, no
results/): every registered data set has its documented size, so no row is "?" and nothing
crashes; the own-data example's `half` and per-data-set n_anomalies included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alarmbench.cli import main

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = {"small-real-cpu.yaml": "small-real.yaml"}  # an overlay is planned over the config it overlays
CONFIGS = sorted(p.name for p in (ROOT / "config").glob("*.yaml"))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("clone")
    for item in ("config", "workflow"):
        shutil.copytree(ROOT / item, dest / item)
    return dest


@pytest.mark.parametrize("name", CONFIGS)
def test_plan_of_a_shipped_config_on_a_fresh_clone(fresh, monkeypatch, capsys, name):
    monkeypatch.chdir(fresh)
    files = [f"config/{OVERLAYS[name]}", f"config/{name}"] if name in OVERLAYS else [f"config/{name}"]
    assert main(["plan", "--configfile", *files]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0].splitlines()
    rows = [line.split() for line in table[1:] if len(line.split()) > 3 and line.split()[2].isdigit()]
    assert rows, out
    assert not [r for r in rows if "?" in r], out  # every data set's shapes are known
    modelled = [r for r in rows if r[3] != "-" or r[4] != "-"]
    assert modelled and all(r[10] != "-" for r in modelled)
    assert "run in all: <1 s" not in out
    assert not (fresh / "data").exists()  # nothing was downloaded or prepared
