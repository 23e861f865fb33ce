"""Shared plotting helpers: the method → colour/marker mapping, drawing a record's series, panel
grids, legends, and atomic PDF+PNG saving.

Figures are built on `matplotlib.figure.Figure` (rendered by the Agg/PDF canvases), never through
pyplot, so no GUI backend is touched and no global figure registry leaks memory in long runs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.plotted import Series

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


#: Marker cycle of the method mapping (paired with the colours, so no two methods of a report share both).
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "h", "<", ">", "p")


#: After tab10's nine non-grey colours: dark, saturated ones far from tab10's hues.
EXTRA_COLOURS = ("#000000", "#1a1a6e", "#7a0177", "#6b8e23", "#fa8072", "#00ced1", "#b8860b")


def _colours() -> list[str]:
    """tab10 without its grey (grey is the random classifier's and the reference lines'), then
    `EXTRA_COLOURS`."""
    from matplotlib.colors import to_hex

    return [c for c in (to_hex(c) for c in sns.color_palette("tab10")) if c != "#7f7f7f"] + list(EXTRA_COLOURS)


@dataclass(frozen=True)
class Style:
    colour: str  # hex
    marker: str


def method_styles(methods) -> dict[str, Style]:
    """Method id → colour and marker: THE mapping of a report, built once from every method it
    ran (`build_reports`) and passed to every figure, so a method looks the same everywhere.
    Ordered like the tables' columns; ablation variants last, so the main methods get tab10."""
    ordered = sorted(set(methods), key=lambda m: (m in ABLATION, L.method_sort_key(m)))
    colours = _colours()
    return {m: Style(colours[i % len(colours)], MARKERS[i % len(MARKERS)]) for i, m in enumerate(ordered)}


def draw_series(ax, s: Series, dodge: float = 0.0, band_alpha: float = 0.15, **kw) -> None:
    """One record series: its line with markers, shifted by `dodge` in x (so coinciding series
    stay visible), and its band where it has one."""
    x = np.asarray(s.x, float) + dodge
    label = f"{s.label} ({s.note})" if s.note else s.label
    ax.plot(x, s.y, color=s.colour, marker=s.marker, label=label, **{"markersize": 4, "linewidth": 1.4, **kw})
    if s.lo is not None and s.hi is not None:
        ax.fill_between(x, s.lo, s.hi, color=s.colour, alpha=band_alpha, linewidth=0)


def coincidences(series: list[Series], decimals: int = 4) -> None:
    """Note on each series whose points equal an earlier one's ("same as X"): drawn on top of each
    other, one would hide the other."""
    seen: dict[tuple, str] = {}
    for s in series:
        key = (tuple(np.round(np.asarray(s.x, float), decimals)), tuple(np.round(np.asarray(s.y, float), decimals)))
        if key in seen:
            s.note = f"same as {seen[key]}"
        else:
            seen[key] = L.method_label(s.method) if s.method else s.label


def bands(mean, std, y_range=(0.0, 1.0)) -> tuple[list[float], list[float]]:
    """mean ± std, clipped to the metric's range (an AUC band never leaves [0, 1]); a NaN std
    (one seed) gives no width."""
    mean, std = np.asarray(mean, float), np.nan_to_num(np.asarray(std, float))
    lo, hi = y_range
    return np.clip(mean - std, lo, hi).tolist(), np.clip(mean + std, lo, hi).tolist()


def grid(n_panels: int, width: float = 3.2, height: float = 2.7) -> tuple[Figure, list]:
    ncol = min(4, n_panels)
    nrow = math.ceil(n_panels / ncol)
    fig = Figure(figsize=(width * ncol, height * nrow + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel().tolist()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def shared_legend(fig: Figure, axes, max_columns: int = 6, entries=None) -> None:
    """One legend below the panels, with as many columns (≤ `max_columns`) as fit the figure's
    width: measured, since label widths vary (a fixed 6 columns ran off both edges of a 2-panel
    figure). `entries`: (handle, label) pairs; default the first panel's."""
    handles, labels = (list(t) for t in zip(*entries)) if entries else axes[0].get_legend_handles_labels()
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
