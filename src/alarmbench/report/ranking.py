"""Average ranks of the methods over data sets, the Friedman test, a post-hoc test and the critical
difference diagram (Demšar, JMLR 7, 2006) — for the cells of R2-AD2 Table 3.

Per data set the seed means of the methods are ranked (1 = best, ties get the average rank); the
average rank per method summarises a table at a glance. The Friedman test asks whether the methods
differ at all; the post-hoc test (Nemenyi via scikit-posthocs when installed, else pairwise
Wilcoxon signed-rank tests with Holm's correction) says which pairs do; the diagram joins the
methods that are not significantly different.

Outputs: `tables/ranking_<metric>.csv|.tex`, `tables/ranking_<metric>_posthoc.csv`,
`figures/cd_<metric>.pdf|.png`.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.transforms import offset_copy
from scipy import stats

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.latex import Block, LatexTable, bold
from alarmbench.report.plotting import METRIC_AXIS, palette, save_figure
from alarmbench.report.select import reduced_epochs, table_rows
from alarmbench.report.tables import METRIC_TITLES, Table, n_text, write_table

#: Fewest methods / data sets for the Friedman test and a diagram (Demšar 2006).
MIN_METHODS, MIN_DATASETS = 3, 2
NEMENYI, WILCOXON_HOLM = "Nemenyi", "Wilcoxon-Holm"


@dataclass
class Ranking:
    """Ranks of `k` methods over `N` data sets for one metric, with the tests' results."""

    metric: str
    experiment: str
    scores: pd.DataFrame  # data set × method: seed means of the complete block that is ranked
    ranks: pd.DataFrame  # data set × method: 1 = best, ties averaged
    average_rank: pd.Series  # method → mean rank over data sets, ascending (best first)
    mean_score: pd.Series  # method → mean over the ranked data sets of the seed means
    #: method → data sets it lacks (not ranked); data set → methods it lacks (not used)
    dropped_methods: dict[str, list[str]] = field(default_factory=dict)
    dropped_datasets: dict[str, list[str]] = field(default_factory=dict)
    #: every method's mean over the data sets it ran on, dropped ones included
    all_mean_score: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    all_n_datasets: pd.Series = field(default_factory=lambda: pd.Series(dtype=int))
    cell: str = ""  # e.g. "n = 100" (see `tables.n_text`)
    alpha: float = 0.05
    friedman_statistic: float = math.nan
    friedman_pvalue: float = math.nan
    reason: str = ""  # why the tests did not run ("" when they did)
    posthoc: pd.DataFrame = field(default_factory=pd.DataFrame)  # method × method p-values (diagonal 1)
    posthoc_test: str = ""  # NEMENYI or WILCOXON_HOLM
    cd: float = math.nan  # Nemenyi critical difference of average ranks
    #: data set → its epochs, left out because it ran fewer epochs than the papers (see method_scores)
    reduced_epochs: dict[str, str] = field(default_factory=dict)

    @property
    def n_methods(self) -> int:
        return self.scores.shape[1]

    @property
    def n_datasets(self) -> int:
        return self.scores.shape[0]

    @property
    def testable(self) -> bool:
        """Enough methods and data sets for the Friedman test (and the outputs)."""
        return not self.reason


# --------------------------------------------------------------------------------------------
# statistics


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """Per-row ranks (1 = best; ties get their average rank) and the column means of the ranks."""
    values = -scores.to_numpy(float) if higher_is_better else scores.to_numpy(float)
    ranks = pd.DataFrame(stats.rankdata(values, axis=1), index=scores.index, columns=scores.columns)
    return ranks, ranks.mean(axis=0).sort_values(kind="stable")


def complete_block(scores: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]], dict[str, list[str]]]:
    """The largest complete data set × method block by greedy elimination: repeatedly drop the
    method or data set with the largest fraction of missing cells (a method on a tie), so a method
    that did not run everywhere is dropped, and so is a data set only a few methods ran on.

    Returns the block and what was dropped: {method: data sets it lacks}, {data set: methods it lacks}.
    """
    block = scores.copy()
    dropped_m, dropped_d = {}, {}
    while block.size and block.isna().to_numpy().any():
        m_frac = block.isna().mean(axis=0)
        d_frac = block.isna().mean(axis=1)
        if m_frac.max() >= d_frac.max():
            m = m_frac.idxmax()
            dropped_m[m] = [str(d) for d in block.index[block[m].isna()]]
            block = block.drop(columns=m)
        else:
            d = d_frac.idxmax()
            dropped_d[d] = [str(m) for m in block.columns[block.loc[d].isna()]]
            block = block.drop(index=d)
    for m in list(dropped_m):  # complete again once the data sets it lacked are gone
        if len(block.index) and scores.loc[block.index, m].notna().all():
            block[m] = scores.loc[block.index, m]
            del dropped_m[m]
    # what a dropped method lacks among the data sets finally kept, and vice versa
    dropped_m = {m: [d for d in map(str, block.index) if pd.isna(scores.at[d, m])] or v
                 for m, v in dropped_m.items()}
    dropped_d = {d: [m for m in map(str, block.columns) if pd.isna(scores.at[d, m])] or v
                 for d, v in dropped_d.items()}
    return block, dropped_m, dropped_d


def friedman(scores: pd.DataFrame) -> tuple[float, float, str]:
    """Friedman's chi-square statistic and p-value over the rows (data sets) of `scores`;
    NaN and a reason when there are fewer than 3 methods or 2 data sets, or every row ties."""
    k, n = scores.shape[1], scores.shape[0]
    if k < MIN_METHODS or n < MIN_DATASETS:
        return math.nan, math.nan, (f"{k} method(s) on {n} data set(s); the Friedman test needs "
                                    f"at least {MIN_METHODS} methods and {MIN_DATASETS} data sets")
    if (scores.nunique(axis=1) == 1).all():
        return math.nan, math.nan, "every method ties on every data set"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.friedmanchisquare(*(scores[c].to_numpy(float) for c in scores.columns))
    return float(res.statistic), float(res.pvalue), ""


@functools.lru_cache(maxsize=64)
def q_alpha(k: int, alpha: float = 0.05) -> float:
    """Demšar's q_α: the studentized range quantile for k groups and infinite d.f., over √2."""
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks, CD = q_α·sqrt(k(k+1)/(6N)) (Demšar 2006)."""
    if k < 2 or n < 1:
        return math.nan
    return q_alpha(k, alpha) * math.sqrt(k * (k + 1) / (6 * n))


def _scikit_posthocs():
    """The scikit-posthocs module, or None when it is not installed (tests patch this)."""
    try:
        import scikit_posthocs
    except ImportError:
        return None
    return scikit_posthocs


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (statsmodels' `multipletests` when installed)."""
    p = np.asarray(pvalues, float)
    if p.size == 0:
        return p
    try:
        from statsmodels.stats.multitest import multipletests
    except ImportError:
        order = np.argsort(p, kind="stable")
        adjusted = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
        out = np.empty_like(p)
        out[order] = np.minimum(adjusted, 1.0)
        return out
    return multipletests(p, method="holm")[1]


def wilcoxon_holm(scores: pd.DataFrame) -> pd.DataFrame:
    """Pairwise two-sided Wilcoxon signed-rank p-values over data sets, Holm-corrected; a pair
    that never differs gets p = 1. Symmetric method × method frame, diagonal 1."""
    methods = list(scores.columns)
    pairs, raw = [], []
    for i, a in enumerate(methods):
        for b in methods[i + 1:]:
            diff = scores[a].to_numpy(float) - scores[b].to_numpy(float)
            p = 1.0
            if np.any(diff != 0):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # small-sample notes
                    try:
                        p = float(stats.wilcoxon(scores[a], scores[b]).pvalue)
                    except ValueError:
                        p = 1.0
                p = 1.0 if math.isnan(p) else p
            pairs.append((a, b))
            raw.append(p)
    out = pd.DataFrame(np.eye(len(methods)), index=methods, columns=methods)
    for (a, b), p in zip(pairs, holm(raw)):
        out.loc[a, b] = out.loc[b, a] = float(p)
    return out


def posthoc_pvalues(scores: pd.DataFrame, test: str = "auto") -> tuple[pd.DataFrame, str]:
    """Pairwise p-values (method × method, diagonal 1) and the test's name.

    `test`: "nemenyi" (needs scikit-posthocs), "wilcoxon-holm", or "auto" (Nemenyi when
    scikit-posthocs is installed, else Wilcoxon–Holm).
    """
    sp = _scikit_posthocs() if test in ("auto", "nemenyi") else None
    if test == "nemenyi" and sp is None:
        raise ImportError("the Nemenyi test needs scikit-posthocs")
    if sp is not None:
        data = pd.DataFrame(scores.to_numpy(float), columns=list(scores.columns))
        p = sp.posthoc_nemenyi_friedman(data)
        values = p.reindex(index=scores.columns, columns=scores.columns).to_numpy(float, copy=True)
        np.fill_diagonal(values, 1.0)
        return pd.DataFrame(values, index=scores.columns, columns=scores.columns), NEMENYI
    return wilcoxon_holm(scores), WILCOXON_HOLM


# --------------------------------------------------------------------------------------------
# ranking


def rank_scores(scores: pd.DataFrame, metric: str = "test_auc", experiment: str = "known", *,
                alpha: float = 0.05, posthoc: str = "auto", cell: str = "") -> Ranking:
    """Rank the methods (columns) of a data set × method frame of seed means (NaN = did not run;
    higher is better). Methods missing on a kept data set are dropped (see `complete_block`)."""
    scores = scores.astype(float)
    block, dropped_m, dropped_d = complete_block(scores)
    block = block.reindex(columns=sorted(block.columns, key=L.method_sort_key))
    ranks, avg = average_ranks(block)
    result = Ranking(metric, experiment, block, ranks, avg, block.mean(axis=0).reindex(avg.index),
                     dropped_m, dropped_d, scores.mean(axis=0), scores.notna().sum(axis=0), cell, alpha)
    stat, p, reason = friedman(block)
    result.friedman_statistic, result.friedman_pvalue = stat, p
    if block.shape[1] < MIN_METHODS or block.shape[0] < MIN_DATASETS:
        result.reason = reason
        return result
    result.posthoc, result.posthoc_test = posthoc_pvalues(block, posthoc)
    result.posthoc = result.posthoc.reindex(index=avg.index, columns=avg.index)
    result.cd = critical_difference(block.shape[1], block.shape[0], alpha)
    return result


def method_scores(summary: pd.DataFrame, metric: str = "test_auc", experiment: str = "known",
                  reduced: dict[str, str] | None = None) -> tuple[pd.DataFrame, str]:
    """Data set × method seed means at Table 3's cells (n = 100 or the largest n, p = 0, one
    epochs setting; the snapshot ablation excluded), and the cell's n as text.

    Data sets that ran fewer epochs than the papers (a CPU run) are left out when at least
    MIN_DATASETS others ran the papers' schedule: short training handicaps the trained methods
    and not the classical ones, so mixing them would bias the ranks. They are recorded in
    `reduced` (data set → epochs) when a dict is passed."""
    rows = table_rows(summary, experiment, [metric])
    rows = rows[~rows["method"].isin(list(L.ABLATION))]
    short = reduced_epochs(rows)
    if short and rows.loc[~rows["dataset"].isin(list(short)), "dataset"].nunique() >= MIN_DATASETS:
        rows = rows[~rows["dataset"].isin(list(short))]
        if reduced is not None:
            reduced.update(short)
    if rows.empty:
        return pd.DataFrame(dtype=float), ""
    wide = rows.pivot_table(index="dataset", columns="method", values="mean", aggfunc="mean")
    wide = wide.reindex(index=sorted(wide.index, key=L.dataset_sort_key),
                        columns=sorted(wide.columns, key=L.method_sort_key))
    wide.index.name, wide.columns.name = "dataset", "method"
    return wide, n_text(rows)


def rank_methods(summary: pd.DataFrame, metric: str = "test_auc", experiment: str = "known", *,
                 alpha: float = 0.05, posthoc: str = "auto") -> Ranking | None:
    """Average ranks, Friedman test, post-hoc p-values and CD of the methods of Table 3 (or
    `experiment`) for `metric`; None when the summary has no such rows."""
    reduced: dict[str, str] = {}
    scores, cell = method_scores(summary, metric, experiment, reduced)
    if scores.empty:
        return None
    result = rank_scores(scores, metric, experiment, alpha=alpha, posthoc=posthoc, cell=cell)
    result.reduced_epochs = reduced
    return result


# --------------------------------------------------------------------------------------------
# outputs


def fmt_pvalue(p: float) -> str:
    """'p = .012', 'p < .001' (the papers' number style)."""
    if p is None or math.isnan(p):
        return "p undefined"
    return "p < .001" if p < 0.001 else f"p = {L.fmt_num(p, 3)}"


def _metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric)


def tests_text(r: Ranking) -> str:
    """One sentence on the Friedman test, the post-hoc test and the CD (plain text)."""
    if not r.testable:
        return f"No Friedman test: {r.reason}."
    fried = (f"Friedman test: chi-square = {r.friedman_statistic:.2f} with {r.n_methods - 1} d.f., "
             f"{fmt_pvalue(r.friedman_pvalue)}" if not math.isnan(r.friedman_statistic)
             else "Friedman test: not defined (every method ties on every data set)")
    level = f"{100 * r.alpha:g}% level"
    return (f"{fried}; post-hoc: {r.posthoc_test} ({level}); "
            f"Nemenyi critical difference CD = {r.cd:.2f}.")


def ranking_frame(r: Ranking) -> pd.DataFrame:
    """The CSV twin: ranked methods (best first), then the dropped ones (average rank empty)."""
    rows = [{"method": m, "label": L.method_name(m), "marker": "" if m in L.PAPER_METHODS else "†",
             "average_rank": float(r.average_rank[m]), "mean_score": float(r.mean_score[m]),
             "n_datasets": r.n_datasets, "dropped": ""} for m in r.average_rank.index]
    rows += [{"method": m, "label": L.method_name(m), "marker": "" if m in L.PAPER_METHODS else "†",
              "average_rank": math.nan, "mean_score": float(r.all_mean_score.get(m, math.nan)),
              "n_datasets": int(r.all_n_datasets.get(m, 0)), "dropped": "missing on " + ", ".join(missing)}
             for m, missing in r.dropped_methods.items()]
    frame = pd.DataFrame(rows, columns=["method", "label", "marker", "average_rank", "mean_score",
                                        "n_datasets", "dropped"])
    return frame.assign(metric=r.metric, experiment=r.experiment, friedman_statistic=r.friedman_statistic,
                        friedman_pvalue=r.friedman_pvalue, posthoc=r.posthoc_test, cd=r.cd, alpha=r.alpha)


def posthoc_frame(r: Ranking) -> pd.DataFrame:
    """Pairwise p-values in long form, each pair once, in average-rank order."""
    cols = ["method_1", "method_2", "average_rank_1", "average_rank_2", "rank_difference", "pvalue",
            "significant", "test", "metric"]
    methods = list(r.posthoc.index)
    rows = [{"method_1": a, "method_2": b, "average_rank_1": r.average_rank[a], "average_rank_2": r.average_rank[b],
             "rank_difference": abs(r.average_rank[a] - r.average_rank[b]), "pvalue": float(r.posthoc.loc[a, b]),
             "significant": bool(r.posthoc.loc[a, b] < r.alpha), "test": r.posthoc_test, "metric": r.metric}
            for i, a in enumerate(methods) for b in methods[i + 1:]]
    return pd.DataFrame(rows, columns=cols)


def ranking_table(r: Ranking, name: str | None = None) -> Table:
    """Method, average rank (best in bold) and mean score, best first; † outside the papers."""
    name = name or f"ranking_{r.metric}"
    best = round(float(r.average_rank.min()), 2)
    body = [[L.latex_method(m), (bold if round(float(rank), 2) == best else str)(f"{rank:.2f}"),
             L.latex_escape(L.fmt_num(float(r.mean_score[m])))] for m, rank in r.average_rank.items()]
    notes = []
    if any(m not in L.PAPER_METHODS for m in [*r.average_rank.index, *r.dropped_methods]):
        notes.append(r"\textsuperscript{\dag}" + L.DAGGER_NOTE + ".")
    if r.dropped_methods:
        notes.append("Not ranked (did not run on every data set): " + "; ".join(
            f"{L.latex_method(m)} (missing on {L.latex_escape(', '.join(map(L.dataset_label, d)))})"
            for m, d in r.dropped_methods.items()) + ".")
    if r.dropped_datasets:
        notes.append("Data sets left out (too few methods ran): "
                     + L.latex_escape(", ".join(map(L.dataset_label, r.dropped_datasets))) + ".")
    if r.reduced_epochs:
        notes.append("Data sets left out (fewer epochs than the papers, which handicaps only the trained "
                     "methods): " + L.latex_escape(", ".join(f"{L.dataset_label(d)} ({e} ep.)"
                                                           for d, e in r.reduced_epochs.items())) + ".")
    title = _metric_title(r.metric)
    cell = f"{r.cell}, " if r.cell else ""
    caption = (f"Average rank of the methods over {r.n_datasets} data sets by {title} (1 = best; "
               f"{r.experiment} anomalies, {cell}p = 0; ranks of the seed means, ties averaged). "
               + tests_text(r))
    latex = LatexTable([["Method", "Avg. rank", f"Mean {title}"]], [Block(body)], "lcc", caption,
                       f"tab:{name}", notes=notes)
    return Table(name, ranking_frame(r), latex)


# --- critical-difference diagram --------------------------------------------------------------


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


def _demsar_figure(r: Ranking, labels: dict[str, str]) -> Figure:
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
            ax.plot([avg[m], avg[m], edge], [0, y, y], **line)
            ax.text(edge + sign * 0.05 * unit, y, text[m], fontsize=FONT_SIZE, va="center",
                    ha="right" if side == "left" else "left")
    for i, members in enumerate(groups):
        y = 0.45 + bar_step * i
        ax.plot([avg[members[0]] - 0.04 * unit, avg[members[-1]] + 0.04 * unit], [y, y], color="black",
                linewidth=3.5, solid_capstyle="round")
    return fig


def _posthocs_figure(sp, r: Ranking, labels: dict[str, str]) -> Figure | None:
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
                                   color_palette=palette(r.average_rank.index),
                                   label_props={"fontsize": FONT_SIZE}, **extra)
    lo, hi = ax.get_xlim()
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


def cd_diagram(r: Ranking, base: str | os.PathLike, style: str = "auto") -> list[Path]:
    """`base.pdf` and `base.png`: scikit-posthocs' diagram (`style` "auto" when it is installed,
    or "posthocs"), else ("demsar") our drawing of Demšar's."""
    if not r.testable:
        raise ValueError(f"no diagram: {r.reason}")
    labels = {m: L.method_label(m) for m in r.average_rank.index}
    sp = _scikit_posthocs() if style in ("auto", "posthocs") else None
    if style == "posthocs" and sp is None:
        raise ImportError("style='posthocs' needs scikit-posthocs")
    fig = _posthocs_figure(sp, r, labels) if sp is not None and hasattr(sp, "critical_difference_diagram") else None
    if fig is None and style == "posthocs":
        raise ImportError("this scikit-posthocs has no usable critical_difference_diagram")
    if fig is None:
        fig = _demsar_figure(r, labels)
    return save_figure(fig, base)


def cd_caption(r: Ranking) -> str:
    return (f"Critical-difference diagram, {METRIC_AXIS.get(r.metric, r.metric)}, {r.experiment} anomalies: "
            f"average rank over {r.n_datasets} data sets (1 = best); methods joined by a bar are not "
            f"significantly different ({r.posthoc_test}, {100 * r.alpha:g}% level). "
            f"CD = {r.cd:.2f} (Nemenyi).")


def write_ranking(r: Ranking, out_dir: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """Write the ranking table (CSV + LaTeX), the post-hoc CSV (under `out_dir/tables`) and the
    diagram (under `out_dir/figures`); returns (table paths, figure paths)."""
    out = Path(out_dir)
    table = ranking_table(r)
    tables = write_table(table, out / "tables")
    post = out / "tables" / f"ranking_{r.metric}_posthoc.csv"
    with atomic_path(post, suffix=".csv") as tmp:
        posthoc_frame(r).to_csv(tmp, index=False)
    tables.append(post)
    figures = cd_diagram(r, out / "figures" / f"cd_{L.safe_stem(r.metric)}")
    return tables, figures


def all_rankings(summary: pd.DataFrame, out_dir: str | os.PathLike, metrics=("test_auc", "test_ap"),
                 experiment: str = "known") -> tuple[list[Path], list[tuple[list[Path], str]], list[Ranking]]:
    """The rankings the summary supports (≥ 2 data sets, ≥ 3 methods after dropping incomplete
    methods; others are skipped): (table paths, [(figure paths, caption)], the rankings)."""
    tables, figures, made = [], [], []
    for metric in metrics:
        r = rank_methods(summary, metric, experiment)
        if r is None or not r.testable:
            continue
        t, f = write_ranking(r, out_dir)
        tables += t
        figures.append((f, cd_caption(r)))
        made.append(r)
    return tables, figures, made


__all__ = ["Ranking", "all_rankings", "average_ranks", "cd_diagram", "cliques", "complete_block",
           "critical_difference", "friedman", "holm", "posthoc_frame", "posthoc_pvalues", "q_alpha",
           "rank_methods", "rank_scores", "ranking_frame", "ranking_table", "wilcoxon_holm", "write_ranking"]
