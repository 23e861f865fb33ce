"""Average ranks of the methods over data sets with the Friedman test, a post-hoc test and
Nemenyi's critical difference (Demšar, JMLR 7, 2006) — for the cells of R2-AD2 Table 3.

Per data set the seed means of the methods are ranked (1 = best, ties get the average rank); the
average rank per method summarises a table at a glance. The Friedman test asks whether the methods
differ at all; the post-hoc test (Nemenyi via scikit-posthocs when installed, else pairwise
Wilcoxon signed-rank tests with Holm's correction) says which pairs do. The tests live in
`report.stats`, the table in `report.ranking_table`, the diagram in `report.cd_diagram`, the files
in `report.ranking_outputs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from alarmbench.report import labels as L
from alarmbench.report.select import one_epochs_setting, table_rows, without_shown_ablation
from alarmbench.report.stats import (MIN_DATASETS, MIN_METHODS, average_ranks, critical_difference, friedman,
                                     posthoc_pvalues)
from alarmbench.report.tables import n_text


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

    Only data sets of one epochs setting are ranked (the papers' where any ran it;
    `select.one_epochs_setting`): short training handicaps the trained methods and not the
    classical ones, so mixing them would bias the ranks. The others are recorded in `reduced`
    (data set → epochs) when a dict is passed. Ablation variants are left out on the data sets
    whose ablation is shown on its own."""
    rows = without_shown_ablation(table_rows(summary, experiment, [metric]))
    rows, short = one_epochs_setting(rows)
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


__all__ = ["Ranking", "complete_block", "method_scores", "rank_methods", "rank_scores"]
