"""The papers' figures with seaborn: AUC/AP vs pollution and vs known anomalies (R2-AD2 Figs. 2–3),
the snapshot ablation, and validation ROC curves (A³ Fig. 3, in `roc.py`); each saved as PDF and PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import seaborn as sns

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.plotting import ABLATION, METRIC_AXIS, grid, palette, save_figure, shared_legend
from alarmbench.report.roc import roc_figure
from alarmbench.report.select import base_cells, prefer_epochs


def sweep_figure(results: pd.DataFrame, x: str, metric: str, base: str | os.PathLike,
                 colours: dict | None = None) -> list[Path] | None:
    """Metric vs `x` ("pollution" or "n_anomalies") on known-anomaly cells: a panel per data set
    plus their mean (when there are several), a line per method, ± seed std bands. None when no
    data set has a sweep."""
    made = sweep_panels(results, x, metric)
    if made is None:
        return None
    panels, rows, mean = made
    _write_sweep_csv(mean, Path(f"{base}.csv"), x)
    colours = colours or palette(rows["method"].unique())
    hue_order = [L.method_label(m) for m in sorted(rows["method"].unique(), key=L.method_sort_key)]
    with sns.axes_style("whitegrid"):
        fig, axes = grid(len(panels), width=max(3.2, 6.4 / len(panels)))  # one panel: wide, for the legend
        for ax, (title, data) in zip(axes, panels):
            sns.lineplot(data=data, x="x", y="value", hue="label", hue_order=hue_order, palette=colours,
                         errorbar="sd", marker="o", ax=ax)
            ax.set(title=title, xlabel="pollution (%)" if x == "pollution" else "known anomalies",
                   ylabel=METRIC_AXIS.get(metric, metric))
        shared_legend(fig, axes)
        return save_figure(fig, base)


def sweep_panels(results: pd.DataFrame, x: str, metric: str):
    """(panels as (title, rows), the sweep rows, the per-seed mean over data sets) of a sweep
    figure; the "mean" panel only when it averages more than one data set (with one it would
    repeat that data set's panel). None when no data set has a sweep."""
    rows = prefer_epochs(results[(results["experiment"] == "known") & (results["metric"] == metric)
                                 & ~results["method"].isin(list(ABLATION))])
    fixed = "n_anomalies" if x == "pollution" else "pollution"
    keep = []
    for _, part in rows.groupby("dataset"):
        values = set(part[fixed])
        at = (100 if 100 in values else max(values)) if fixed == "n_anomalies" else min(values)
        part = part[part[fixed] == at]
        if part[x].nunique() > 1:
            keep.append(part)
    if not keep:
        return None
    rows = pd.concat(keep, ignore_index=True)
    rows = rows.assign(x=rows[x] * (100 if x == "pollution" else 1), label=rows["method"].map(L.method_label))
    datasets = sorted(rows["dataset"].unique(), key=L.dataset_sort_key)
    mean = rows.groupby(["label", "seed", "x"], as_index=False)["value"].mean()  # over data sets, per seed
    panels = [(L.dataset_label(d), rows[rows["dataset"] == d]) for d in datasets]
    return panels + ([("mean", mean)] if len(datasets) > 1 else []), rows, mean


def _write_sweep_csv(mean: pd.DataFrame, path: Path, x: str) -> None:
    """The mean panel as a wide CSV (x, one column per method): what `dvc plots` draws."""
    wide = mean.groupby(["x", "label"])["value"].mean().unstack("label").reset_index().rename(columns={"x": x})
    with atomic_path(path) as tmp:
        wide.to_csv(tmp, index=False, float_format="%.4f")


def ablation_figure(results: pd.DataFrame, base: str | os.PathLike,
                    metrics=("test_auc", "test_ap")) -> list[Path] | None:
    """AUC/AP vs number of snapshots (R2-AD2 Table 5 as a plot): a line per data set and their mean."""
    rows = results[(results["experiment"] == "known") & results["metric"].isin(list(metrics))
                   & results["method"].isin([*ABLATION, "r2ad2"])]
    rows = base_cells(prefer_epochs(rows))
    if rows.empty:
        return None
    have3 = set(rows.loc[rows["method"] == "r2ad2-3", "dataset"])  # r2ad2 = 3 snapshots
    rows = rows[(rows["method"] != "r2ad2") | ~rows["dataset"].isin(have3)]
    rows = rows.assign(k=rows["method"].map(lambda m: ABLATION.get(m, 3)), data=rows["dataset"].map(L.dataset_label))
    if rows["k"].nunique() < 2:
        return None
    metrics = [m for m in metrics if m in set(rows["metric"])]
    with sns.axes_style("whitegrid"):
        fig, axes = grid(len(metrics), width=4.0, height=3.2)
        for ax, metric in zip(axes, metrics):
            part = rows[rows["metric"] == metric]
            sns.lineplot(data=part, x="k", y="value", hue="data", errorbar="sd", marker="o", alpha=0.6, ax=ax)
            mean = part.groupby(["seed", "k"], as_index=False)["value"].mean()
            sns.lineplot(data=mean, x="k", y="value", color="black", linewidth=2.5, errorbar="sd", marker="s",
                         label="mean", ax=ax)
            ax.set(xlabel="number of snapshots", ylabel=METRIC_AXIS.get(metric, metric),
                   xticks=sorted(rows["k"].unique()))
        shared_legend(fig, axes)
        return save_figure(fig, base)


def all_figures(results: pd.DataFrame, roc: pd.DataFrame | None,
                out_dir: str | os.PathLike) -> list[tuple[list[Path], str]]:
    """Every figure the data supports into `out_dir`, as (files, caption); figures without data
    are skipped."""
    out = Path(out_dir)
    methods = set(results["method"]) | (set(roc["method"]) if roc is not None else set())
    colours = palette(methods)
    made: list[tuple[list[Path] | None, str]] = []
    for metric in ("test_auc", "test_ap"):
        short, name = metric.removeprefix("test_"), METRIC_AXIS[metric]
        made.append((sweep_figure(results, "pollution", metric, out / f"r2ad2_fig2_pollution_{short}", colours),
                     f"Test {name} vs pollution of the training data (R2-AD2 Fig. 2); bands: ± std over seeds."))
        made.append((sweep_figure(results, "n_anomalies", metric, out / f"r2ad2_fig3_n_anomalies_{short}", colours),
                     f"Test {name} vs number of known anomalies (R2-AD2 Fig. 3); bands: ± std over seeds."))
    made.append((ablation_figure(results, out / "r2ad2_ablation_snapshots"),
                 "R2-AD2 snapshot ablation: test AUC-ROC and average precision vs number of AE snapshots."))
    if roc is not None and len(roc):
        for (dataset, experiment), _ in roc.groupby(["dataset", "experiment"]):
            base = out / f"roc_{L.safe_stem(dataset)}_{L.safe_stem(experiment)}"
            made.append((roc_figure(roc, results, dataset, experiment, base, colours),
                         f"Validation ROC curves, {L.dataset_label(dataset)}, experiment {experiment} (A³ Fig. 3)."))
    return [(paths, caption) for paths, caption in made if paths]
