"""The critical-difference diagram of a `Ranking` (Demšar, JMLR 7, 2006): average ranks on an
axis, thick bars joining the methods that are not significantly different, the CD above —
scikit-posthocs' drawing when it is installed, else ours.

Output: `figures/cd_<metric>.pdf|.png` (see `ranking_outputs.write_ranking`).
"""

from __future__ import annotations

import inspect
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.transforms import offset_copy

from alarmbench.report import labels as L
from alarmbench.report import stats as S
from alarmbench.report.plotted import Panel, Plotted, Series
from alarmbench.report.plotting import METRIC_AXIS, method_styles, save_figure
from alarmbench.report.ranking import Ranking


def cliques(average_rank: pd.Series, pvalues: pd.DataFrame, alpha: float = 0.05) -> list[list[str]]:
    """Maximal runs of methods, adjacent in rank order, whose every pair is not significantly
    different (p ≥ α): the bars of the diagram."""
    methods = list(average_rank.sort_values(kind="stable").index)
    p = pvalues.reindex(index=methods, columns=methods).to_numpy(float)
    runs: list[tuple[int, int]] = []
    for i in range(len(methods)):
        j = i
        while j + 1 < len(methods) and np.all(p[i:j + 2, i:j + 2] >= alpha):
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in runs):
            runs.append((i, j))
    return [methods[a:b + 1] for a, b in runs]


FONT_SIZE = 9


def _text_width_in(texts, size: float = FONT_SIZE) -> float:
    """Width in inches of the widest of `texts` in matplotlib's default font."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    ttp, font = TextToPath(), FontProperties(size=size)
    return max(ttp.get_text_width_height_descent(t, font, ismath=False)[0] for t in texts) / 72


def _side_labels(r: Ranking, labels: dict[str, str]) -> tuple[list[str], list[str], dict[str, str]]:
    """The better half (left, best first), the rest (right, worst first), and each label's text."""
    avg = r.average_rank
    k = len(avg)
    left, right = list(avg.index[: (k + 1) // 2]), list(avg.index[(k + 1) // 2:])[::-1]
    text = {m: f"{labels[m]} ({avg[m]:.2f})" for m in left} | {m: f"({avg[m]:.2f}) {labels[m]}" for m in right}
    return left, right, text


def _demsar_figure(r: Ranking, labels: dict[str, str], colours: dict[str, str]) -> Figure:
    """The classic diagram: a rank axis (1 = best, left), each method's elbow to its label (the
    better half on the left), thick bars joining cliques, and the CD above the axis."""
    avg = r.average_rank
    k = len(avg)
    groups = cliques(avg, r.posthoc, r.alpha)
    left, right, text = _side_labels(r, labels)
    gap_in = 0.3  # axis end → label, inches
    side_in = gap_in + _text_width_in(text.values()) + 0.1
    axis_in = max(3.5, 0.45 * (k - 1))
    unit = (k - 1) / axis_in  # data units per inch
    bar_step, row_step = 0.35, 0.7  # y data units; 0.28 inch each
    top = -2.4 if not math.isnan(r.cd) else -1.0
    first_row = 0.6 + bar_step * len(groups)
    bottom = first_row + row_step * (max(len(left), len(right)) - 1) + 0.6
    fig = Figure(figsize=(axis_in + 2 * side_in, 0.28 * (bottom - top) + 0.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(1 - side_in * unit, k + side_in * unit)
    ax.set_ylim(bottom, top)  # y grows downwards
    ax.set_axis_off()
    line = {"color": "black", "linewidth": 1.0}
    ax.plot([1, k], [0, 0], **line)
    for t in range(1, k + 1):
        ax.plot([t, t], [0, -0.18], **line)
        ax.text(t, -0.3, str(t), ha="center", va="bottom", fontsize=FONT_SIZE)
    for t in np.arange(1.5, k, 1.0):
        ax.plot([t, t], [0, -0.09], **line)
    if not math.isnan(r.cd):
        y = -1.45
        ax.plot([1, 1 + r.cd], [y, y], color="black", linewidth=1.5)
        for x in (1, 1 + r.cd):
            ax.plot([x, x], [y - 0.12, y + 0.12], color="black", linewidth=1.5)
        ax.text(1 + r.cd / 2, y - 0.15, f"CD = {r.cd:.2f}", ha="center", va="bottom", fontsize=FONT_SIZE)
    for side, methods in (("left", left), ("right", right)):
        sign = -1 if side == "left" else 1
        edge = (1 if side == "left" else k) + sign * (gap_in - 0.05) * unit
        for i, m in enumerate(methods):
            y = first_row + row_step * i
            ax.plot([avg[m], avg[m], edge], [0, y, y], **{**line, "color": colours[labels[m]]})
            ax.text(edge + sign * 0.05 * unit, y, text[m], fontsize=FONT_SIZE, va="center", color=colours[labels[m]],
                    ha="right" if side == "left" else "left")
    for i, members in enumerate(groups):
        y = 0.45 + bar_step * i
        ax.plot([avg[members[0]] - 0.04 * unit, avg[members[-1]] + 0.04 * unit], [y, y], color="black",
                linewidth=3.5, solid_capstyle="round")
    return fig


def _sort_crossbars(ax) -> None:
    """scikit-posthocs draws each clique's bar through its members in the order of a Python set of
    labels, which changes with the string hash seed of the process: the same bar, other bytes.
    In rank order the file is the same in every run."""
    for line in ax.get_lines():
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if len(x) > 2 and np.all(y == y[0]):
            line.set_data(np.sort(x), y)


def _posthocs_figure(sp, r: Ranking, labels: dict[str, str], colours: dict[str, str]) -> Figure | None:
    """scikit-posthocs' `critical_difference_diagram` on a pyplot-free Figure, with the CD drawn
    above the tick labels; None when the installed version cannot take our significance level
    or an `ax`."""
    params = inspect.signature(sp.critical_difference_diagram).parameters
    if "ax" not in params or ("alpha" not in params and r.alpha != 0.05):
        return None
    ranks = r.average_rank.rename(index=labels)
    sig = r.posthoc.rename(index=labels, columns=labels)
    k = len(ranks)
    fig = Figure(figsize=(7.0, 1.4 + 0.28 * ((k + 1) // 2)), layout="constrained")
    ax = fig.subplots()
    extra = {"alpha": r.alpha} if "alpha" in params else {}
    sp.critical_difference_diagram(ranks, sig, ax=ax, label_fmt_left="{label} ({rank:.2f})",
                                   label_fmt_right="({rank:.2f}) {label}", text_h_margin=0.05,
                                   color_palette=colours,
                                   label_props={"fontsize": FONT_SIZE}, **extra)
    _sort_crossbars(ax)
    lo, hi = ax.get_xlim()
    if not math.isnan(r.cd):  # the CD bar starts at the best rank: keep its end inside the axis
        hi = max(hi, float(ranks.min()) + r.cd + 0.1)
        ax.set_xlim(lo, hi)
    ax.set_xticks([t for t in range(1, k + 1) if lo <= t <= hi])
    ax.tick_params(labelsize=FONT_SIZE)
    if not math.isnan(r.cd):  # above the tick labels, in points, whatever the data range
        x0 = float(ranks.min())
        bar = offset_copy(ax.transData, fig=fig, y=26, units="points")
        ax.plot([x0, x0 + r.cd], [0, 0], transform=bar, color="black", linewidth=1.5, clip_on=False)
        for x in (x0, x0 + r.cd):
            ax.plot([x, x], [0, 0], transform=bar, marker="|", markersize=7, color="black", clip_on=False)
        ax.text(x0 + r.cd / 2, 0, f"CD = {r.cd:.2f}", transform=offset_copy(ax.transData, fig=fig, y=30,
                units="points"), ha="center", va="bottom", fontsize=FONT_SIZE, clip_on=False)
    return fig


def cd_diagram(r: Ranking, base: str | os.PathLike, style: str = "auto", styles: dict | None = None) -> list[Path]:
    """`base.pdf` and `base.png`: scikit-posthocs' diagram (`style` "auto" when it is installed,
    or "posthocs"), else ("demsar") our drawing of Demšar's; method colours from `styles` (the
    report's mapping, `plotting.method_styles`)."""
    if not r.testable:
        raise ValueError(f"no diagram: {r.reason}")
    labels = {m: L.method_label(m) for m in r.average_rank.index}
    sp = S.scikit_posthocs() if style in ("auto", "posthocs") else None
    if style == "posthocs" and sp is None:
        raise ImportError("style='posthocs' needs scikit-posthocs")
    styles = styles or method_styles(r.average_rank.index)
    colours = {labels[m]: styles[m].colour for m in r.average_rank.index}
    fig = _posthocs_figure(sp, r, labels, colours) if sp is not None and hasattr(sp, "critical_difference_diagram") else None
    if fig is None and style == "posthocs":
        raise ImportError("this scikit-posthocs has no usable critical_difference_diagram")
    if fig is None:
        fig = _demsar_figure(r, labels, colours)
    return save_figure(fig, base)


def cd_caption(r: Ranking) -> str:
    ties = [g for _, g in r.average_rank.groupby(r.average_rank.round(6)) if len(g) > 1]
    tied = "".join(f" Tied at {g.iloc[0]:.2f} (drawn at one point): {', '.join(map(L.method_label, g.index))}."
                   for g in ties)
    return (f"Critical-difference diagram, {METRIC_AXIS.get(r.metric, r.metric)}, {r.experiment} anomalies: "
            f"average rank over {r.n_datasets} data sets ({', '.join(map(L.dataset_label, r.scores.index))}; "
            f"1 = best); methods joined by a bar are not significantly different ({r.posthoc_test}, "
            f"{100 * r.alpha:g}% level). CD = {r.cd:.2f} (Nemenyi).{tied}")


def cd_record(r: Ranking, paths: list[Path], styles: dict | None = None) -> Plotted:
    """The diagram as a record: a point per method at its average rank, the test and its N."""
    styles = styles or method_styles(r.average_rank.index)
    datasets = [str(d) for d in r.scores.index]
    series = [Series(L.method_label(m), [float(v)], [0.0], styles[m].colour, styles[m].marker, method=m,
                     datasets=[datasets]) for m, v in r.average_rank.items()]
    return Plotted(Path(paths[0]).stem, cd_caption(r), [Panel("", series, y_range=None, x_label="average rank")],
                   list(paths), {"test": f"Friedman + {r.posthoc_test}", "n_datasets": r.n_datasets,
                                 "min_datasets": S.MIN_DATASETS})


__all__ = ["cd_caption", "cd_diagram", "cd_record", "cliques"]
