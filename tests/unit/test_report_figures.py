"""Figures: every kind is written as a non-empty PDF and PNG, and is skipped without data."""

from __future__ import annotations

import pytest
from test_report_records import SEEDS, record, synthetic_records

from alarmbench.evaluate.aggregate import records_to_frame, roc_frame
from alarmbench.report.figures import ablation_figure, all_figures, sweep_figure
from alarmbench.report.plotting import method_styles
from alarmbench.report.roc import roc_figures


@pytest.fixture(scope="module")
def data():
    recs = synthetic_records()
    return records_to_frame(recs), roc_frame(recs)


def _is_pdf_and_png(rec, stem):
    paths = [p for p in rec.paths if p.suffix != ".csv"]  # a sweep also writes its CSV
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
    (rec,) = roc_figures(roc[roc["dataset"] == "mnist"], results, tmp_path)
    _is_pdf_and_png(rec, "roc_validation_1")
    assert [p.title for p in rec.panels] == ["MNIST, a3-1a", "MNIST, a3-2a", "MNIST, known", "MNIST, transfer"]
    _is_pdf_and_png(ablation_figure(results, tmp_path / "abl"), "abl")
    assert roc_figures(roc[roc["dataset"] == "digits"], results, tmp_path / "none") == []  # no curve stored


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
    names = {p.name for rec in made for p in rec.paths}
    assert names == {f"{stem}.{ext}" for ext in ("pdf", "png") for stem in (
        "r2ad2_ablation_snapshots", "roc_validation_1")}
    assert all(rec.caption for rec in made)
    assert method_styles(["ae", "r2ad2"])["r2ad2"] == method_styles(["r2ad2", "ae", "iforest"])["r2ad2"]


def _mammography_sweep():
    methods = ("r2ad2", "ae", "gradcon", "deepsad", "devnet", "a3", "iforest")
    return records_to_frame([record("mammography", "known", m, s, n) for m in methods for s in SEEDS
                             for n in (5, 25, 100)])


def test_a_single_data_set_gets_no_mean_panel_that_repeats_it():
    from alarmbench.report.figures import sweep_record

    panels = sweep_record(_mammography_sweep(), "n_anomalies", "test_auc").panels
    assert [p.title for p in panels] == ["Mammography"]
    two = records_to_frame(synthetic_records(transfer=False, ablation=False, a3=False, roc=False))
    titles = [p.title for p in sweep_record(two, "n_anomalies", "test_auc").panels]
    assert titles[-1].startswith("mean of") and len(titles) == 1 + two["dataset"].nunique()


@pytest.mark.parametrize("n_panels", [1, 2, 4])
def test_the_shared_legend_stays_inside_the_figure(n_panels):
    """Ten long labels under narrow panels: a fixed six columns ran off both edges (R2-AD2 Fig. 3,
    reports/small-real); the drawn legend must lie within the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from alarmbench.report.plotting import grid, shared_legend

    fig, axes = grid(n_panels)
    for ax in axes:
        for i in range(10):
            ax.plot([0, 1], [i, i + 1], label=f"a long method name {i}†")
        ax.legend()
    shared_legend(fig, axes)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    (legend,) = fig.legends
    box = legend.get_window_extent(canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y0 >= 0, (box, fig.bbox)
    assert len(legend.get_texts()) == 10


def test_a_mean_panel_averages_each_seed_over_the_same_data_sets():
    """MNIST ran its sweep with one seed, Mammography with three: the mean panel's point of a seed
    must not average Mammography alone (it would sit between data sets' levels, not on their mean)."""
    from alarmbench.report.figures import sweep_record

    recs = [record("mammography", "known", m, s, n) for m in ("devnet", "ae") for s in SEEDS for n in (10, 100)]
    recs += [record("mnist", "known", m, SEEDS[0], n) for m in ("devnet", "ae") for n in (10, 100)]
    results = records_to_frame(recs)
    mean = sweep_record(results, "n_anomalies", "test_auc").panels[-1]
    assert mean.title == "mean of 2 data sets"
    auc = results[results["metric"] == "test_auc"]
    for s in mean.series:
        assert s.seeds == [[SEEDS[0]]] * len(s.x)
        for x, y in zip(s.x, s.y):
            at = auc[(auc["method"] == s.method) & (auc["n_anomalies"] == x) & (auc["seed"] == SEEDS[0])]
            assert y == pytest.approx(at["value"].mean())
