"""Markdown table (mean ± sd over seeds of test AUC and AP) from deepsad_reference.py's CSV rows.

    python benchmarks/deepsad_summarise.py results.csv [--methods m1 m2 ...]
"""

from __future__ import annotations

import argparse

import pandas as pd


def table(rows: pd.DataFrame, methods: list[str] | None = None) -> str:
    methods = methods or list(dict.fromkeys(rows["method"]))
    rows = rows[rows["method"].isin(methods)]
    g = rows.groupby(["dataset", "method"])
    stats = g.agg(auc=("test_auc", "mean"), auc_sd=("test_auc", "std"), ap=("test_ap", "mean"),
                  ap_sd=("test_ap", "std"), seeds=("seed", "nunique")).reset_index()
    info = rows.groupby("dataset").agg(n_known=("n_known", "first"), n_train=("n_train", "first"),
                                       rate=("test_anomaly_rate", "first"))
    head = "| table (known / train rows, test anomaly rate) | seeds | " + " | ".join(methods) + " |"
    lines = [head, "|" + " --- |" * (len(methods) + 2)]

    def cell(r):
        sd = lambda v: "" if pd.isna(v) else f" ± {v:.2f}"  # noqa: E731
        return f"{r.auc:.3f}{sd(r.auc_sd)} / {r.ap:.3f}{sd(r.ap_sd)}"

    for ds in dict.fromkeys(rows["dataset"]):
        s = stats[stats["dataset"] == ds].set_index("method")
        i = info.loc[ds]
        label = f"{ds.removeprefix('adbench_')} ({int(i.n_known)} / {int(i.n_train)}, {i.rate:.1%})"
        seeds = int(s["seeds"].min())
        lines.append(f"| {label} | {seeds} | " + " | ".join(cell(s.loc[m]) if m in s.index else "–"
                                                          for m in methods) + " |")
    means = stats.groupby("method")[["auc", "ap"]].mean()
    lines.append("| **mean over tables** | | " + " | ".join(
        f"**{means.loc[m, 'auc']:.3f} / {means.loc[m, 'ap']:.3f}**" if m in means.index else "–"
        for m in methods) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("csv")
    p.add_argument("--methods", nargs="+")
    args = p.parse_args(argv)
    print(table(pd.read_csv(args.csv), args.methods))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
