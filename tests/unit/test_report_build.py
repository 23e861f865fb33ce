"""The report stage end to end: every artefact from a full results set, skips for missing pieces,
and (when pdflatex is installed) a compiling report.tex."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_report_records import SEEDS, record, synthetic_records

from alarmbench.evaluate.aggregate import collect, records_to_frame
from alarmbench.report.build import build_reports, compile_pdf, main


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    collect(synthetic_records(), root / "results.csv")
    return root, build_reports(root / "results.csv", root / "out")


def test_every_artefact_is_written(full):
    root, written = full
    out = root / "out"
    tables = {p.name for p in written["tables"]}
    assert tables == {f"{t}.{ext}" for t in ("r2ad2_table3_known", "r2ad2_table4_transfer", "r2ad2_table5_ablation",
                                              "a3_table5_threshold") for ext in ("csv", "tex")}
    figures = {p.name for p in written["figures"]}
    assert {"r2ad2_fig2_pollution_auc.pdf", "r2ad2_fig2_pollution_ap.png", "r2ad2_fig3_n_anomalies_auc.pdf",
            "r2ad2_ablation_snapshots.png", "roc_validation_1.pdf", "plotted.json"} <= figures
    for paths in written.values():
        for p in paths:
            assert p.exists() and p.stat().st_size > 0, p
    assert (out / "paper_comparison.csv").exists() and (out / "paper_comparison.tex").exists()
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporaries left behind


def test_metrics_json_is_flat_test_auc_ap(full):
    root, _ = full
    metrics = json.loads((root / "out" / "metrics.json").read_text())
    assert all(isinstance(v, float) for v in metrics.values())
    assert {k.rsplit("/", 1)[1] for k in metrics} == {"test_auc", "test_ap"}
    assert "known/mnist/r2ad2/test_auc" in metrics and "transfer/nsl_kdd_20/ae/test_ap" in metrics
    assert "a3-1a/mnist/a3-2020/test_auc" in metrics


def test_report_tex_inputs_everything(full):
    root, written = full
    tex = (root / "out" / "report.tex").read_text()
    for p in written["tables"]:
        if p.suffix == ".tex":
            assert rf"\input{{tables/{p.name}}}" in tex
    for p in written["figures"]:
        if p.suffix == ".pdf":
            assert f"{{figures/{p.name}}}" in tex
    assert r"\input{paper_comparison.tex}" in tex
    assert tex.count(r"\begin{figure}") == len([p for p in written["figures"] if p.suffix == ".pdf"])


def test_missing_pieces_are_skipped(tmp_path):
    # one data set outside the papers, known anomalies only, no sweeps / ROC / transfer / ablation
    collect([record("digits", "known", m, s) for m in ("r2ad2", "ae") for s in SEEDS], tmp_path / "results.csv")
    written = build_reports(tmp_path / "results.csv", tmp_path / "out")
    assert {p.name for p in written["tables"]} == {"r2ad2_table3_known.csv", "r2ad2_table3_known.tex"}
    # no figure; only the header-only sweep CSVs that dvc.yaml declares as plots
    assert {p.name for p in written["figures"]} == {"r2ad2_fig2_pollution_auc.csv", "r2ad2_fig3_n_anomalies_auc.csv",
                                                    "plotted.json"}
    assert (tmp_path / "out" / "figures" / "r2ad2_fig2_pollution_auc.csv").read_text() == "pollution\n"
    assert written["comparison"] == [] and (tmp_path / "out" / "paper_comparison.csv").exists()
    tex = (tmp_path / "out" / "report.tex").read_text()
    assert "Figures" not in tex and "paper_comparison" not in tex
    assert (tmp_path / "out" / "metrics.json").exists()


def test_cli_entry(tmp_path, capsys):
    collect([record("mammography", "known", "r2ad2", s) for s in SEEDS], tmp_path / "results.csv")
    main([str(tmp_path / "results.csv"), str(tmp_path / "out")])
    assert "tables: 2 file(s)" in capsys.readouterr().out


def test_alarmbench_report_combines_runs(tmp_path, capsys):
    from alarmbench.cli import main as cli_main

    collect([record(ds, "known", m, s) for ds in ("mammography", "digits") for m in ("r2ad2", "ae") for s in SEEDS],
            tmp_path / "old" / "results.csv")
    collect([record("mammography", "known", m, s, shift=-0.2) for m in ("r2ad2", "ae") for s in SEEDS],
            tmp_path / "new" / "results.csv")
    assert cli_main(["report", "--results", str(tmp_path / "old" / "results.csv"),
                     "--replace", str(tmp_path / "new" / "results.csv"), "--out", str(tmp_path / "rep")]) == 0
    assert "files under" in capsys.readouterr().out
    summary = pd.read_csv(tmp_path / "rep" / "summary.csv")
    got = summary.query("dataset == 'mammography' and method == 'r2ad2' and metric == 'test_auc'")["mean"].item()
    new = pd.read_csv(tmp_path / "new" / "results.csv").query("method == 'r2ad2' and metric == 'test_auc'")
    assert got == pytest.approx(new["value"].mean())
    assert set(summary["dataset"]) == {"mammography", "digits"}


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_report_compiles_with_pdflatex(full):
    root, _ = full
    out = root / "out"
    pdf, log = compile_pdf(out / "report.tex")  # two passes: longtable settles its column widths on the second
    assert pdf == out / "report.pdf" and pdf.stat().st_size > 10_000
    assert "Overfull \\hbox" not in log
    assert "Rerun LaTeX" not in log and "Table widths have changed" not in log  # settled: not a first pass
    assert not list(out.glob("report.aux"))


def test_a_method_no_table_or_figure_shows_is_named_in_the_report():
    from alarmbench.report.build import report_tex, unshown_methods

    results = records_to_frame([record("digits", "known", m, s) for m in ("r2ad2", "iforest") for s in SEEDS])
    missing = unshown_methods(results, [], [], [])  # nothing drawn: both must be named, with where to look
    assert len(missing) == 2 and missing[0].startswith("R2-AD2 ran (") and "results.csv" in missing[0]
    assert "IForest" in report_tex([], [], [], Path("."), [], missing)
