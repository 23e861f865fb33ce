"""The n_anomalies count rules: a count (capped at ⌊A/2⌋ where A is known before any job, as
before), "half" (per seed's split), and "min(N, A/2)" (the usual protocol, always capped); the
effective n is said wherever it differs from the requested one."""

from __future__ import annotations

import pytest

from alarmbench import configcheck, grid
from alarmbench.cli import main
from alarmbench.methods.catalog import ConfigError


def _config(n, datasets=("breast_cancer", "adbench_thyroid", "mammography")) -> dict:
    return {"seeds": [1], "datasets": list(datasets),
            "grids": {"a": {"experiments": ["known"], "methods": ["ae"], "n_anomalies": n}}}


@pytest.mark.parametrize("text", ["min(100, A/2)", "min(100,A/2)", " min( 100 , A / 2 ) "])
def test_min_syntax_parses(text):
    assert grid.parse_n(text) == grid.HalfCapped(100)
    assert str(grid.parse_n(text)) == "min(100, A/2)"


@pytest.mark.parametrize("bad", ["min(100, half)", "min(-1, A/2)", "max(100, A/2)", -3, 1.5, True])
def test_other_values_are_refused_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"grids\.a\.n_anomalies: .* is not a count ≥ 0, 'half'"):
        configcheck._check_n("grids.a", [bad], ["mammography"])


def test_min_form_caps_at_half_the_anomalous_rows_and_counts_keep_their_meaning():
    ns = lambda n: {(j.cell.dataset, j.cell.n_anomalies) for j in grid.expand(_config(n))}  # noqa: E731
    # breast cancer: 212 malignant rows (documented) -> 106; thyroid: A = 93 -> 46; Mammography: A = 260
    assert ns(["min(300, A/2)"]) == {("breast_cancer", 106), ("adbench_thyroid", 46), ("mammography", 130)}
    assert ns(["min(100, A/2)"]) == {("breast_cancer", 100), ("adbench_thyroid", 46), ("mammography", 100)}
    # a count: capped only where the registry's anomaly total is known (unchanged: existing results stay)
    assert ns([300]) == {("breast_cancer", 300), ("adbench_thyroid", 46), ("mammography", 300)}
    assert ns(["half"]) == {(d, "half") for d in ("breast_cancer", "adbench_thyroid", "mammography")}


def test_min_form_refused_where_the_anomalies_are_not_known_before_the_data():
    with pytest.raises(ValueError, match=r"min\(100, A/2\) needs the anomalous rows of data set ids"):
        grid.expand(_config(["min(100, A/2)"], datasets=["ids"]))


def test_effective_n_is_said_where_it_differs():
    notes = grid.n_notes(_config([10, 100, "min(300, A/2)"]))
    assert ("adbench_thyroid: n_anomalies 100 -> 46 known anomalies in known (at most ⌊A/2⌋, A = 93 anomalous "
            "rows)") in notes
    assert ("breast_cancer: n_anomalies min(300, A/2) -> 106 known anomalies in known (at most ⌊A/2⌋, A = 212 "
            "anomalous rows)") in notes
    assert not [n for n in notes if " 10 -> " in n or n.startswith("mammography: n_anomalies 100")]
    # split.json records the grid's values as written
    assert grid.requested_n(_config(["min(300, A/2)", 106]))["breast_cancer/known/n106_p0/seed1"] == [
        106, "min(300, A/2)"]


def test_plan_and_the_dag_build_say_the_effective_n(tmp_path, capsys):
    import yaml

    from alarmbench import plan

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config([100])))
    assert main(["plan", "--configfile", str(path)]) == 0
    line = "adbench_thyroid: n_anomalies 100 -> 46 known anomalies in known (at most ⌊A/2⌋, A = 93 anomalous rows)"
    assert line in capsys.readouterr().out.splitlines()
    plan.print_summary(plan.read_config([path]))  # what the workflow prints when it builds the DAG
    assert f"  {line}" in capsys.readouterr().err.splitlines()


def test_cli_run_says_the_effective_n(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "--dataset", "breast_cancer", "--method", "iforest", "--seed", "110", "--n-anomalies",
                 "min(300, A/2)", "--raw-dir", str(tmp_path / "raw"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "n_anomalies min(300, A/2) -> 106 known anomalies" in err
    import json

    assert json.loads(out.read_text())["n_anomalies"] == 106
