"""The papers' result tables from a seed summary: R2-AD2 Tables 3–5 here, A³ Table V in `a3_table.py`;
each as a CSV twin (numbers) and a booktabs LaTeX table ("mean ± std", best per row in bold)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from alarmbench.fileio import atomic_path
from alarmbench.report import labels as L
from alarmbench.report.latex import Block, LatexTable, bold
from alarmbench.report.select import (ablation_datasets, one_epochs_setting, reduced_epochs, table_rows,
                                     without_shown_ablation)
from alarmbench.report.stats import MIN_DATASETS, few_datasets, wilcoxon_vs

METRIC_TITLES = {"test_auc": "AUC-ROC", "test_ap": "Average precision", "test_f1": "F1",
                 "test_precision": "Prec.", "test_recall": "Rec."}
ABLATION = L.ABLATION


@dataclass
class Table:
    name: str
    frame: pd.DataFrame  # the CSV twin
    latex: LatexTable
    methods: frozenset = frozenset()  # the method ids it shows


def write_table(table: Table, out_dir: str | os.PathLike) -> list[Path]:
    """`<out_dir>/<name>.csv` and `.tex`, each written atomically."""
    paths = [Path(out_dir) / f"{table.name}.csv", Path(out_dir) / f"{table.name}.tex"]
    with atomic_path(paths[0]) as tmp:
        table.frame.to_csv(tmp, index=False)
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(table.latex.render())
    return paths


def best_cells(means: list[float], stds: list[float]) -> list[str]:
    """'mean ± std' cells; the best mean (at the printed precision, ties included) in bold."""
    shown = [round(m, 2) for m in means if not math.isnan(m)]
    best = max(shown) if len(shown) > 1 else None
    return [r"--" if math.isnan(m) else
            (bold if best is not None and round(m, 2) == best else str)(L.latex_escape(L.fmt_pm(m, s)))
            for m, s in zip(means, stds)]


def _dataset_cell(dataset: str) -> str:
    name, variant = L.paper_dataset(dataset)
    return L.latex_escape(name) if name and not variant else rf"\texttt{{{L.latex_escape(dataset)}}}"


def epochs_cell(dataset: str, reduced: dict[str, str]) -> str:
    cell = _dataset_cell(dataset)
    return f"{cell} ({reduced[dataset]} ep.)" if dataset in reduced else cell


def notes_for(methods, datasets, reduced: dict[str, str] | None = None) -> list[str]:
    notes = []
    if any(m not in L.PAPER_METHODS for m in methods):
        notes.append(r"\textsuperscript{\dag}" + L.DAGGER_NOTE + ".")
    paper = L.papers_data(datasets) or not datasets
    if paper and any(_dataset_cell(d).startswith(r"\texttt") for d in datasets):
        notes.append(r"\texttt{typewriter}: data set not in the papers, or a smaller variant.")
    if reduced:
        notes.append(L.EPOCHS_NOTE if paper else "(k ep.): every training loop of that data set ran k epochs.")
    return notes


def n_text(rows: pd.DataFrame) -> str:
    ns = sorted(set(rows["n_anomalies"]))
    return f"n = {ns[0]}" if len(ns) == 1 else "n = " + "/".join(map(str, ns))


def method_table(summary: pd.DataFrame, experiment: str, name: str, caption: str,
                 metrics=("test_auc", "test_ap"), reference: str = "r2ad2") -> Table | None:
    """R2-AD2 Tables 3/4: data sets × methods, a block per metric, mean and Wilcoxon rows.

    The mean row and the Wilcoxon test use the data sets of one epochs setting (the papers' where
    any ran it; `select.one_epochs_setting`); the test only from `stats.MIN_DATASETS` data sets on,
    else a note says why it is absent. Ablation variants are left to the ablation table only on
    the data sets it shows (a grid that ran `r2ad2-1` alone shows it here)."""
    rows = without_shown_ablation(table_rows(summary, experiment, metrics))
    if rows.empty:
        return None
    datasets = sorted(rows["dataset"].unique(), key=L.dataset_sort_key)
    methods = sorted(rows["method"].unique(), key=L.method_sort_key)
    reduced = reduced_epochs(rows)
    same, left_out = one_epochs_setting(rows)
    averaged = [d for d in datasets if d not in left_out]
    mean_label = "mean" if not left_out else f"mean ({len(averaged)} data sets)"
    blocks, frames, notes = [], [], []
    if left_out:
        kept = reduced.get(averaged[0], "paper")
        notes.append("Mean" + (" and $p$" if reference in methods else "") + " over the data sets run with "
                     + ("the papers' epochs" if kept == "paper" else f"{kept} epochs") + "; left out: "
                     + L.latex_escape(", ".join(f"{L.dataset_label(d)} ({e} ep.)" for d, e in left_out.items())) + ".")
    for metric in (m for m in metrics if m in set(rows["metric"])):
        part = rows[rows["metric"] == metric]
        mean = part.pivot_table(index="dataset", columns="method", values="mean").reindex(datasets, columns=methods)
        std = part.pivot_table(index="dataset", columns="method", values="std", dropna=False).reindex(
            datasets, columns=methods)
        body = [[epochs_cell(d, reduced), *best_cells(list(mean.loc[d]), list(std.loc[d]))] for d in datasets]
        overall = mean.loc[averaged].mean(axis=0)  # mean over data sets of the per-data-set seed means
        body.append([mean_label, *best_cells(list(overall), [math.nan] * len(methods))])
        frame = pd.concat({"mean": mean, "std": std}, axis=1).swaplevel(axis=1)
        frame.columns = [f"{m}_{s}" for m, s in frame.columns]
        frame = frame[[f"{m}_{s}" for m in methods for s in ("mean", "std")]].reset_index()
        frame.insert(1, "epochs", frame["dataset"].map(lambda d: reduced.get(d, "paper")))
        extra = [{"dataset": "mean", "epochs": "/".join(sorted({reduced.get(d, "paper") for d in averaged})),
                  **{f"{m}_mean": overall[m] for m in methods}}]
        if reference in methods and len(methods) > 1:
            tested = part[part["dataset"].isin(averaged)][["dataset", "method", "mean"]]
            test = wilcoxon_vs(tested, reference=reference).set_index("method")
            p = test["pvalue"]
            if test["n_datasets"].lt(MIN_DATASETS).all():
                # no pair at all (the reference ran only on left-out data sets): 0 data sets, not NaN
                reason = f"No Wilcoxon test: {few_datasets(int(test['n_datasets'].max()) if len(test) else 0)}."
                if reason not in notes:
                    notes.append(L.latex_escape(reason))
            else:
                body.append([r"$p$ (Wilcoxon)", *["--" if m == reference or math.isnan(p.get(m, math.nan))
                                                  else L.fmt_num(p[m]) for m in methods]])
            extra.append({"dataset": "wilcoxon_p", **{f"{m}_mean": p.get(m, math.nan) for m in methods}})
        frames.append(pd.concat([frame, pd.DataFrame(extra)], ignore_index=True).assign(metric=metric))
        blocks.append(Block(body, METRIC_TITLES.get(metric, metric)))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["metric", *[c for c in frame.columns if c != "metric"]]]
    latex = LatexTable([["Data", *[L.latex_method(m) for m in methods]]], blocks, "l" + "c" * len(methods),
                       f"{caption} ({n_text(rows)}, p = 0; mean ± std over seeds).", f"tab:{name}",
                       notes=notes_for(methods, datasets, reduced) + notes, resize=len(methods) > 6)
    return Table(name, frame, latex, frozenset(methods))


def ablation_table(summary: pd.DataFrame, name: str = "r2ad2_table5_ablation",
                   metrics=("test_auc", "test_ap")) -> Table | None:
    """R2-AD2 Table 5: mean over data sets of AUC/AP vs the number of AE snapshots (1–4).

    `r2ad2` (3 snapshots) stands in for a missing `r2ad2-3`; the mean is over data sets where
    every snapshot count ran, so the rows stay comparable.
    """
    rows = table_rows(summary, "known", metrics, methods=[*ABLATION, "r2ad2"])
    rows = rows[rows["dataset"].isin(list(ablation_datasets(summary)))]
    if rows.empty:
        return None
    rows, _ = one_epochs_setting(rows)
    have3 = set(rows.loc[rows["method"] == "r2ad2-3", "dataset"])
    rows = rows[(rows["method"] != "r2ad2") | ~rows["dataset"].isin(have3)]
    rows = rows.assign(k=rows["method"].map(lambda m: ABLATION.get(m, 3)))
    if rows["k"].nunique() < 2:
        return None
    per_ds = rows.pivot_table(index=["metric", "dataset"], columns="k", values="mean").dropna()
    if per_ds.empty:
        return None
    means = per_ds.groupby(level="metric").mean().T  # k × metric
    n_ds = per_ds.groupby(level="metric").size()
    metrics = [m for m in metrics if m in means]
    frame = means[metrics].rename_axis("snapshots").reset_index()
    frame["n_datasets"] = int(n_ds.min())
    cols = {m: best_cells(list(means[m]), [math.nan] * len(means)) for m in metrics}
    body = [[str(k), *[cols[m][i] for m in metrics]] for i, k in enumerate(means.index)]
    latex = LatexTable([["Snapshots", *[METRIC_TITLES.get(m, m) for m in metrics]]], [Block(body)],
                       "c" + "c" * len(metrics),
                       f"R2-AD2 snapshot ablation: mean over {int(n_ds.min())} data set(s) of the seed means ("
                       + L.latex_escape(", ".join(map(L.dataset_label, sorted(per_ds.index.get_level_values(
                           "dataset").unique(), key=L.dataset_sort_key)))) + "; "
                       f"known anomalies, {n_text(rows)}, p = 0).", f"tab:{name}")
    return Table(name, frame, latex, frozenset(rows.loc[rows["dataset"].isin(
        per_ds.index.get_level_values("dataset")), "method"]))
