"""The ranking outputs the report stage writes: per metric, the ranking table (CSV + LaTeX) and
its post-hoc CSV under `tables/`, the critical-difference diagram under `figures/`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.cd_diagram import cd_diagram, cd_record
from alarmbench.report.plotted import Plotted
from alarmbench.report.ranking import Ranking, rank_methods
from alarmbench.report.ranking_table import posthoc_frame, ranking_table
from alarmbench.report.tables import write_table


def write_ranking(r: Ranking, out_dir: str | os.PathLike, styles: dict | None = None) -> tuple[list[Path], list[Path]]:
    """Write the ranking table (CSV + LaTeX), the post-hoc CSV (under `out_dir/tables`) and, when
    the tests ran, the diagram (under `out_dir/figures`); returns (table paths, figure paths)."""
    out = Path(out_dir)
    table = ranking_table(r)
    tables = write_table(table, out / "tables")
    post = out / "tables" / f"ranking_{r.metric}_posthoc.csv"
    with atomic_path(post, suffix=".csv") as tmp:
        posthoc_frame(r).to_csv(tmp, index=False)
    tables.append(post)
    figures = cd_diagram(r, out / "figures" / f"cd_{L.safe_stem(r.metric)}", styles=styles) if r.testable else []
    return tables, figures


def all_rankings(summary: pd.DataFrame, out_dir: str | os.PathLike, metrics=("test_auc", "test_ap"),
                 experiment: str = "known", styles: dict | None = None
                 ) -> tuple[list[Path], list[Plotted], list[Ranking]]:
    """The rankings the summary supports: average ranks from 2 data sets and 2 methods on (after
    dropping incomplete methods); the Friedman/post-hoc tests and the CD diagram only from
    `stats.MIN_DATASETS` data sets and `stats.MIN_METHODS` methods (the table says why otherwise).
    Returns (table paths, the diagrams as drawn records, the rankings)."""
    tables, figures, made = [], [], []
    for metric in metrics:
        r = rank_methods(summary, metric, experiment)
        if r is None or r.n_datasets < 2 or r.n_methods < 2:
            continue
        t, f = write_ranking(r, out_dir, styles)
        tables += t
        if f:
            figures.append(cd_record(r, f, styles))
        made.append(r)
    return tables, figures, made


__all__ = ["all_rankings", "write_ranking"]
