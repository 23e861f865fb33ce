"""Figures: every kind is written as a non-empty PDF and PNG, and is skipped without data."""

from __future__ import annotations

import pytest
from test_report_records import SEEDS, record, synthetic_records

from alarmbench.evaluate.aggregate import records_to_frame, roc_frame
from alarmbench.report.figures import ablation_figure, all_figures, sweep_figure
from alarmbench.report.plotting import palette
from alarmbench.report.roc import roc_figure


@pytest.fixture(scope="module")
def data():
    recs = synthetic_records()
    return records_to_frame(recs), roc_frame(recs)


def _is_pdf_and_png(paths, stem):
    assert [p.name for p in paths] == [f"{stem}.pdf", f"{stem}.png"]
    assert paths[0].read_bytes()[:5] == b"%PDF-" and paths[0].stat().st_size > 1000
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[1].stat().st_size > 1000
    assert not list(paths[0].parent.glob(".*tmp"))


def test_sweep_figures(tmp_path, data):
    results, _ = data
    _is_pdf_and_png(sweep_figure(results, "pollution", "test_auc", tmp_path / "poll"), "poll")
    _is_pdf_and_png(sweep_figure(results, "n_anomalies", "test_ap", tmp_path / "n"), "n")


def test_roc_and_ablation_figures(tmp_path, data):
    results, roc = data
    _is_pdf_and_png(roc_figure(roc, results, "mnist", "a3-1a", tmp_path / "roc"), "roc")
    _is_pdf_and_png(ablation_figure(results, tmp_path / "abl"), "abl")
    assert roc_figure(roc, results, "digits", "known", tmp_path / "none") is None  # no curve stored


def test_figures_without_data_are_skipped(tmp_path):
    results = records_to_frame([record("digits", "known", m, s) for m in ("r2ad2", "ae") for s in SEEDS])
    assert sweep_figure(results, "pollution", "test_auc", tmp_path / "p") is None
    assert sweep_figure(results, "n_anomalies", "test_auc", tmp_path / "n") is None
    assert ablation_figure(results, tmp_path / "a") is None
    assert all_figures(results, None, tmp_path) == []
    assert not list(tmp_path.iterdir())


def test_all_figures_and_stable_colours(tmp_path):
    recs = synthetic_records(sweeps=False, transfer=False)  # the sweeps are drawn above; keep this test fast
    made = all_figures(records_to_frame(recs), roc_frame(recs), tmp_path)
    names = {p.name for paths, _ in made for p in paths}
    assert names == {f"{stem}.{ext}" for ext in ("pdf", "png") for stem in (
        "r2ad2_ablation_snapshots", "roc_mnist_known", "roc_mnist_a3-1a", "roc_mnist_a3-2a", "roc_ids_a3_a3-1c")}
    assert all(caption for _, caption in made)
    assert palette(["ae", "r2ad2"])["R2-AD2"] == palette(["r2ad2", "ae", "iforest"])["R2-AD2"]
