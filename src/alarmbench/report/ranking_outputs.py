"""The ranking outputs the report stage writes: per metric, the ranking table (CSV + LaTeX) and
its post-hoc CSV under `tables/`, the critical-difference diagram under `figures/`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.cd_diagram import cd_caption, cd_diagram
from alarmbench.report.ranking import Ranking, rank_methods
from alarmbench.report.ranking_table import posthoc_frame, ranking_table
from alarmbench.report.tables import write_table


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


__all__ = ["all_rankings", "write_ranking"]
