"""The papers' table shapes: CSV twin numbers, booktabs LaTeX, bold best, mean and Wilcoxon rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_report_records import SEEDS, record, synthetic_records

from alarmbench.evaluate.aggregate import records_to_frame, summarise
from alarmbench.report import labels as L
from alarmbench.report.a3_table import a3_table
from alarmbench.report.latex import braces_balanced
from alarmbench.report.select import prefer_epochs
from alarmbench.report.tables import ablation_table, method_table, write_table


@pytest.fixture(scope="module")
def summary():
    return summarise(records_to_frame(synthetic_records()))


def _row(tex: str, label: str) -> list[str]:
    line = next(ln for ln in tex.splitlines() if ln.startswith(label + " &"))
    return [c.strip() for c in line.removesuffix(r"\\").split(" & ")]


def _check_latex(tex: str):
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in tex
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")
    assert braces_balanced(tex)
    assert tex.count(r"\begin{") == tex.count(r"\end{")


def test_table3_csv_twin_and_latex(summary):
    table = method_table(summary, "known", "t3", "Table 3")
    _check_latex(table.latex.render())
    frame = table.frame.set_index(["metric", "dataset"])
    recs = [r for r in synthetic_records() if (r["dataset"], r["experiment"], r["method"], r["n_anomalies"],
                                               r["pollution"]) == ("mammography", "known", "devnet", 100, 0.0)]
    assert frame.loc[("test_auc", "mammography"), "devnet_mean"] == pytest.approx(np.mean([r["test_auc"] for r in recs]))
    assert frame.loc[("test_auc", "mammography"), "devnet_std"] == pytest.approx(np.std([r["test_auc"] for r in recs],
                                                                                        ddof=1))
    # the ablation variants have their own table
    assert not any(c.startswith("r2ad2-") for c in frame.columns)
    per_ds = frame.drop(index=["mean", "wilcoxon_p"], level="dataset").loc["test_auc"]
    assert frame.loc[("test_auc", "mean"), "ae_mean"] == pytest.approx(per_ds["ae_mean"].mean())


def test_bold_marks_the_best_mean(summary):
    table = method_table(summary, "known", "t3", "Table 3")
    tex = table.latex.render()
    methods = [c.removesuffix("_mean") for c in table.frame.columns if c.endswith("_mean")]
    for ds in ("Mammography", "MNIST", r"\texttt{digits}", "mean"):
        cells = _row(tex, ds)[1:]
        means = table.frame.set_index(["metric", "dataset"]).loc[
            ("test_auc", {"Mammography": "mammography", "MNIST": "mnist", "mean": "mean"}.get(ds, "digits"))]
        best = max(round(means[f"{m}_mean"], 2) for m in methods)
        for m, cell in zip(methods, cells):
            assert cell.startswith(r"\textbf{") == (round(means[f"{m}_mean"], 2) == best), (ds, m, cell)
    assert any(c.startswith(r"\textbf{") for c in _row(tex, "MNIST"))


def test_wilcoxon_row_matches_scipy():
    six = summarise(records_to_frame([record(ds, "known", m, s) for ds in ("mammography", "mnist", "digits", "wine",
                                                                         "letter", "glass")
                                      for m in ("r2ad2", "ae", "gradcon", "iforest") for s in SEEDS]))
    table = method_table(six, "known", "t3", "Table 3")
    frame = table.frame.set_index(["metric", "dataset"]).loc["test_ap"]
    per_ds = frame.drop(index=["mean", "wilcoxon_p"])
    direct = stats.wilcoxon(per_ds["r2ad2_mean"], per_ds["gradcon_mean"]).pvalue
    assert frame.loc["wilcoxon_p", "gradcon_mean"] == pytest.approx(direct)
    assert pd.isna(frame.loc["wilcoxon_p", "r2ad2_mean"])
    cells = [ln for ln in table.latex.render().splitlines() if ln.startswith(r"$p$ (Wilcoxon)")]
    assert len(cells) == 2 and cells[0].split(" & ")[1] == "--"


def test_no_wilcoxon_row_below_the_minimum_of_data_sets(summary):
    """Four data sets: a two-sided Wilcoxon test cannot reach p < .05, so no p row is printed and the
    note says why (it printed .12/.25 before)."""
    table = method_table(summary, "known", "t3", "Table 3")
    tex = table.latex.render()
    assert r"$p$ (Wilcoxon)" not in tex and "No Wilcoxon test: 4 data set(s), fewer than the 6" in tex
    frame = table.frame.set_index(["metric", "dataset"])
    assert frame.loc[("test_auc", "wilcoxon_p")].filter(like="_mean").isna().all()


def test_the_mean_row_averages_one_epochs_setting(summary):
    short = summary.assign(epochs=summary["epochs"].where(summary["dataset"] != "digits", "1"))
    table = method_table(short, "known", "t3", "Table 3")
    frame = table.frame.set_index(["metric", "dataset"])
    per_ds = frame.loc["test_auc"].drop(index=["mean", "wilcoxon_p", "digits"])
    assert frame.loc[("test_auc", "mean"), "ae_mean"] == pytest.approx(per_ds["ae_mean"].mean())
    assert frame.loc[("test_auc", "mean"), "epochs"] == "paper"
    assert "left out: digits (1 ep.)" in table.latex.render().replace(r"\_", "_")


def test_display_names_dagger_and_variant_marking(summary):
    tex = method_table(summary, "known", "t3", "Table 3").latex.render()
    header = next(ln for ln in tex.splitlines() if ln.startswith("Data &"))
    assert "R2-AD2" in header and r"A\textsuperscript{3}" in header
    assert r"IForest\textsuperscript{\dag}" in header and "not in the papers" in tex
    assert r"\texttt{nsl\_kdd\_20}" in tex and "MNIST &" in tex
    assert L.method_name("pyod:XGBOD") == "XGBOD (PyOD)" and L.method_label("gbdt-od") == "GBDT-OD†"
    assert L.method_label("a3-2020") == "A³-2020"


def test_transfer_table_and_missing_experiment(summary):
    t4 = method_table(summary, "transfer", "t4", "Table 4")
    assert set(t4.frame["dataset"]) == {"nsl_kdd_20", "mnist", "mean", "wilcoxon_p"}
    known_only = summarise(records_to_frame([record("digits", "known", m, s) for m in ("r2ad2", "ae") for s in SEEDS]))
    assert method_table(known_only, "transfer", "t4", "Table 4") is None
    assert ablation_table(known_only) is None and a3_table(known_only) is None


def test_ablation_table_uses_r2ad2_for_three_snapshots(summary):
    table = ablation_table(summary)
    _check_latex(table.latex.render())
    frame = table.frame.set_index("snapshots")
    assert list(frame.index) == [1, 2, 3, 4] and (frame["n_datasets"] == 4).all()
    r2 = summary[(summary["method"] == "r2ad2") & (summary["experiment"] == "known") & (summary["n_anomalies"] == 100)
                 & (summary["pollution"] == 0.0) & (summary["metric"] == "test_auc")]
    assert frame.loc[3, "test_auc"] == pytest.approx(r2["mean"].mean())


def test_a3_table(summary):
    table = a3_table(summary)
    tex = table.latex.render()
    _check_latex(tex)
    assert list(table.frame["paper_experiment"]) == ["1-a", "1-c", "2-a"]
    assert (table.frame["n_anomalies"] == 200).all()
    assert r"\cmidrule(lr){3-5}" in tex and r"A\textsuperscript{3}-2020" in tex
    # the method the preprint's Table V is compared with comes first, labelled as such
    assert tex.index(r"A\textsuperscript{3} (preprint recipe)") < tex.index(r"A\textsuperscript{3}-2020")
    assert list(table.frame.columns[8:10]) == ["a3-2020-preprint_test_f1_mean", "a3-2020-preprint_test_f1_std"]
    assert (table.frame["epochs"] == "paper").all() and " ep.)" not in tex
    row = _row(tex, "1-a")
    assert row[1] == "MNIST" and row[2].startswith(r"\textbf{")  # A3-2020 beats AE on F1 in the fixture
    assert not row[5].startswith(r"\textbf{")


def test_a3_table_names_rows_not_run_at_the_papers_epochs():
    recs = [record("mnist_t10k", exp, m, s, 200, threshold=True, epochs=1 if exp == "a3-1a" else "paper")
            for exp in ("a3-1a", "a3-1b") for m in ("a3-2020-preprint", "ae") for s in SEEDS]
    table = a3_table(summarise(records_to_frame(recs)))
    assert dict(zip(table.frame["experiment"], table.frame["epochs"])) == {"a3-1a": "1", "a3-1b": "paper"}
    tex = table.latex.render()
    assert _row(tex, "1-a")[1].endswith("(1 ep.)") and "ep." not in _row(tex, "1-b")[1]
    assert "instead of the papers'" in tex  # the epochs note


def test_prefer_epochs_keeps_the_paper_schedule():
    recs = [record("digits", "known", "ae", s, epochs=e, shift=0.5 if e == 3 else 0.0) for s in SEEDS for e in (3, "paper")]
    summary = summarise(records_to_frame(recs))
    assert set(prefer_epochs(summary)["epochs"]) == {"paper"}
    short = summary[summary["epochs"] == "3"]
    assert set(prefer_epochs(pd.concat([short, short.assign(epochs="10")]))["epochs"]) == {"10"}


def test_write_table_is_atomic(tmp_path, summary):
    paths = write_table(ablation_table(summary), tmp_path / "tables")
    assert [p.name for p in paths] == ["r2ad2_table5_ablation.csv", "r2ad2_table5_ablation.tex"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert not list((tmp_path / "tables").glob(".*"))


def test_number_format_and_escape():
    assert L.fmt_num(0.981) == ".98" and L.fmt_num(1.0) == "1.00" and L.fmt_num(-0.031) == "-.03"
    assert L.fmt_pm(0.93, 0.012) == ".93 ± .01" and L.fmt_pm(0.93, float("nan")) == ".93"
    assert L.latex_escape("a_b & 5% ± c") == r"a\_b \& 5\% $\pm$ c"
    assert re.fullmatch(r"[\w-]+", L.safe_stem("pyod:XGBOD v1.2"))


def test_reduced_epochs_are_labelled_in_table_and_csv():
    recs = [record(ds, "known", m, s, epochs=e) for s in SEEDS for m in ("ae", "devnet")
            for ds, e in (("mammography", "paper"), ("digits", 1))]
    table = method_table(summarise(records_to_frame(recs)), "known", "t3", "Table 3")
    tex = table.latex.render()
    assert _row(tex, r"\texttt{digits} (1 ep.)") and _row(tex, "Mammography")
    assert L.EPOCHS_NOTE in tex
    epochs = table.frame.set_index(["metric", "dataset"])["epochs"]
    assert epochs[("test_auc", "digits")] == "1" and epochs[("test_auc", "mammography")] == "paper"


def test_method_table_when_the_reference_ran_only_on_left_out_data_sets():
    """The combined small-real report: R2-AD2 ran (1 epoch) only on mnist_t10k, which the mean
    leaves out, while nsl_kdd_20 ran the papers' epochs without it: no pair for the Wilcoxon test
    (`int(NaN)` raised before), so the note says 0 data sets."""
    from alarmbench.report.tables import method_table

    recs = [record("nsl_kdd_20", "transfer", m, s) for m in ("ae", "devnet") for s in SEEDS]
    recs += [record("mnist_t10k", "transfer", m, s, epochs=1) for m in ("r2ad2", "ae") for s in SEEDS]
    table = method_table(summarise(records_to_frame(recs)), "transfer", "t4", "Table 4")
    assert "No Wilcoxon test: 0 data set(s)" in table.latex.render()
