"""Our numbers next to the published ones (package data `alarmbench/data/paper/*.csv`).

`within` is the reproduction criterion (docs/protocol.md#paper-comparison): |ours − paper| ≤ max(paper std, 0.03),
applied to AUC and AP (the threshold metrics of A³ Table V, published without a std, get NA unless
listed in `within_metrics`), and only to rows that ran the papers' epochs (`report.trust`; an
ablation mean only when every data set in it did). Rows of a smaller variant of a paper's data set
(the 20 % NSL-KDD training file, the 10k MNIST test images) name the variant in their note. A
projection of `alarmbench plan` (`projection_frame`, `read_projections`) adds its CPU cost to the rows
that need a GPU run and lists the published rows it plans that did not run. Where the authors' own
code ran on the same protocol (`report.peers`), the Markdown and LaTeX outputs add a table of ours
against theirs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.a3_table import PAPER_COLUMNS as A3_PAPER_COLUMNS
from alarmbench.report.a3_table import a3_table
from alarmbench.report.latex import Block, LatexTable
from alarmbench.report.select import (ablation_datasets, epochs_text, one_epochs_setting, prefer_epochs,
                                      table_rows)
from alarmbench.report.tables import ablation_table
from alarmbench.report.trust import NEEDS_GPU, withhold_reduced_epochs

PAPER_FILES = {"table3": "r2ad2_table3_known.csv", "table4": "r2ad2_table4_unknown.csv",
               "table5": "r2ad2_table5_n_targets.csv", "a3_table5": "a3_table5_f1.csv"}
R2AD2_METHODS = {"r2ad2": "R2-AD2", "ae": "AE", "gradcon": "GradCon", "deepsad": "DeepSAD", "devnet": "DevNet",
                 "a3": "A3"}  # R2-AD2's "A3" is A3v2 = our `a3`
A3_METHODS = A3_PAPER_COLUMNS  # column prefixes of a3_table5_f1.csv: only the preprint recipe's A³ (a3_table.py)
TABLE_TITLES = {"table3": "R2-AD2 Table 3 (known)", "table4": "R2-AD2 Table 4 (unknown/transfer)",
                "table5": "R2-AD2 Table 5 (snapshot ablation)", "a3_table5": "A³ Table V (threshold metrics)"}
METRIC_ORDER = ("auc", "ap", "f1", "precision", "recall")
COLUMNS = ["table", "experiment", "dataset", "paper_dataset", "variant", "method", "metric", "n_anomalies",
           "epochs", "ours_mean", "ours_std", "ours_n", "paper_mean", "paper_std", "diff", "within", "note"]


def published(table: str) -> pd.DataFrame:
    """One published table (`table3`, `table4`, `table5`, `a3_table5`) from the package data."""
    ref = resources.files("alarmbench") / "data" / "paper" / PAPER_FILES[table]
    with ref.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"experiment": str})


def _r2ad2_rows(summary: pd.DataFrame, table: str, experiment: str) -> list[dict]:
    pub = published(table).set_index(["dataset", "method"])
    rows = table_rows(summary, experiment, ["test_auc", "test_ap"])
    out = []
    for r in rows[~rows["method"].isin(list(L.ABLATION))].to_dict("records"):
        paper_ds, variant = L.paper_dataset(r["dataset"])
        key = (paper_ds, R2AD2_METHODS.get(r["method"]))
        if key not in pub.index:
            continue
        metric = r["metric"].removeprefix("test_")
        out.append({"table": table, "experiment": experiment, "dataset": r["dataset"], "paper_dataset": paper_ds,
                    "variant": variant, "method": r["method"], "metric": metric, "n_anomalies": r["n_anomalies"],
                    "epochs": r.get("epochs", "paper"), "ours_mean": r["mean"], "ours_std": r["std"], "ours_n": r["count"],
                    "paper_mean": pub.loc[key, f"{metric}_mean"], "paper_std": pub.loc[key, f"{metric}_std"]})
    return out


def _ablation_epochs(summary: pd.DataFrame) -> str:
    """The epochs of the runs the ablation mean is over ("paper", or e.g. "1" when no data set ran
    the papers' schedule): the data sets `ablation_table` takes (`one_epochs_setting` keeps one)."""
    rows = table_rows(summary, "known", ["test_auc", "test_ap"], methods=[*L.ABLATION, "r2ad2"])
    rows, _ = one_epochs_setting(rows[rows["dataset"].isin(list(ablation_datasets(summary)))])
    return epochs_text(rows, by=("experiment",)).get("known", "paper")


def _ablation_rows(summary: pd.DataFrame) -> list[dict]:
    table = ablation_table(summary)
    if table is None:
        return []
    pub = published("table5").set_index("n_autoencoders")
    n_ds = int(table.frame["n_datasets"].iloc[0])
    # a mean over data sets is judged only when all of them ran the papers' epochs
    epochs = _ablation_epochs(summary) if "epochs" in summary else "paper"
    out = []
    for r in table.frame.itertuples():
        if r.snapshots not in pub.index:
            continue
        for metric in ("auc", "ap"):
            if f"test_{metric}" in table.frame:
                out.append({"table": "table5", "experiment": "known", "dataset": "mean", "paper_dataset": "mean",
                            "variant": False, "method": f"r2ad2-{r.snapshots}", "metric": metric,
                            "epochs": epochs, "ours_mean": getattr(r, f"test_{metric}"), "ours_n": n_ds,
                            "paper_mean": pub.loc[r.snapshots, f"{metric}_mean"], "paper_std": math.nan,
                            "note": f"mean over {n_ds} data sets (paper: 10)"})
    return out


def _a3_rows(summary: pd.DataFrame) -> list[dict]:
    table = a3_table(summary)
    if table is None:
        return []
    pub = published("a3_table5").set_index("experiment")
    out = []
    for rec in table.frame.to_dict("records"):
        if rec["paper_experiment"] not in pub.index:
            continue
        paper = pub.loc[rec["paper_experiment"]]
        paper_ds, variant = L.paper_dataset(rec["dataset"], "a3")
        if paper_ds is None:  # not the A³ paper's data (e.g. digits): nothing to compare with
            continue
        for method, prefix in A3_METHODS.items():
            for metric in ("f1", "precision", "recall"):
                mean = rec.get(f"{method}_test_{metric}_mean", math.nan)
                ref = paper[f"{prefix}_{metric}"]
                if math.isnan(mean) or pd.isna(ref):
                    continue
                out.append({"table": "a3_table5", "experiment": rec["experiment"], "dataset": rec["dataset"],
                            "paper_dataset": paper_ds, "variant": variant or paper_ds != paper["data"],
                            "method": method, "metric": metric, "n_anomalies": rec["n_anomalies"],
                            "epochs": rec.get(f"{method}_epochs", "paper"), "ours_mean": mean,
                            "ours_std": rec.get(f"{method}_test_{metric}_std"), "paper_mean": ref,
                            "paper_std": math.nan})
    return out


def compare(summary: pd.DataFrame, tol: float = 0.03, within_metrics=("auc", "ap"),
            projections: Mapping[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """For every (table, data set, method) we ran that the papers report: ours vs published,
    `diff` = ours − paper, `within` = |diff| ≤ max(paper std, tol) (NA outside `within_metrics`).

    `projections` ((data set, method) → projected CPU seconds of one cell at the papers' epochs,
    `read_projections`): rows that need a GPU run say what a CPU would take, and the published
    Table 3/4 rows of a data set that ran without that method are listed as not run."""
    projections = dict(projections or {})
    rows = (_r2ad2_rows(summary, "table3", "known") + _r2ad2_rows(summary, "table4", "transfer")
            + _ablation_rows(summary) + _a3_rows(summary))
    rows += _planned_rows(rows, summary, projections)
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df
    df["diff"] = df["ours_mean"] - df["paper_mean"]
    bound = df["paper_std"].fillna(0.0).clip(lower=tol)
    within = df["diff"].abs() <= bound + 1e-9  # published values have 2 decimals: no float-noise misses
    df["within"] = within.astype("boolean").where(df["metric"].isin(list(within_metrics)), pd.NA)
    # rows built from derived tables (A³ Table V) may carry no epochs: take the data set's
    ep = epochs_text(prefer_epochs(summary), by=("dataset", "experiment"))
    df["epochs"] = df["epochs"].astype(object)  # all-NaN (float) when every row is a derived one
    missing = df["epochs"].isna()
    df.loc[missing, "epochs"] = [ep.get((d, e), "paper") for d, e in zip(df.loc[missing, "dataset"],
                                                                        df.loc[missing, "experiment"])]
    df["epochs"] = df["epochs"].astype(str)
    default_note = [_default_note(d, v, e) for d, v, e in zip(df["dataset"], df["variant"], df["epochs"])]
    df["note"] = df["note"].astype(object).where(df["note"].notna(), pd.Series(default_note, index=df.index))
    df = df.astype({"n_anomalies": "Int64", "ours_n": "Int64", "variant": bool})
    df = withhold_reduced_epochs(df)  # rows not run at the papers' epochs: "needs a GPU run" (report.trust)
    df["note"] = [_cost_note(n, e, projections.get((d, m)))
                  for n, e, d, m in zip(df["note"], df["epochs"], df["dataset"], df["method"])]
    key = [(list(PAPER_FILES).index(t), e, L.dataset_sort_key(d), L.method_sort_key(m), METRIC_ORDER.index(x))
           for t, e, d, m, x in zip(df["table"], df["experiment"], df["dataset"], df["method"], df["metric"])]
    return df.iloc[sorted(range(len(df)), key=key.__getitem__)].reset_index(drop=True)


NOT_RUN = "not run"


def _planned_rows(rows: list[dict], summary: pd.DataFrame, projections: Mapping) -> list[dict]:
    """Published Table 3/4 rows of a data set that ran the table's experiment without the method,
    where the projection plans that (data set, method): shown as not run, with their cost."""
    have = {(r["table"], r["dataset"], r["method"]) for r in rows}
    ran = set(zip(summary["dataset"], summary["experiment"])) if len(summary) else set()
    out = []
    for table, experiment in (("table3", "known"), ("table4", "transfer")):
        pub = published(table)
        for dataset, method in sorted(projections):
            paper_ds, variant = L.paper_dataset(dataset)
            label = R2AD2_METHODS.get(method)
            if (dataset, experiment) not in ran or (table, dataset, method) in have or label is None:
                continue
            for p in pub[(pub["dataset"] == paper_ds) & (pub["method"] == label)].to_dict("records"):
                for metric in ("auc", "ap"):
                    out.append({"table": table, "experiment": experiment, "dataset": dataset,
                                "paper_dataset": paper_ds, "variant": variant, "method": method, "metric": metric,
                                "n_anomalies": 100, "epochs": NOT_RUN,
                                "paper_mean": p[f"{metric}_mean"], "paper_std": p[f"{metric}_std"]})
    return out


GPU_ROW_SECONDS = 3600.0  # a cell projected above an hour of one CPU core is left to a GPU run


def _cost_note(note: str, epochs: str, seconds: float | None) -> str:
    """The note of a row that did not run, or not at the papers' epochs, with the projected CPU cost
    of one of its cells (`alarmbench plan`): "needs a GPU run" / "a GPU row" only where that cost
    exceeds GPU_ROW_SECONDS (a 12 s cell that ran 1 epoch needs a rerun, not a GPU)."""
    if seconds is None or not (epochs == NOT_RUN or str(note).startswith(NEEDS_GPU)):
        return note
    from alarmbench.plan import duration

    reasons = str(note).split("; ")
    gpu = seconds > GPU_ROW_SECONDS
    cost = f"`alarmbench plan` projects {duration(seconds)} per cell on one CPU core at the papers' epochs"
    if epochs == NOT_RUN:  # withhold_reduced_epochs called it "ran not run epoch(s)"
        return "; ".join([f"{NOT_RUN} here{', a GPU row' if gpu else ''}: {cost}", *reasons[1:]])
    first = reasons[0] if gpu else reasons[0].removeprefix(f"{NEEDS_GPU}: ")
    return "; ".join([first, cost, *reasons[1:]])


def _default_note(dataset: str, variant: bool, epochs: str) -> str:
    """Why a row may differ from the paper: a smaller variant of its data set, fewer epochs."""
    parts = ([_variant_note(dataset)] if variant else []) + ([f"{epochs} epoch(s), not the papers'"]
                                                              if epochs != "paper" else [])
    return "; ".join(parts)


def _variant_note(dataset: str) -> str:
    """'variant of the paper's KDD: NSL-KDD (20 % training file)' (the registry's title)."""
    from alarmbench.data import registry

    paper_ds = L.paper_dataset(dataset)[0] or L.paper_dataset(dataset, "a3")[0]
    try:
        title = registry.get(dataset).title
    except KeyError:
        return "variant data set"
    return f"variant of the paper's {paper_ds}: {title}"


PROJECTION_COLUMNS = ["dataset", "method", "epochs", "cells", "cpu_seconds_per_cell"]


def projection_frame(rows: Sequence, run: Mapping, calib=None) -> pd.DataFrame:
    """`alarmbench plan`'s rows (`plan.plan_run`) of a config with run settings `run` as a table: the
    projected CPU seconds of one cell on one core per (data set, method) and the epochs they assume
    ("paper" or a count), for `read_projections`. Unmodelled or unknown-shape rows are left out."""
    from alarmbench import grid
    from alarmbench.plan import DEFAULT_CALIBRATION

    out = []
    for r in rows:
        if r.estimate is None or not r.estimate.modelled:
            continue
        epochs = grid.epochs_for(run, r.dataset, r.method)
        seconds = r.estimate.seconds(calib or DEFAULT_CALIBRATION)
        out.append({"dataset": r.dataset, "method": r.method, "epochs": "paper" if epochs is None else str(epochs),
                    "cells": r.cells, "cpu_seconds_per_cell": round(seconds, 1)})
    return pd.DataFrame(out, columns=PROJECTION_COLUMNS)


def read_projections(path: str | os.PathLike) -> dict[tuple[str, str], float]:
    """(data set, method) → projected CPU seconds of one cell, from a `projection_frame` CSV; only the
    rows projected at the papers' epochs (`epochs` "paper"): the cost of the row the papers report."""
    from alarmbench.errors import InputError

    if not Path(path).is_file():
        raise InputError(f"projection: {path} is not a file (expected `alarmbench plan --csv` output)")
    df = pd.read_csv(path, dtype={"epochs": str})
    missing = sorted(set(PROJECTION_COLUMNS) - set(df.columns))
    if missing:
        raise InputError(f"{path}: projection CSV lacks columns {missing} (expected {PROJECTION_COLUMNS})")
    df = df[df["epochs"] == "paper"]
    return {(d, m): float(s) for d, m, s in zip(df["dataset"], df["method"], df["cpu_seconds_per_cell"])}


WITHIN_RULE = "|Δ| ≤ max(published std, 0.03)"
PEER_NOTE = ("Authors' code: their own code run on this machine on the same protocol (the config's peers key), mean ± "
             "sample std over n seeds; Δ = ours − theirs. Welch's t-test and the Mann–Whitney U test, two-sided, "
             "over the seeds as independent samples; Hedges' g: bias-corrected standardised difference; CL: "
             "P(ours > theirs) over all pairs of seeds, ties half.")


def judged(df: pd.DataFrame) -> list[str]:
    """The metrics that carry a `within` verdict, in METRIC_ORDER ("auc", "ap" by default)."""
    return [m for m in METRIC_ORDER if m in set(df.loc[df["within"].notna(), "metric"])]


def within_text(df: pd.DataFrame) -> str:
    """'Within: |Δ| ≤ …, for AUC and AP.'"""
    names = [m.upper() for m in judged(df)]
    return f"Within: {WITHIN_RULE}, for {' and '.join(names) if names else 'no metric'}."


def within_tally(df: pd.DataFrame) -> str:
    """'AUC 14 of 34, AP 11 of 34': rows within among the rows with a verdict, per judged metric."""
    parts = []
    for m in judged(df):
        w = df.loc[(df["metric"] == m) & df["within"].notna(), "within"].astype(bool)
        parts.append(f"{m.upper()} {int(w.sum())} of {len(w)}")
    return ", ".join(parts)


def peer_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows with an authors'-code reference (none when the comparison has no peer columns)."""
    return df[df["peer_mean"].notna()] if "peer_mean" in df else df.iloc[:0]


def _peer_latex(df: pd.DataFrame) -> str:
    rows = peer_rows(df)
    body = [[L.latex_escape(r.paper_dataset), L.latex_method(r.method), r.metric.upper(),
             L.latex_escape(L.fmt_pm(r.ours_mean, r.ours_std, 3)) + f" ({r.ours_n})",
             L.latex_escape(L.fmt_pm(r.peer_mean, r.peer_std, 3)) + f" ({r.peer_n})", L.fmt_num(r.peer_diff, 3),
             L.fmt_num(r.welch_p, 3), L.fmt_num(r.mannwhitney_p, 3), L.fmt_num(r.hedges_g), L.fmt_num(r.cles)]
            for r in rows.itertuples()]
    latex = LatexTable([["Data", "Method", "Metric", "Ours (n)", "Authors' code (n)", r"$\Delta$", r"$p$ Welch",
                         r"$p$ MWU", "$g$", "CL"]], [Block(body)], "lllccccccc",
                       "Ours vs the authors' code run on this machine (same protocol and seeds).",
                       "tab:authors_code_comparison", notes=[L.latex_escape(PEER_NOTE)], resize=True)
    return latex.render()


def comparison_latex(df: pd.DataFrame) -> str:
    """A booktabs longtable, one block per published table; then the authors'-code table where
    the comparison has peer rows."""
    def data_cell(r) -> str:
        name = L.latex_escape(r.paper_dataset)
        cell = rf"{name} (\texttt{{{L.latex_escape(r.dataset)}}})" if r.variant else name
        if r.epochs == "paper":
            return cell
        return f"{cell} ({NOT_RUN})" if r.epochs == NOT_RUN else f"{cell} ({r.epochs} ep.)"

    def within_cell(w) -> str:
        return "" if pd.isna(w) else (r"$\checkmark$" if w else r"$\times$")

    blocks = []
    for table, part in df.groupby("table", sort=False):
        body = [[data_cell(r), L.latex_method(r.method), r.metric.upper() if len(r.metric) <= 3 else r.metric,
                 L.latex_escape(L.fmt_pm(r.ours_mean, r.ours_std)), L.latex_escape(L.fmt_pm(r.paper_mean, r.paper_std)),
                 L.fmt_num(r.diff), within_cell(r.within)]
                for r in part.itertuples()]
        blocks.append(Block(body, TABLE_TITLES.get(table, table)))
    tally = within_tally(df)
    latex = LatexTable([["Data", "Method", "Metric", "Ours", "Paper", r"$\Delta$", "Within"]], blocks, "lllcccc",
                       f"Reproduced vs published numbers. {within_text(df)}" + (f" Rows within: {tally}." if tally else ""),
                       "tab:paper_comparison", long=True,
                       notes=[r"Data set (\texttt{name}): our smaller variant of the paper's data set.",
                              L.EPOCHS_NOTE])
    return latex.render() + (_peer_latex(df) if len(peer_rows(df)) else "")


def _peer_markdown(df: pd.DataFrame) -> list[str]:
    lines = ["", "## Ours vs the authors' code on this machine", "",
             "| data | method | metric | ours | authors' code | Δ | Welch p | Mann–Whitney p | Hedges' g | CL |",
             "|---" * 10 + "|"]
    for r in peer_rows(df).itertuples():
        lines.append(f"| {r.paper_dataset} | {L.method_name(r.method)} | {r.metric.upper()} "
                     f"| {L.fmt_pm(r.ours_mean, r.ours_std, 3)} (n={r.ours_n}) "
                     f"| {L.fmt_pm(r.peer_mean, r.peer_std, 3)} (n={r.peer_n}) | {L.fmt_num(r.peer_diff, 3)} "
                     f"| {L.fmt_num(r.welch_p, 3)} | {L.fmt_num(r.mannwhitney_p, 3)} | {L.fmt_num(r.hedges_g)} "
                     f"| {L.fmt_num(r.cles)} |")
    return lines + ["", PEER_NOTE]


def comparison_markdown(df: pd.DataFrame) -> str:
    """The same rows as a Markdown table (readable where the reports are browsed, e.g. on a forge),
    then the authors'-code table where the comparison has peer rows."""
    lines = ["| table | data | method | metric | ours | paper | Δ | within | note |", "|---" * 9 + "|"]
    for r in df.itertuples():
        within = "" if pd.isna(r.within) else ("yes" if r.within else "**no**")
        data = f"{r.paper_dataset} (`{r.dataset}`)" if r.variant else r.paper_dataset
        data += f", {r.experiment}" if r.table == "a3_table5" else ""
        lines.append(f"| {TABLE_TITLES.get(r.table, r.table)} | {data} | {L.method_name(r.method)} | {r.metric.upper()} "
                     f"| {L.fmt_pm(r.ours_mean, r.ours_std, 3)}{'' if pd.isna(r.ours_n) else f' (n={r.ours_n})'} "
                     f"| {L.fmt_pm(r.paper_mean, r.paper_std)} "
                     f"| {L.fmt_num(r.diff, 3)} | {within} | {r.note} |")
    tally = within_tally(df)
    lines += ["", f"{within_text(df)}" + (f" Rows within: {tally}." if tally else "")
              + " n = seeds (data sets for the ablation means)."]
    if len(peer_rows(df)):
        lines += _peer_markdown(df)
    return "\n".join(lines) + "\n"


def write_comparison(df: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """`paper_comparison.csv`, `.tex` and `.md` in `out_dir`. With nothing to compare (no data set
    of the papers ran) the CSV is still written, with its header only, so the workflow output exists."""
    paths = [Path(out_dir) / f"paper_comparison.{ext}" for ext in ("csv", "tex", "md")]
    with atomic_path(paths[0]) as tmp:
        (df if len(df.columns) else pd.DataFrame(columns=COLUMNS)).to_csv(tmp, index=False)
    if df.empty:
        return []
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(comparison_latex(df))
    with atomic_path(paths[2]) as tmp:
        tmp.write_text(comparison_markdown(df))
    return paths
