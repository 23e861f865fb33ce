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


def one_epochs_setting(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows of the data sets that share one epochs setting — the papers' schedule where any
    data set ran it, else the most common setting — and the others as {data set: epochs}: an
    aggregate over data sets (a "mean" row, a rank, a mean curve) never mixes a 1-epoch CPU run
    with the papers' schedule."""
    if rows.empty or "epochs" not in rows:
        return rows, {}
    per_ds = epochs_text(rows)
    settings = pd.Series(per_ds)
    keep = "paper" if (settings == "paper").any() else settings.value_counts().sort_index().idxmax()
    dropped = {d: e for d, e in per_ds.items() if e != keep}
    return rows[~rows["dataset"].isin(list(dropped))], dropped


def ablation_datasets(df: pd.DataFrame) -> set[str]:
    """Data sets of the known-anomaly experiment where at least two snapshot counts of R2-AD2 ran
    (`r2ad2` counts as 3): those the snapshot ablation shows. A variant that ran elsewhere (e.g. a
    user's grid with `r2ad2-1` alone) is an ordinary method of the main tables and figures."""
    from alarmbench.report.labels import ABLATION

    rows = df[(df["experiment"] == "known") & df["method"].isin([*ABLATION, "r2ad2"])]
    k = rows["method"].map(lambda m: ABLATION.get(m, 3))
    return {d for d, n in k.groupby(rows["dataset"]).nunique().items() if n >= 2}


def without_shown_ablation(df: pd.DataFrame) -> pd.DataFrame:
    """`df` without the ablation variants' rows on the data sets whose ablation is shown on its own."""
    from alarmbench.report.labels import ABLATION

    shown = ablation_datasets(df)
    return df[~(df["method"].isin(list(ABLATION)) & df["dataset"].isin(list(shown)))]
