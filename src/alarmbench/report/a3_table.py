"""A³ Table V: F1 / precision / recall at the validation max-FPR threshold (SPEC §6.3), per A³
experiment (`a3-1a` … `a3-3d`) and method, as CSV twin + booktabs LaTeX.

The preprint's Table V came from another training recipe than the final code's (SPEC §7 item 23b):
only `a3-2020-preprint` ("A³ (preprint recipe)") is compared with its A³ columns, and the AE with
its baseline columns (`PAPER_COLUMNS`); `a3-2020` (the final recipe) is shown, never compared."""

from __future__ import annotations

import math

import pandas as pd

from alarmbench.report import labels as L
from alarmbench.report.latex import Block, LatexTable, multicol
from alarmbench.report.select import epochs_text, table_rows
from alarmbench.report.tables import METRIC_TITLES, Table, best_cells, n_text, notes_for


#: Our method id → the column prefix of the published Table V (`a3_table5_f1.csv`) it is compared with.
PAPER_COLUMNS = {"a3-2020-preprint": "a3", "ae": "baseline"}
#: Column order: the compared methods first.
_ORDER = ("a3-2020-preprint", "a3-2020", "a3", "ae")


def a3_table(summary: pd.DataFrame, name: str = "a3_table5_threshold",
             metrics=("test_f1", "test_precision", "test_recall")) -> Table | None:
    """A³ Table V: F1/precision/recall at the max-FPR threshold per A³ experiment and method."""
    a3_exps = [e for e in summary["experiment"].unique() if str(e).startswith("a3-")]
    rows = table_rows(summary, a3_exps, metrics, n_prefer=200)
    if rows.empty:
        return None
    methods = sorted(rows["method"].unique(),
                     key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), L.method_sort_key(m)))
    cells = sorted({(e, d) for e, d in zip(rows["experiment"], rows["dataset"])})
    idx = rows.set_index(["experiment", "dataset", "method", "metric"])
    epochs = epochs_text(rows, by=("experiment", "dataset")) if "epochs" in rows else {}
    method_epochs = epochs_text(rows, by=("experiment", "dataset", "method")) if "epochs" in rows else {}
    body, records = [], []
    for exp, ds in cells:
        n = rows.loc[(rows["experiment"] == exp) & (rows["dataset"] == ds), "n_anomalies"].max()
        ep = epochs.get((exp, ds), "paper")
        rec = {"experiment": exp, "paper_experiment": _a3_label(exp), "dataset": ds, "n_anomalies": int(n),
               "epochs": ep,
               **{f"{m}_epochs": method_epochs.get((exp, ds, m), "paper") for m in methods}}
        per_metric = {}
        for metric in metrics:
            got = [idx.loc[(exp, ds, m, metric)] if (exp, ds, m, metric) in idx.index else None for m in methods]
            mean = [g["mean"] if g is not None else math.nan for g in got]
            std = [g["std"] if g is not None else math.nan for g in got]
            per_metric[metric] = best_cells(mean, std)
            rec.update({f"{m}_{metric}_{s}": v for m, a, b in zip(methods, mean, std) for s, v in (("mean", a), ("std", b))})
        name_, variant = L.paper_dataset(ds, "a3")
        data = L.latex_escape(name_) if name_ and not variant else rf"\texttt{{{L.latex_escape(ds)}}}"
        data += f" ({ep} ep.)" if ep != "paper" else ""
        body.append([_a3_label(exp), data, *[per_metric[mt][i] for i in range(len(methods)) for mt in metrics]])
        records.append(rec)
    frame = pd.DataFrame(records)
    stats = [f"{m}_{mt}_{s}" for m in methods for mt in metrics for s in ("mean", "std")]
    per_method = [f"{m}_epochs" for m in methods]  # what each method's runs used (the paper comparison reads it)
    frame = frame[["experiment", "paper_experiment", "dataset", "n_anomalies", "epochs", *per_method, *stats]]  # method-major, like the LaTeX
    k = len(metrics)
    header = [["", "", *[multicol(k, L.latex_method(m)) for m in methods]],
              ["Exp.", "Data", *[METRIC_TITLES.get(mt, mt) for _ in methods for mt in metrics]]]
    rules = " ".join(rf"\cmidrule(lr){{{3 + i * k}-{2 + (i + 1) * k}}}" for i in range(len(methods)))
    latex = LatexTable(header, [Block(body)], "ll" + "c" * (k * len(methods)),
                       f"A³ threshold metrics: threshold at the validation ROC's max FPR ({n_text(rows)}; "
                       "mean ± std over seeds). The preprint's Table V is compared with A³ (preprint "
                       "recipe) and AE only.", f"tab:{name}", header_rules=rules,
                       notes=notes_for(methods, [], {"any": "1"} if (frame["epochs"] != "paper").any() else None), resize=k * len(methods) > 6)
    return Table(name, frame, latex, frozenset(methods))


def _a3_label(experiment: str) -> str:
    """Our `a3-1a` → the paper's `1-a`."""
    code = experiment.removeprefix("a3-")
    return f"{code[:-1]}-{code[-1]}" if len(code) >= 2 else code
