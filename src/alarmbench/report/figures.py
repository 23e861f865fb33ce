"""The papers' figures: AUC/AP vs pollution and vs known anomalies (R2-AD2 Figs. 2–3), the snapshot
ablation, and validation ROC curves (A³ Fig. 3, in `roc.py`); each saved as PDF and PNG.

Each figure is computed as a `plotted.Plotted` record first and drawn from it, so the record is
what the figure shows: the same data sets at every x of an aggregate, ± std bands clipped to the
metric's range, the report's one colour/marker per method, small x offsets between methods (and a
"same as" note where two coincide), a categorical x axis where a value is not a number ("half").
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import seaborn as sns

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.plotted import Panel, Plotted, Series
from alarmbench.report.plotting import (ABLATION, METRIC_AXIS, bands, coincidences, draw_series, grid,
                                        method_styles, save_figure, shared_legend)
from alarmbench.report.roc import roc_figures
from alarmbench.report.select import ablation_datasets, base_cells, one_epochs_setting, prefer_epochs, without_shown_ablation

#: Half the total x offset between the first and last method of a panel, as a fraction of the x range.
DODGE = 0.012


def _x_axis(values) -> tuple[dict, list[str] | None]:
    """Value → x position and the category names (None when every value is a number)."""
    values = sorted(set(values), key=lambda v: (not _is_number(v), float(v) if _is_number(v) else 0, str(v)))
    if all(_is_number(v) for v in values):
        return {v: float(v) for v in values}, None
    return {v: float(i) for i, v in enumerate(values)}, [str(v) for v in values]


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _seed_stats(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return rows.groupby(by, sort=False)["value"].agg(mean="mean", std="std").reset_index()


def sweep_record(results: pd.DataFrame, x: str, metric: str, styles: dict | None = None) -> Plotted | None:
    """Metric vs `x` ("pollution" or "n_anomalies") on known-anomaly cells: a panel per data set
    plus their mean (over the data sets that ran every x of it, at one epochs setting; only when
    there are at least two), a line per method, ± seed std bands. None when no data set has a sweep."""
    rows = without_shown_ablation(results[(results["experiment"] == "known") & (results["metric"] == metric)])
    rows = prefer_epochs(rows)
    fixed = "n_anomalies" if x == "pollution" else "pollution"
    keep = []
    for _, part in rows.groupby("dataset"):
        values = set(part[fixed])
        at = ((100 if 100 in values else max(values, key=lambda v: float(v) if _is_number(v) else -1))
              if fixed == "n_anomalies" else min(values))
        part = part[part[fixed] == at]
        if part[x].nunique() > 1:
            keep.append(part)
    if not keep:
        return None
    rows = pd.concat(keep, ignore_index=True)
    rows = rows.assign(x=[v * 100 if x == "pollution" else v for v in rows[x]])
    # a line's points over the same seeds: a cell run with more seeds than its neighbours (the table's
    # base cell) would otherwise step away from them by its extra seeds alone
    rows = _common_seeds(rows, ["dataset", "method"])
    styles = styles or method_styles(rows["method"].unique())
    position, categories = _x_axis(rows["x"])
    datasets = sorted(rows["dataset"].unique(), key=L.dataset_sort_key)
    methods = sorted(rows["method"].unique(), key=L.method_sort_key)
    xlabel, ylabel = ("pollution (%)" if x == "pollution" else "known anomalies"), METRIC_AXIS.get(metric, metric)
    panels = []
    for d in datasets:
        part = rows[rows["dataset"] == d]
        panels.append(Panel(L.dataset_label(d), _method_series(_seed_stats(part, ["method", "x"]), part, methods,
                                                               styles, position),
                            x_categories=categories, x_label=xlabel, y_label=ylabel))
    mean, used = _mean_panel_rows(rows)
    if mean is not None:
        stats = _seed_stats(mean.groupby(["method", "seed", "x"], as_index=False)["value"].mean(), ["method", "x"])
        names = ", ".join(map(L.dataset_label, used))
        panels.append(Panel(f"mean of {len(used)} data sets", _method_series(stats, mean, methods, styles, position),
                            x_categories=categories, x_label=xlabel, y_label=ylabel))
    short = metric.removeprefix("test_")
    name = f"r2ad2_fig{2 if x == 'pollution' else 3}_{'pollution' if x == 'pollution' else 'n_anomalies'}_{short}"
    what = "pollution of the training data" if x == "pollution" else "number of known anomalies"
    if L.papers_data(datasets):
        what += " (R2-AD2 Fig. 2)" if x == "pollution" else " (R2-AD2 Fig. 3)"
    caption = (f"Test {METRIC_AXIS.get(metric, metric)} vs {what}; each line over the seeds it ran at every x; "
               "bands: ± std over seeds, clipped to [0, 1].")
    if mean is not None:
        caption += (f" Mean panel: over {names}, the data sets that ran every x shown, at one epochs setting,"
                    " seed by seed over the seeds each method ran on all of them.")
    if categories:
        caption += ' "half": half the training anomalies of each seed (rounded down), a category of its own.'
    return Plotted(name, caption, panels)


def _mean_panel_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str]]:
    """The rows averaged in the mean panel: the data sets of one epochs setting, at the x values
    every one of them ran (per method: only methods that ran all of them). None below 2 data sets."""
    rows, _ = one_epochs_setting(rows)
    common = None
    for _, part in rows.groupby("dataset"):
        common = set(part["x"]) if common is None else common & set(part["x"])
    rows = rows[rows["x"].isin(list(common or ()))]
    used = sorted(rows["dataset"].unique(), key=L.dataset_sort_key)
    if len(used) < 2 or rows["x"].nunique() < 2:
        return None, []
    # a method enters the mean only where it ran on every averaged data set at every x
    full = rows.groupby("method")[["dataset", "x"]].apply(lambda p: len(set(zip(p["dataset"], p["x"]))))
    rows = _common_seeds(rows[rows["method"].isin(list(full[full == len(used) * rows["x"].nunique()].index))],
                         ["method"])
    return (rows, used) if not rows.empty else (None, [])


def _common_seeds(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per `by` group: only the seeds it ran on every data set at every x. A mean over data sets is
    taken seed by seed; a seed one data set lacks would average fewer data sets than its neighbours."""
    keep = []
    for _, part in (rows.groupby(by) if by else [(None, rows)]):
        common = set.intersection(*(set(s) for _, s in part.groupby(["dataset", "x"])["seed"]))
        keep.append(part[part["seed"].isin(list(common))])
    return pd.concat(keep, ignore_index=True) if keep else rows.iloc[:0]


def _behind(rows: pd.DataFrame, by: list[str], column: str) -> dict:
    """Key of `by` → the data sets or seeds (`column`) behind that point (what the record says each
    point averages)."""
    order = {"dataset": lambda v: sorted(map(str, v), key=L.dataset_sort_key), "seed": lambda v: sorted(map(int, v))}
    return {(k if len(by) > 1 else k[0]): order[column](g.unique()) for k, g in rows.groupby(by)[column]}


def _method_series(stats: pd.DataFrame, rows: pd.DataFrame, methods: list[str], styles: dict,
                   position: dict) -> list[Series]:
    """A series per method from its seed statistics; `rows`: the rows averaged (their data sets
    are recorded per point)."""
    behind, seeds = _behind(rows, ["method", "x"], "dataset"), _behind(rows, ["method", "x"], "seed")
    out = []
    for m in methods:
        part = stats[stats["method"] == m]
        if part.empty:
            continue
        part = part.assign(pos=part["x"].map(position)).sort_values("pos")
        lo, hi = bands(part["mean"], part["std"])
        out.append(Series(L.method_label(m), part["pos"].tolist(), part["mean"].tolist(), styles[m].colour,
                          styles[m].marker, method=m, lo=lo, hi=hi, datasets=[behind[(m, x)] for x in part["x"]],
                          seeds=[seeds[(m, x)] for x in part["x"]]))
    coincidences(out)
    return out


def draw_record(rec: Plotted, base: str | os.PathLike, width: float = 3.2, height: float = 2.7,
                dodge: bool = True) -> list[Path]:
    """Draw a record's panels on a grid with one legend below them; save PDF and PNG."""
    with sns.axes_style("whitegrid"):
        fig, axes = grid(len(rec.panels), width=max(width, 6.4 / len(rec.panels)), height=height)
        for ax, panel in zip(axes, rec.panels):
            xs = [v for s in panel.series for v in s.x]
            span = (max(xs) - min(xs)) if xs else 1.0
            k = len(panel.series)
            for i, s in enumerate(panel.series):
                draw_series(ax, s, dodge=(i - (k - 1) / 2) * 2 * DODGE * span / max(k - 1, 1) if dodge else 0.0)
            if panel.x_categories:
                ax.set_xticks(range(len(panel.x_categories)), panel.x_categories)
            else:
                ax.set_xticks(sorted(set(xs)))
            lo, hi = panel.y_range or (None, None)
            ax.set_ylim(None if lo is None else max(lo, ax.get_ylim()[0]), None if hi is None else min(hi + 0.02,
                                                                                                  ax.get_ylim()[1]))
            ax.set(title=panel.title, xlabel=panel.x_label, ylabel=panel.y_label)
        _legend_from_all(fig, axes)
        return save_figure(fig, base)


def _legend_from_all(fig, axes) -> None:
    """One legend below the panels with every series of every panel once (a method may be absent
    from the first panel)."""
    seen, handles = {}, []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in seen:
                seen[label] = h
                handles.append((h, label))
    if not handles:
        return
    shared_legend(fig, axes, entries=handles)


def sweep_figure(results: pd.DataFrame, x: str, metric: str, base: str | os.PathLike,
                 styles: dict | None = None) -> Plotted | None:
    """The sweep record drawn to `base.pdf|png` (and its mean panel, or the data set's, as the
    wide CSV `base.csv` that `dvc plots` draws). None when no data set has a sweep."""
    rec = sweep_record(results, x, metric, styles)
    if rec is None:
        return None
    rec.name = Path(base).name
    rec.paths = [*draw_record(rec, base), _write_sweep_csv(rec.panels[-1], Path(f"{base}.csv"), x)]
    rec.rows = -(-len(rec.panels) // 4)  # plotting.grid: four panels a row
    return rec


def _write_sweep_csv(panel: Panel, path: Path, x: str) -> Path:
    """A panel as a wide CSV (x, one column per method)."""
    labels = panel.x_categories
    cols = {}
    for s in panel.series:
        cols[s.label] = pd.Series(s.y, index=[labels[int(v)] if labels else int(v) if x == "n_anomalies" else v
                                              for v in s.x])
    wide = pd.DataFrame(cols).rename_axis(x).reset_index()
    with atomic_path(path) as tmp:
        wide.to_csv(tmp, index=False, float_format="%.4f")
    return path


def ablation_record(results: pd.DataFrame, metrics=("test_auc", "test_ap")) -> Plotted | None:
    """AUC/AP vs number of snapshots (R2-AD2 Table 5 as a plot): a line per data set that ran at
    least two snapshot counts, and their mean over the data sets that ran every count (one epochs
    setting; only with at least two such data sets)."""
    shown = ablation_datasets(results)
    rows = results[(results["experiment"] == "known") & results["metric"].isin(list(metrics))
                   & results["method"].isin([*ABLATION, "r2ad2"]) & results["dataset"].isin(list(shown))]
    rows = base_cells(prefer_epochs(rows))
    if rows.empty:
        return None
    have3 = set(rows.loc[rows["method"] == "r2ad2-3", "dataset"])  # r2ad2 = 3 snapshots
    rows = rows[(rows["method"] != "r2ad2") | ~rows["dataset"].isin(have3)]
    rows = rows.assign(x=rows["method"].map(lambda m: ABLATION.get(m, 3)).astype(float))
    datasets = sorted(rows["dataset"].unique(), key=L.dataset_sort_key)
    colours = [c for c in sns.color_palette("colorblind", len(datasets)).as_hex()]
    panels = []
    metrics = [m for m in metrics if m in set(rows["metric"])]
    used: list[str] = []
    for metric in metrics:
        part = rows[rows["metric"] == metric]
        series = []
        for d, colour in zip(datasets, colours):
            stats = _seed_stats(part[part["dataset"] == d], ["x"]).sort_values("x")
            lo, hi = bands(stats["mean"], stats["std"])
            seeds = _behind(part[part["dataset"] == d], ["x"], "seed")
            series.append(Series(L.dataset_label(d), stats["x"].tolist(), stats["mean"].tolist(), colour, "o",
                                 lo=lo, hi=hi, datasets=[[d]] * len(stats), seeds=[seeds[x] for x in stats["x"]]))
        same, _ = one_epochs_setting(part)
        counts = same.groupby("dataset")["x"].nunique()
        used = sorted(counts[counts == same["x"].nunique()].index, key=L.dataset_sort_key)
        if len(used) >= 2:
            averaged = _common_seeds(same[same["dataset"].isin(used)], [])
            behind, seeds = _behind(averaged, ["x"], "dataset"), _behind(averaged, ["x"], "seed")
            stats = _seed_stats(averaged.groupby(["seed", "x"], as_index=False)["value"].mean(), ["x"]).sort_values("x")
            lo, hi = bands(stats["mean"], stats["std"])
            series.append(Series(f"mean of {len(used)} data sets", stats["x"].tolist(), stats["mean"].tolist(),
                                 "#000000", "s", lo=lo, hi=hi, datasets=[behind[x] for x in stats["x"]],
                                 seeds=[seeds[x] for x in stats["x"]]))
        panels.append(Panel("", series, x_label="number of snapshots", y_label=METRIC_AXIS.get(metric, metric)))
    if rows["x"].nunique() < 2:
        return None
    caption = ("R2-AD2 snapshot ablation: test AUC-ROC and average precision vs number of AE snapshots, "
               f"per data set ({', '.join(map(L.dataset_label, datasets))}); bands: ± std over seeds.")
    caption += (f" Mean: over {', '.join(map(L.dataset_label, used))}, the data sets that ran every count."
                if len(used) >= 2 else " No mean line: fewer than two data sets ran every snapshot count.")
    return Plotted("r2ad2_ablation_snapshots", caption, panels)


def ablation_figure(results: pd.DataFrame, base: str | os.PathLike,
                    metrics=("test_auc", "test_ap")) -> Plotted | None:
    rec = ablation_record(results, metrics)
    if rec is None:
        return None
    rec.name = Path(base).name
    rec.paths = draw_record(rec, base, width=4.0, height=3.2, dodge=False)
    return rec


def all_figures(results: pd.DataFrame, roc: pd.DataFrame | None, out_dir: str | os.PathLike,
                styles: dict | None = None) -> list[Plotted]:
    """Every figure the data supports into `out_dir`, as drawn records (paths and caption set);
    figures without data are skipped. `styles`: the report's method mapping (default: from the
    methods of `results` and `roc`)."""
    out = Path(out_dir)
    if styles is None:
        styles = method_styles(set(results["method"]) | (set(roc["method"]) if roc is not None else set()))
    made: list[Plotted | None] = []
    for metric in ("test_auc", "test_ap"):
        short = metric.removeprefix("test_")
        made.append(sweep_figure(results, "pollution", metric, out / f"r2ad2_fig2_pollution_{short}", styles))
        made.append(sweep_figure(results, "n_anomalies", metric, out / f"r2ad2_fig3_n_anomalies_{short}", styles))
    made.append(ablation_figure(results, out / "r2ad2_ablation_snapshots"))
    if roc is not None and len(roc):
        made += roc_figures(roc, results, out, styles)
    return [r for r in made if r is not None]
