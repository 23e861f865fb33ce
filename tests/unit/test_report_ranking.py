"""Rankings over data sets (`report.ranking`), their table (`report.ranking_table`), the
critical-difference diagram (`report.cd_diagram`) and their place in the report stage
(`report.ranking_outputs`). The tests themselves: test_report_stats.py."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_report_records import SEEDS, record, synthetic_records

from alarmbench.evaluate.aggregate import collect, records_to_frame, summarise
from alarmbench.report import labels as L
from alarmbench.report import cd_diagram as CD
from alarmbench.report import ranking as R
from alarmbench.report import ranking_outputs as O
from alarmbench.report import ranking_table as T
from alarmbench.report import stats as S
from alarmbench.report.build import build_reports
from alarmbench.report.latex import braces_balanced
from alarmbench.report.select import table_rows

HAS_POSTHOCS = S.scikit_posthocs() is not None


@pytest.fixture
def scores():
    """6 data sets (stats.MIN_DATASETS) × 3 methods, a tie on d2: ranks A 1,1.5,3,1,1,1;
    B 2,1.5,1,3,3,2; C 3,3,2,2,2,3."""
    return pd.DataFrame({"r2ad2": [0.90, 0.80, 0.70, 0.95, 0.90, 0.85], "ae": [0.80, 0.80, 0.90, 0.85, 0.70, 0.80],
                         "iforest": [0.70, 0.60, 0.80, 0.90, 0.80, 0.75]}, index=["d1", "d2", "d3", "d4", "d5", "d6"])


@pytest.fixture(scope="module")
def summary():
    return summarise(records_to_frame(synthetic_records(sweeps=True, transfer=False, a3=False, roc=False)))


def test_friedman_matches_scipy(scores):
    r = R.rank_scores(scores)
    direct = stats.friedmanchisquare(scores["r2ad2"], scores["ae"], scores["iforest"])
    assert r.friedman_statistic == pytest.approx(direct.statistic)
    assert r.friedman_pvalue == pytest.approx(direct.pvalue)
    assert r.testable and r.n_methods == 3 and r.n_datasets == 6


def test_wilcoxon_holm_fallback(scores, monkeypatch):
    monkeypatch.setattr(S, "scikit_posthocs", lambda: None)
    r = R.rank_scores(scores)
    assert r.posthoc_test == S.WILCOXON_HOLM
    p = r.posthoc
    assert list(p.index) == list(r.average_rank.index) and (np.diag(p) == 1).all()
    assert np.allclose(p.to_numpy(), p.to_numpy().T)
    raw = [stats.wilcoxon(scores[a], scores[b]).pvalue for a, b in
           (("r2ad2", "ae"), ("r2ad2", "iforest"), ("ae", "iforest"))]
    adjusted = S.holm(raw)
    assert p.loc["r2ad2", "iforest"] == pytest.approx(adjusted[1])
    same = scores.assign(copy=scores["ae"])
    assert S.wilcoxon_holm(same).loc["ae", "copy"] == 1.0  # never differs → p = 1


@pytest.mark.skipif(not HAS_POSTHOCS, reason="scikit-posthocs not installed")
def test_nemenyi_agrees_with_the_cd():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.normal(size=(12, 5)) + np.arange(5)[::-1] * 0.6,
                          columns=["r2ad2", "ae", "gradcon", "deepsad", "iforest"])
    r = R.rank_scores(scores)
    assert r.posthoc_test == S.NEMENYI
    post = T.posthoc_frame(r)
    assert len(post) == 10 and set(post["test"]) == {S.NEMENYI}
    # Nemenyi: significant exactly when the average ranks differ by more than the CD
    clear = (post["rank_difference"] - r.cd).abs() > 0.05
    assert (post.loc[clear, "significant"] == (post.loc[clear, "rank_difference"] > r.cd)).all()


def test_missing_methods_are_dropped_and_reported(scores, tmp_path):
    partial = scores.iloc[:4].assign(devnet=[0.99, np.nan, 0.5, 0.6], gradcon=[0.5, 0.4, 0.3, 0.2])
    partial.loc["d5"] = [np.nan, 0.7, np.nan, np.nan, np.nan]  # one method only: the data set goes
    r = R.rank_scores(partial)
    assert set(r.scores.columns) == {"r2ad2", "ae", "iforest", "gradcon"}
    assert list(r.scores.index) == ["d1", "d2", "d3", "d4"]
    assert r.dropped_methods == {"devnet": ["d2"]}
    assert r.dropped_datasets == {"d5": ["r2ad2", "iforest", "gradcon"]}
    frame = T.ranking_frame(r)
    dropped = frame.set_index("method").loc["devnet"]
    assert math.isnan(dropped["average_rank"]) and dropped["dropped"] == "missing on d2"
    assert dropped["n_datasets"] == 3 and dropped["mean_score"] == pytest.approx((0.99 + 0.5 + 0.6) / 3)
    tex = T.ranking_table(r).latex.render()
    assert "Not ranked" in tex and r"DevNet" in tex and "Data sets left out" in tex


def test_too_few_data_sets_or_methods_skip(scores, tmp_path):
    one = R.rank_scores(scores.iloc[:1])
    assert not one.testable and "data set" in one.reason and math.isnan(one.friedman_pvalue)
    five = R.rank_scores(scores.iloc[:5])  # below stats.MIN_DATASETS: ranks, but no test and no CD
    assert not five.testable and "fewer than the 6" in five.reason and math.isnan(five.cd)
    assert five.posthoc.empty and list(five.average_rank.index)[0] == "r2ad2"
    assert "No Friedman test: 5 data set(s), fewer than the 6" in T.ranking_table(five).latex.render()
    assert one.posthoc.empty and math.isnan(one.cd)
    two = R.rank_scores(scores[["r2ad2", "ae"]])
    assert not two.testable and math.isnan(two.friedman_statistic)
    with pytest.raises(ValueError):
        CD.cd_diagram(two, tmp_path / "cd")
    single = summarise(records_to_frame([record("digits", "known", m, s) for m in ("r2ad2", "ae", "devnet")
                                         for s in SEEDS]))
    assert O.all_rankings(single, tmp_path / "out") == ([], [], [])
    assert not (tmp_path / "out").exists()


def test_rank_methods_uses_table3_cells(summary):
    r = R.rank_methods(summary, "test_auc")
    rows = table_rows(summary, "known", ["test_auc"])
    rows = rows[~rows["method"].isin(list(L.ABLATION))]
    assert set(rows["n_anomalies"]) == {100} and set(rows["pollution"]) == {0.0}
    expected = rows.pivot_table(index="dataset", columns="method", values="mean")
    assert set(r.scores.columns) == set(expected.columns) and not set(L.ABLATION) & set(r.scores.columns)
    pd.testing.assert_frame_equal(r.scores.sort_index(axis=0).sort_index(axis=1),
                                  expected.sort_index(axis=0).sort_index(axis=1), check_names=False)
    assert r.n_datasets == 4 and r.n_methods == 7 and r.cell == "n = 100"
    assert r.average_rank.index[0] in {"r2ad2", "devnet"}  # the synthetic results favour them
    assert R.rank_methods(summary, "test_auc", "transfer") is None


def test_ranking_table_and_csv(summary):
    r = R.rank_methods(summary, "test_ap")
    table = T.ranking_table(r)
    assert table.name == "ranking_test_ap"
    frame = table.frame
    assert list(frame["method"]) == list(r.average_rank.index)
    assert frame["average_rank"].is_monotonic_increasing
    assert frame.set_index("method").loc["iforest", "marker"] == "†"
    assert frame.set_index("method").loc["r2ad2", "marker"] == ""
    tex = table.latex.render()
    assert braces_balanced(tex) and r"\toprule" in tex and r"\bottomrule" in tex
    assert r"Isolation Forest" in tex or r"IForest" in tex
    assert r"\textsuperscript{\dag}" in tex and L.DAGGER_NOTE in tex and "Friedman" in tex


def test_cliques():
    avg = pd.Series({"a": 1.0, "b": 1.5, "c": 2.5, "d": 3.5})
    p = pd.DataFrame(1.0, index=avg.index, columns=avg.index)
    p.loc["a", "c"] = p.loc["c", "a"] = p.loc["a", "d"] = p.loc["d", "a"] = 0.01
    p.loc["b", "d"] = p.loc["d", "b"] = 0.01
    assert CD.cliques(avg, p) == [["a", "b"], ["b", "c"], ["c", "d"]]
    assert CD.cliques(avg, pd.DataFrame(1.0, index=avg.index, columns=avg.index)) == [list("abcd")]


@pytest.mark.parametrize("style", ["demsar", pytest.param("posthocs", marks=pytest.mark.skipif(
    not HAS_POSTHOCS, reason="scikit-posthocs not installed"))])
def test_diagram_files(scores, tmp_path, style):
    wide = scores.assign(**{"pyod:XGBOD": [0.5, 0.55, 0.6, 0.4, 0.5, 0.6], "gbdt-od": [0.6, 0.65, 0.4, 0.7, 0.6, 0.5]})
    r = R.rank_scores(wide)
    paths = CD.cd_diagram(r, tmp_path / f"cd_{style}", style=style)
    assert [p.suffix for p in paths] == [".pdf", ".png"]
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)


def test_build_reports_writes_rankings(tmp_path):
    recs = synthetic_records(sweeps=False, transfer=False, ablation=False, a3=False, roc=False)
    methods = sorted({r["method"] for r in recs})
    recs += [record(ds, "known", m, s) for ds in ("wine", "letter") for m in methods for s in SEEDS]
    assert len({r["dataset"] for r in recs}) == S.MIN_DATASETS
    collect(recs, tmp_path / "results.csv")
    out = tmp_path / "out"
    written = build_reports(tmp_path / "results.csv", out)
    names = {p.relative_to(out).as_posix() for p in written["ranking"]}
    assert names == {f"tables/ranking_{m}{s}" for m in ("test_auc", "test_ap")
                     for s in (".csv", ".tex", "_posthoc.csv")}
    for m in ("test_auc", "test_ap"):
        for ext in ("pdf", "png"):
            assert out / "figures" / f"cd_{m}.{ext}" in written["figures"]
            assert (out / "figures" / f"cd_{m}.{ext}").stat().st_size > 0
    for p in written["ranking"]:
        assert p.exists() and p.stat().st_size > 0
    csv = pd.read_csv(out / "tables" / "ranking_test_auc.csv")
    assert {"method", "average_rank", "mean_score", "marker"} <= set(csv.columns) and len(csv) == 7
    post = pd.read_csv(out / "tables" / "ranking_test_auc_posthoc.csv")
    assert len(post) == 7 * 6 // 2 and post["pvalue"].between(0, 1).all()
    tex = (out / "report.tex").read_text()
    assert r"\input{tables/ranking_test_auc.tex}" in tex and "{figures/cd_test_ap.pdf}" in tex
    assert tex.count(r"\begin{figure}") == len([p for p in written["figures"] if p.suffix == ".pdf"])
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_reduced_epoch_data_sets_are_left_out_of_the_ranks(summary):
    """A data set trained for 1 epoch (a CPU run) would handicap only the trained methods."""
    datasets = sorted(set(summary["dataset"]))
    short = summary.assign(epochs=summary["epochs"].where(summary["dataset"] != datasets[0], "1"))
    r = R.rank_methods(short, "test_auc")
    assert datasets[0] not in r.scores.index and r.n_datasets == len(datasets) - 1
    assert r.reduced_epochs == {datasets[0]: "1"}
    assert "fewer epochs than the papers" in T.ranking_table(r).latex.render()
    # with fewer than two full-schedule data sets left, nothing is left out
    all_short = summary.assign(epochs="1")
    assert R.rank_methods(all_short, "test_auc").n_datasets == len(datasets)


@pytest.mark.skipif(not HAS_POSTHOCS, reason="scikit-posthocs not installed")
def test_posthocs_diagram_bytes_do_not_depend_on_the_hash_seed(tmp_path):
    """scikit-posthocs orders a bar's points by a set of labels; the files must not follow."""
    import os
    import subprocess

    script = ("import sys, pandas as pd\n"
              "from alarmbench.report import cd_diagram as CD, ranking as R\n"
              "s = pd.DataFrame({'r2ad2': [.9, .8, .7, .95, .9, .8], 'ae': [.8, .82, .9, .85, .7, .75],\n"
              "                  'iforest': [.7, .6, .8, .9, .8, .7], 'devnet': [.85, .75, .72, .8, .85, .9],\n"
              "                  'gradcon': [.6, .7, .75, .7, .6, .65]}, index=list('abcdef'))\n"
              "CD.cd_diagram(R.rank_scores(s), sys.argv[1], style='posthocs')\n")
    outs = []
    for seed in ("1", "2"):
        base = tmp_path / f"cd{seed}"
        subprocess.run([sys.executable, "-c", script, str(base)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        outs.append((base.with_suffix(".png").read_bytes(), base.with_suffix(".pdf").read_bytes()))
    assert outs[0] == outs[1]
