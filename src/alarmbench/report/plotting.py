"""Shared plotting helpers: colours, panel grids, legends, and atomic PDF+PNG saving.

Figures are built on `matplotlib.figure.Figure` (rendered by the Agg/PDF canvases), never through
pyplot, so no GUI backend is touched and no global figure registry leaks memory in long runs.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L

METRIC_AXIS = {"test_auc": "AUC-ROC", "test_ap": "Average precision"}
ABLATION = L.ABLATION


def save_figure(fig: Figure, base: str | os.PathLike) -> list[Path]:
    """`base.pdf` and `base.png`, atomically; the PDF carries no date so reruns give equal bytes."""
    paths = []
    for ext, kw in (("pdf", {"metadata": {"CreationDate": None}}), ("png", {"dpi": 150})):
        path = Path(f"{base}.{ext}")
        with atomic_path(path, suffix=f".{ext}") as tmp:
            fig.savefig(tmp, format=ext, **kw)  # constrained layout already fits the legend
        paths.append(path)
    return paths


def palette(methods) -> dict[str, tuple]:
    """Method label → colour, in the tables' column order; build it once from every method so a
    method keeps its colour across figures."""
    # Ablation variants last, so the methods of the main figures get the ten tab10 colours.
    ordered = sorted(set(methods), key=lambda m: (m in ABLATION, L.method_sort_key(m)))
    colours = (sns.color_palette("tab10") + sns.color_palette("Dark2")) * (1 + len(ordered) // 18)
    return dict(zip(map(L.method_label, ordered), colours))


def grid(n_panels: int, width: float = 3.2, height: float = 2.7) -> tuple[Figure, list]:
    ncol = min(4, n_panels)
    nrow = math.ceil(n_panels / ncol)
    fig = Figure(figsize=(width * ncol, height * nrow + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel().tolist()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def shared_legend(fig: Figure, axes, max_columns: int = 6) -> None:
    """One legend below the panels, with as many columns (≤ `max_columns`) as fit the figure's
    width: measured, since label widths vary (a fixed 6 columns ran off both edges of a 2-panel
    figure)."""
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes:
        if ax.get_legend():
            ax.get_legend().remove()
    if not handles:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    for ncol in range(min(len(labels), max_columns), 0, -1):
        legend = fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)
        if ncol == 1 or legend.get_window_extent(renderer).width <= 0.98 * fig.bbox.width:
            return
        legend.remove()
