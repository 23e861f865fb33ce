"""The ranking table of a `Ranking`: methods best first with their average rank and mean score,
the tests in the caption (LaTeX), its CSV twin and the post-hoc p-values in long form.

Outputs (see `ranking_outputs.write_ranking`): `tables/ranking_<metric>.csv|.tex`,
`tables/ranking_<metric>_posthoc.csv`.
"""

from __future__ import annotations

import math

import pandas as pd

from alarmbench.report import labels as L
from alarmbench.report.latex import Block, LatexTable, bold
from alarmbench.report.ranking import Ranking
from alarmbench.report.tables import METRIC_TITLES, Table


def _metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric)


def tests_text(r: Ranking) -> str:
    """One sentence on the Friedman test, the post-hoc test and the CD (plain text)."""
    if not r.testable:
        return f"No Friedman test: {r.reason}."
    fried = (f"Friedman test: chi-square = {r.friedman_statistic:.2f} with {r.n_methods - 1} d.f., "
             f"{L.fmt_pvalue(r.friedman_pvalue)}" if not math.isnan(r.friedman_statistic)
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


__all__ = ["posthoc_frame", "ranking_frame", "ranking_table", "tests_text"]
