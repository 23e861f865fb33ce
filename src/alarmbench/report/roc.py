"""Validation ROC curves per method (A³ Fig. 3; the authors' per-seed `roc.png`), as grids of
panels, one per (data set, experiment).

A curve is drawn only as a curve whose area is its AUC: `roc.csv` files written before
`metrics.roc_points` kept both ends of vertical steps hold the authors' export (the first, lowest-TPR
point of each equal-FPR run), whose polyline is not the ROC curve; `drawable_curve` recovers the
step curve from them where it reproduces the recorded AUC, and says so where it cannot.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from alarmbench.evaluate.metrics import roc_area
from alarmbench.report import labels as L
from alarmbench.report.plotted import Panel, Plotted, Series
from alarmbench.report.plotting import coincidences, draw_series, method_styles, save_figure
from alarmbench.report.select import base_cells, prefer_epochs, without_shown_ablation

#: Panels per figure (3 columns × 2 rows fit a page with its caption).
PANELS, COLUMNS = 6, 3
#: Largest |drawn area − recorded AUC| accepted silently (the points are rounded to 3 decimals).
AREA_TOLERANCE = 0.005


def steps_from_first_points(fpr, tpr) -> tuple[list[float], list[float]]:
    """The step curve through the authors' export: at each FPR the curve rises to the next
    point's TPR (the lowest TPR of the next FPR is the highest of this one when no anomaly ties a
    normal row's score)."""
    fpr, tpr = np.asarray(fpr, float), np.asarray(tpr, float)
    top = np.append(tpr[1:], tpr[-1])
    return np.repeat(fpr, 2).tolist(), np.column_stack([tpr, top]).ravel().tolist()


def drawable_curve(fpr, tpr, auc: float | None) -> tuple[list[float], list[float], str]:
    """(fpr, tpr, note): the stored points when their area is the AUC; else the step curve of an
    authors'-style export where that reproduces it; else the closer of the two with a note giving
    its area (ties in the scores: the stored points do not determine the curve)."""
    fpr, tpr = list(map(float, fpr)), list(map(float, tpr))
    if auc is None or abs(roc_area(fpr, tpr) - auc) <= AREA_TOLERANCE:
        return fpr, tpr, ""
    sf, st = steps_from_first_points(fpr, tpr)
    best = min(((fpr, tpr), (sf, st)), key=lambda c: abs(roc_area(*c) - auc))
    area = roc_area(*best)
    return (*best, "" if abs(area - auc) <= AREA_TOLERANCE else f"drawn area {L.fmt_num(area)}")


def roc_panel(roc: pd.DataFrame, results: pd.DataFrame | None, dataset: str, experiment: str,
              styles: dict) -> tuple[Panel, int] | None:
    """The panel of one (data set, experiment) at its base cell and smallest seed, and that seed."""
    rows = roc[(roc["dataset"] == dataset) & (roc["experiment"] == experiment) & (roc["split"] == "val")]
    rows = base_cells(prefer_epochs(rows), n_prefer=200 if experiment.startswith("a3-") else 100)
    if rows.empty:
        return None
    seed = int(rows["seed"].min())
    rows = rows[rows["seed"] == seed]
    series = []
    for method, curve in sorted(rows.groupby("method"), key=lambda mc: L.method_sort_key(mc[0])):
        curve = curve.sort_values("point")
        auc = _lookup(results, curve.iloc[0], "val_auc")
        fpr, tpr, note = drawable_curve(curve["fpr"], curve["tpr"], auc)
        label = L.method_label(method) + ("" if auc is None else f" {L.fmt_num(auc)}")
        series.append(Series(label, fpr, tpr, styles[method].colour, styles[method].marker, method=method,
                             note=note))
    coincidences(series)
    return Panel(f"{L.dataset_label(dataset)}, {experiment}", series, x_label="False positive rate",
                 y_label="True positive rate"), seed


def roc_figures(roc: pd.DataFrame, results: pd.DataFrame | None, out_dir: str | os.PathLike,
                styles: dict | None = None) -> list[Plotted]:
    """Every (data set, experiment) of `roc.csv` as a panel (validation part, base cell, smallest
    seed; the snapshot-ablation variants left out where the ablation shows them), `PANELS` to a
    figure `roc_validation_<i>.pdf|png`."""
    roc = without_shown_ablation(roc)
    styles = styles or method_styles(roc["method"].unique())
    keys = sorted({(d, e) for d, e in zip(roc["dataset"], roc["experiment"])},
                  key=lambda k: (L.dataset_sort_key(k[0]), k[1]))
    made = [p for k in keys if (p := roc_panel(roc, results, *k, styles)) is not None]
    out = []
    per_figure = -(-len(made) // -(-len(made) // PANELS)) if made else PANELS  # 13 panels: 5, 5, 3
    for i in range(0, len(made), per_figure):
        chunk = made[i:i + per_figure]
        seeds = sorted({s for _, s in chunk})
        name = f"roc_validation_{i // per_figure + 1}"
        paper = " (A³ Fig. 3)" if L.papers_data(d for d, _ in keys) else ""
        caption = (f"Validation ROC curves{paper} at each panel's base cell, seed {'/'.join(map(str, seeds))}; "
                   "legend: validation AUC; dotted grey: a random classifier.")
        rec = Plotted(name, caption, [p for p, _ in chunk])
        rec.paths = draw_roc(rec, Path(out_dir) / name)
        rec.rows = -(-len(chunk) // COLUMNS)
        rec.width = min(len(chunk), COLUMNS) / COLUMNS  # a lone panel is not blown up to the page width
        out.append(rec)
    return out


def draw_roc(rec: Plotted, base: str | os.PathLike) -> list[Path]:
    n = len(rec.panels)
    ncol = min(COLUMNS, n)
    nrow = -(-n // ncol)
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(2.6 * ncol, 2.7 * nrow), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax, panel in zip(axes, rec.panels):
            ax.plot([0, 1], [0, 1], ls=":", color="grey", linewidth=0.8)
            for s in panel.series:  # markers spaced along the curve (a vertex each would blot dense curves)
                draw_series(ax, s, markersize=3, linewidth=1.1, markevery=0.12)
            ax.set_xlim(-0.02, 1.02)  # a margin: a step at FPR 0 or TPR 1 would hide in the frame
            ax.set_ylim(-0.02, 1.03)
            ax.set_title(panel.title, fontsize=8)
            ax.set_xlabel(panel.x_label, fontsize=7)
            ax.set_ylabel(panel.y_label, fontsize=7)
            ax.tick_params(labelsize=6)
            ax.legend(loc="lower right", fontsize=5, handlelength=1.5, borderpad=0.3, labelspacing=0.2,
                      framealpha=0.85)
        return save_figure(fig, base)


def _lookup(results: pd.DataFrame | None, key: pd.Series, metric: str) -> float | None:
    if results is None:
        return None
    hit = results[(results["metric"] == metric) & np.logical_and.reduce(
        [results[c] == key[c] for c in ("dataset", "experiment", "method", "seed", "n_anomalies", "pollution",
                                         "epochs")])]
    return float(hit["value"].iloc[0]) if len(hit) else None
