"""Validation ROC curves per method (A³ Fig. 3; the authors' per-seed `roc.png`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from alarmbench.report import labels as L
from alarmbench.report.plotting import ABLATION, palette, save_figure
from alarmbench.report.select import base_cells, prefer_epochs


def roc_figure(roc: pd.DataFrame, results: pd.DataFrame | None, dataset: str, experiment: str,
               base: str | os.PathLike, colours: dict | None = None) -> list[Path] | None:
    """Validation ROC curves per method (records' `roc_validation`, roc.csv's split "val") for one
    (data set, experiment) at its base cell and its smallest seed (like the authors' per-seed
    plots), with the random-classifier diagonal. The snapshot-ablation variants are left out
    (R2-AD2 itself is drawn)."""
    rows = roc[(roc["dataset"] == dataset) & (roc["experiment"] == experiment) & (roc["split"] == "val")
               & ~roc["method"].isin(list(ABLATION))]
    rows = base_cells(prefer_epochs(rows), n_prefer=200 if experiment.startswith("a3-") else 100)
    if rows.empty:
        return None
    rows = rows[rows["seed"] == rows["seed"].min()]
    colours = colours or palette(rows["method"].unique())
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(4.6, 4.2), layout="constrained")
        ax = fig.subplots()
        for method, curve in sorted(rows.groupby("method"), key=lambda mc: L.method_sort_key(mc[0])):
            curve = curve.sort_values("point")
            label = L.method_label(method)
            auc = _lookup(results, curve.iloc[0], "val_auc")
            ax.plot(curve["fpr"], curve["tpr"], color=colours[label],
                    label=label if auc is None else f"{label} (AUC {auc:.2f})")
        ax.plot([0, 1], [0, 1], ls="--", color="grey", label="Random classifier")
        ax.set(xlabel="False Positive Rate", ylabel="True Positive Rate", xlim=(0, 1), ylim=(0, 1.01),
               title=f"{L.dataset_label(dataset)}, {experiment}: validation part (seed {int(rows['seed'].iloc[0])})")
        ax.legend(loc="lower right", fontsize="small")
        return save_figure(fig, base)


def _lookup(results: pd.DataFrame | None, key: pd.Series, metric: str) -> float | None:
    if results is None:
        return None
    hit = results[(results["metric"] == metric) & np.logical_and.reduce(
        [results[c] == key[c] for c in ("dataset", "experiment", "method", "seed", "n_anomalies", "pollution",
                                         "epochs")])]
    return float(hit["value"].iloc[0]) if len(hit) else None
