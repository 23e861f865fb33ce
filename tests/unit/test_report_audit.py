"""The figure audit: what a reader sees, checked on the figures' DATA (`figures/plotted.json`, the
records every figure is drawn from) and on the tables' CSV twins, for three reports built through
the report code:

- `reports/small-real` (the papers' suite on real data, its committed results.csv and roc.csv; ROC
  points in the authors' older export, kept as they were recorded);
- the own-data example (`config/own-data.yaml`; its results.csv and roc.csv, from a run of the
  example at 3 epochs, are committed under tests/data/own_data);
- the synthetic records of the default suite's shape (`test_report_records.synthetic_records`), with
  two more data sets so that the tests over data sets and the CD diagrams are drawn.

Every method of the grid appears in a table or figure (or report.tex says why not); one colour and
marker per method across figures; bands and points inside the metric's range; an aggregate point
averages the same data sets as its neighbours; no statistic from fewer than `stats.MIN_DATASETS`
data sets; the drawn ROC area is the AUC in its legend.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_records import SEEDS, record, synthetic_records

from alarmbench.evaluate.aggregate import collect
from alarmbench.evaluate.metrics import roc_area
from alarmbench.report import labels as L
from alarmbench.report.build import build_reports
from alarmbench.report.plotted import read_plotted
from alarmbench.report.stats import MIN_DATASETS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"small-real": ROOT / "reports" / "small-real", "own-data": ROOT / "tests" / "data" / "own_data"}


@pytest.fixture(scope="module", params=["small-real", "own-data", "synthetic"])
def report(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "synthetic":  # plus two data sets at the base cell: 6, so the tests and CD diagrams run
        recs = synthetic_records()
        methods = sorted({r["method"] for r in recs if r["experiment"] == "known"} - set(L.ABLATION))
        recs += [record(ds, "known", m, s) for ds in ("wine", "letter") for m in methods for s in SEEDS]
        collect(recs, root / "results.csv")
    else:
        for name in ("results.csv", "roc.csv"):
            shutil.copy(SOURCES[request.param] / name, root / name)
    build_reports(root / "results.csv", root / "out")
    return request.param, pd.read_csv(root / "results.csv"), root / "out"


def _series(out: Path):
    for rec in read_plotted(out / "figures" / "plotted.json"):
        for panel in rec["panels"]:
            for s in panel["series"]:
                yield rec, panel, s


def _table_methods(out: Path, methods) -> set[str]:
    """Methods a table shows: `<method>_…` columns, a ranking's method column, the ablation's
    snapshot counts."""
    shown = set()
    for path in (out / "tables").glob("*.csv"):
        frame = pd.read_csv(path)
        shown |= {m for m in methods if any(str(c).startswith(f"{m}_") for c in frame.columns)}
        if "method" in frame:
            shown |= set(frame["method"]) & set(methods)
        if "snapshots" in frame:
            shown |= {f"r2ad2-{int(k)}" if k != 3 else "r2ad2" for k in frame["snapshots"]} & set(methods)
    return shown


def test_every_method_of_the_grid_is_shown_or_explained(report):
    name, results, out = report
    methods = set(results["method"])
    shown = _table_methods(out, methods) | {s["method"] for _, _, s in _series(out) if s["method"]}
    tex = (out / "report.tex").read_text()
    explained = {m for m in methods if f"{L.latex_escape(L.method_label(m))} ran (" in tex}
    assert methods <= shown | explained, methods - shown - explained
    if name == "own-data":  # the example's r2ad2-1 is in its tables and figures, not only explained
        assert "r2ad2-1" in shown and not explained


def test_one_colour_and_marker_per_method_across_figures(report):
    _, _, out = report
    looks: dict[str, set] = {}
    for _, _, s in _series(out):
        if s["method"]:
            looks.setdefault(s["method"], set()).add((s["colour"], s["marker"]))
    assert looks and all(len(v) == 1 for v in looks.values()), looks
    assert len({next(iter(v)) for v in looks.values()}) == len(looks)  # no two methods look alike
    grey = {"#7f7f7f", "#808080", "#666666"}  # the random classifier's
    assert not {c for v in looks.values() for c, _ in v} & grey


def test_points_and_bands_stay_in_the_metric_range(report):
    _, _, out = report
    for rec, panel, s in _series(out):
        if panel["y_range"] is None:
            continue
        lo, hi = panel["y_range"]
        for values in (s["y"], s["lo"] or [], s["hi"] or []):
            assert all(lo <= v <= hi for v in values), (rec["name"], s["label"], values)


def test_an_aggregate_averages_the_same_data_sets_at_every_point(report):
    _, _, out = report
    for rec, panel, s in _series(out):
        sets = {tuple(sorted(d)) for d in (s["datasets"] or [])}
        assert len(sets) <= 1, (rec["name"], s["label"], sets)
    for rec in read_plotted(out / "figures" / "plotted.json"):
        for panel in rec["panels"]:  # and the same across the methods of an aggregate panel
            sets = {tuple(sorted(d)) for s in panel["series"] if s["method"] for d in (s["datasets"] or [])}
            assert len(sets) <= 1, (rec["name"], panel["title"], sets)


def test_an_aggregate_point_averages_every_data_set_over_the_same_seeds(report):
    """Each seed's mean over data sets is what a mean point averages: every seed behind it must be
    behind that method's point in each averaged data set's own panel."""
    _, _, out = report
    for rec in read_plotted(out / "figures" / "plotted.json"):
        own = {(p["title"], s["label"]): s for p in rec["panels"] for s in p["series"]}
        for panel in rec["panels"]:
            for s in panel["series"]:
                for x, sets, seeds in zip(s["x"], s["datasets"] or [], s["seeds"] or []):
                    if len(sets) < 2:
                        continue
                    for d in sets:
                        single = own.get((L.dataset_label(d), s["label"]))
                        if single is None:  # the ablation's own lines are per data set, labelled by it
                            single = next(o for (t, lab), o in own.items() if lab == L.dataset_label(d))
                        at = dict(zip(single["x"], single["seeds"]))
                        assert set(seeds) <= set(at[x]), (rec["name"], panel["title"], s["label"], x, d)


def test_a_sweep_line_averages_the_same_seeds_at_every_point(report):
    _, _, out = report
    for rec in read_plotted(out / "figures" / "plotted.json"):
        if rec["name"].startswith("r2ad2_fig"):
            for panel in rec["panels"]:
                for s in panel["series"]:
                    assert len({tuple(v) for v in s["seeds"]}) == 1, (rec["name"], panel["title"], s["label"])


def test_no_statistic_from_fewer_data_sets_than_the_minimum(report):
    # the stated minimum (report.stats): below 6 a two-sided Wilcoxon test cannot reach p < .05
    assert MIN_DATASETS >= 6
    name, _, out = report
    drawn = [rec for rec in read_plotted(out / "figures" / "plotted.json") if rec["statistic"]]
    assert bool(drawn) == (name == "synthetic")  # six data sets there; 4 and 2 in the others
    for rec in drawn:
        if rec["statistic"]:
            assert rec["statistic"]["n_datasets"] >= rec["statistic"]["min_datasets"] == MIN_DATASETS
    for path in (out / "tables").glob("ranking_test_*.csv"):
        if path.stem.endswith("posthoc"):
            continue
        frame = pd.read_csv(path)
        tested = frame["friedman_pvalue"].notna() | frame["cd"].notna()
        assert (frame.loc[tested, "n_datasets"] >= MIN_DATASETS).all(), path.name
        posthoc = pd.read_csv(path.with_name(f"{path.stem}_posthoc.csv"))
        assert posthoc.empty or frame["n_datasets"].min() >= MIN_DATASETS
    for path in (out / "tables").glob("r2ad2_table*_*.csv"):
        frame = pd.read_csv(path)
        if "dataset" not in frame or "wilcoxon_p" not in set(frame["dataset"]):
            continue
        for metric, part in frame.groupby("metric"):
            averaged = part[~part["dataset"].isin(["mean", "wilcoxon_p"])]
            mean_epochs = part.loc[part["dataset"] == "mean", "epochs"].item()
            n = (averaged["epochs"].astype(str) == str(mean_epochs)).sum()
            p = part.loc[part["dataset"] == "wilcoxon_p"].filter(like="_mean").to_numpy(float)
            assert n >= MIN_DATASETS or np.isnan(p).all(), (path.name, metric, n)
        tex = path.with_suffix(".tex").read_text()
        assert ("$p$ (Wilcoxon)" in tex) != ("No Wilcoxon test" in tex)


def test_mean_rows_do_not_mix_epochs(report):
    """A "mean" row is the mean over exactly the data sets of its epochs setting."""
    _, _, out = report
    for path in (out / "tables").glob("r2ad2_table[34]_*.csv"):
        frame = pd.read_csv(path, dtype={"epochs": str})
        for metric, part in frame.groupby("metric"):
            mean = part[part["dataset"] == "mean"].iloc[0]
            assert "/" not in str(mean["epochs"]), (path.name, metric, mean["epochs"])
            same = part[part["epochs"] == mean["epochs"]]
            assert len(same), (path.name, metric, mean["epochs"])
            for col in (c for c in part.columns if c.endswith("_mean")):
                assert mean[col] == pytest.approx(same[col].mean(), nan_ok=True), (path.name, metric, col)


def test_the_drawn_roc_area_is_the_auc_in_the_legend(report):
    name, _, out = report
    curves = [(rec, s) for rec, _, s in _series(out) if rec["name"].startswith("roc_")]
    assert curves
    for rec, s in curves:
        auc = re.search(r" (\d?\.\d\d)$", s["label"])
        area = roc_area(s["x"], s["y"])
        if "drawn area" in s["note"]:  # the legend says the stored points do not give the AUC
            assert name == "small-real"  # only an old-format export can need it
            continue
        assert abs(area - float(auc.group(1))) <= 0.005 + 0.005, (rec["name"], s["label"], area)


def test_the_own_data_report_is_not_labelled_as_the_papers(report):
    name, _, out = report
    if name != "own-data":
        pytest.skip("own-data only")
    text = " ".join(p.read_text() for p in (out / "tables").glob("*.tex")) + (out / "report.tex").read_text()
    text += " ".join(r["caption"] for r in read_plotted(out / "figures" / "plotted.json"))
    assert not re.search(r"R2-AD2 Table \d|R2-AD2 Fig\.|A³ Fig\.|A\\textsuperscript\{3\} Fig|published|in the papers, or", text)
    assert "Comparison with the published numbers" not in (out / "report.tex").read_text()


def test_coinciding_curves_are_marked(report):
    _, _, out = report
    for rec, panel, s in _series(out):
        same = [t for t in panel["series"] if t is not s and t["x"] == s["x"] and t["y"] == s["y"]]
        if same and panel["series"].index(same[0]) < panel["series"].index(s):
            assert s["note"].startswith("same as"), (rec["name"], s["label"])

