"""Pick the summary rows a table or figure shows: one epochs setting and one base cell per data set."""

from __future__ import annotations

import math

import pandas as pd

CELL = ["dataset", "experiment", "n_anomalies", "pollution", "method"]


def _epochs_rank(e: str) -> float:
    # "paper" (the published schedule) wins; otherwise the longest run.
    if e == "paper":
        return math.inf
    try:
        return float(e)
    except (TypeError, ValueError):
        return -math.inf


def prefer_epochs(df: pd.DataFrame) -> pd.DataFrame:
    """Keep one epochs setting per (cell, method): "paper" if it ran, else the largest count."""
    if df.empty or "epochs" not in df:
        return df
    rank = df["epochs"].map(_epochs_rank)
    best = rank.groupby([df[c] for c in CELL], dropna=False).transform("max")
    return df[rank == best]


def epochs_text(df: pd.DataFrame, by=("dataset",)) -> dict:
    """Key (a value of `by`, or a tuple of them) → its epochs settings as text ("paper", "1",
    "1/paper" when they differ between methods)."""
    by = list(by)
    return {k[0] if len(by) == 1 else k: "/".join(sorted(set(map(str, e))))
            for k, e in df.groupby(by)["epochs"]}


def reduced_epochs(rows: pd.DataFrame) -> dict[str, str]:
    """Data set → its epochs setting where it is not (only) the papers' schedule (e.g. "1" on a CPU run)."""
    if "epochs" not in rows:
        return {}
    return {d: e for d, e in epochs_text(rows).items() if e != "paper"}


def base_cells(df: pd.DataFrame, n_prefer: int = 100) -> pd.DataFrame:
    """Per (dataset, experiment): no pollution (else the least), and `n_prefer` known anomalies
    (else the largest n that ran) — the setting of the papers' main tables."""
    if df.empty:
        return df
    keep = []
    for _, part in df.groupby(["dataset", "experiment"], sort=False):
        part = part[part["pollution"] == part["pollution"].min()]
        ns = set(part["n_anomalies"])
        keep.append(part[part["n_anomalies"] == (n_prefer if n_prefer in ns else max(ns))])
    return pd.concat(keep, ignore_index=True)


def table_rows(summary: pd.DataFrame, experiments, metrics, methods=None, n_prefer: int = 100) -> pd.DataFrame:
    """Summary rows of `experiments` × `metrics` (× `methods`) at the base cell, one epochs setting."""
    experiments = [experiments] if isinstance(experiments, str) else list(experiments)
    rows = summary[summary["experiment"].isin(experiments) & summary["metric"].isin(list(metrics))]
    if methods is not None:
        rows = rows[rows["method"].isin(list(methods))]
    return base_cells(prefer_epochs(rows), n_prefer)
