"""The report stage (DESIGN §4): `results.csv` → tables, figures, average ranks with significance
tests and CD diagrams, paper comparison, DVC metrics and a standalone `report.tex`. Whatever the
results do not cover is skipped, never an error.

    python -m alarmbench.report.build reports/results.csv reports
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alarmbench.evaluate.aggregate import read_results, summarise
from alarmbench.fileio import atomic_path, write_json
from alarmbench.report import labels as L
from alarmbench.report.a3_table import a3_table
from alarmbench.report.figures import all_figures
from alarmbench.report.paper import compare, write_comparison
from alarmbench.report.peers import load_peers, parse_peers, peer_columns, resolve_peers
from alarmbench.report.ranking_outputs import all_rankings
from alarmbench.report.select import table_rows
from alarmbench.report.tables import Table, ablation_table, method_table, write_table


def all_tables(summary: pd.DataFrame) -> list[Table]:
    """Every table the data supports (missing experiments are skipped)."""
    made = [method_table(summary, "known", "r2ad2_table3_known", "R2-AD2 Table 3: known anomalies"),
            method_table(summary, "transfer", "r2ad2_table4_transfer", "R2-AD2 Table 4: unknown anomalies (transfer)"),
            ablation_table(summary), a3_table(summary)]
    return [t for t in made if t is not None]


def metrics_summary(summary: pd.DataFrame) -> dict[str, float]:
    """Flat `{experiment/dataset/method/metric: mean}` of test AUC/AP at each base cell (for DVC)."""
    out = {}
    for experiment in sorted(summary["experiment"].unique()):
        rows = table_rows(summary, experiment, ["test_auc", "test_ap"],
                          n_prefer=200 if experiment.startswith("a3-") else 100)
        for r in rows.to_dict("records"):
            out[f"{experiment}/{r['dataset']}/{r['method']}/{r['metric']}"] = round(float(r["mean"]), 4)
    return out


def report_tex(tables: list[Path], comparison: list[Path], figures: list[tuple[list[Path], str]],
               out_dir: Path, ranking: list[Path] = ()) -> str:
    """A standalone article that \\input's every table and includes every figure (PDF);
    `ranking` holds the average-rank tables (`report.ranking_outputs`), a section of their own."""

    def rel(p: Path) -> str:  # paths relative to report.tex, which \input's them
        return Path(p).relative_to(out_dir).as_posix()

    lines = [r"\documentclass[a4paper,10pt]{article}", r"\usepackage[T1]{fontenc}",
             r"\usepackage[margin=2cm]{geometry}", r"\usepackage{booktabs,graphicx,amssymb,longtable}",
             r"\title{alarmbench report}", r"\author{}", r"\date{}", r"\begin{document}", r"\maketitle"]
    if tables:
        lines += [r"\section{Tables}"] + [rf"\input{{{rel(p)}}}" for p in tables if p.suffix == ".tex"]
        lines.append(r"\clearpage")
    ranking = [p for p in ranking if Path(p).suffix == ".tex"]
    if ranking:
        lines += [r"\section{Average ranks and significance}", *[rf"\input{{{rel(p)}}}" for p in ranking],
                  r"\clearpage"]
    if comparison:
        lines += [r"\section{Comparison with the published numbers}",
                  *[rf"\input{{{rel(p)}}}" for p in comparison if p.suffix == ".tex"], r"\clearpage"]
    pdfs = [(p, caption) for paths, caption in figures for p in paths if p.suffix == ".pdf"]
    if pdfs:
        lines.append(r"\section{Figures}")
        for i, (p, caption) in enumerate(pdfs):
            size = r"width=\linewidth,height=0.42\textheight,keepaspectratio"
            lines += [r"\begin{figure}[htbp]", r"\centering", rf"\includegraphics[{size}]{{{rel(p)}}}",
                      rf"\caption{{{L.latex_escape(caption)}}}", r"\end{figure}"]
            if i % 4 == 3:
                lines.append(r"\clearpage")  # flush floats: LaTeX holds at most ~18 unplaced ones
    if not (tables or ranking or comparison or pdfs):
        lines.append("No results to report.")
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


# The sweep CSVs that dvc.yaml declares as plots: written header-only when a suite has no sweep.
SWEEP_CSVS = {"figures/r2ad2_fig2_pollution_auc.csv": "pollution", "figures/r2ad2_fig3_n_anomalies_auc.csv": "n_anomalies"}


def _ensure_sweep_csvs(out: Path) -> list[Path]:
    made = []
    for rel, x in SWEEP_CSVS.items():
        path = out / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                tmp.write_text(f"{x}\n")
            made.append(path)
    return made


def comparison(summary: pd.DataFrame, results: pd.DataFrame,
               peers: Mapping[str, str | os.PathLike] | None = None,
               projections: Mapping[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """The paper comparison, with the authors'-code columns (`report.peers`) where a peer file
    covers one of its rows (omitted otherwise, so a suite without such rows reads as before), and
    the projected cost of rows not run at the papers' epochs (`paper.read_projections`)."""
    cmp = compare(summary, projections=projections)
    if not peers:
        return cmp
    with_peers = peer_columns(cmp, results, load_peers(peers))
    return with_peers if with_peers["peer_mean"].notna().any() else cmp


def build_reports(results_csv: str | os.PathLike, out_dir: str | os.PathLike,
                  roc_csv: str | os.PathLike | None = None,
                  peers: Mapping[str, str | os.PathLike] | None = None,
                  projections: Mapping[tuple[str, str], float] | None = None) -> dict[str, list[Path]]:
    """Write every artefact the results support under `out_dir`; returns them by kind.

    `roc_csv` defaults to `roc.csv` beside `results_csv` (written by `aggregate.collect`); without
    it the ROC figures are skipped. `peers` maps a data set to a file of the authors' code's runs
    (`report.peers`; none by default); `projections` the projected CPU cost per (data set, method)
    (`paper.read_projections`; none by default).
    """
    out = Path(out_dir)
    results = read_results(results_csv)
    roc_path = Path(roc_csv) if roc_csv else Path(results_csv).with_name("roc.csv")
    roc = read_results(roc_path) if roc_path.exists() else None
    roc = None if roc is not None and roc.empty else roc  # no cell had validation anomalies
    summary = summarise(results)
    written: dict[str, list[Path]] = {"summary": [out / "summary.csv"]}
    with atomic_path(written["summary"][0]) as tmp:
        summary.to_csv(tmp, index=False)
    written["tables"] = [p for t in all_tables(summary) for p in write_table(t, out / "tables")]
    figures = all_figures(results, roc, out / "figures")
    written["figures"] = [p for paths, _ in figures for p in paths]
    written["figures"] += _ensure_sweep_csvs(out)
    # Average ranks, Friedman/post-hoc tests and CD diagrams (skipped below 2 data sets or 3 methods):
    # their tables (tables/ranking_*) under their own key, the diagrams (figures/cd_*) among the figures.
    written["ranking"], cd_figures, _ = all_rankings(summary, out)
    figures += cd_figures
    written["figures"] += [p for paths, _ in cd_figures for p in paths]
    written["comparison"] = write_comparison(comparison(summary, results, peers, projections), out)
    written["metrics"] = [out / "metrics.json"]
    write_json(written["metrics"][0], metrics_summary(summary))
    written["report"] = [out / "report.tex"]
    with atomic_path(written["report"][0]) as tmp:
        tmp.write_text(report_tex(written["tables"], written["comparison"], figures, out, written["ranking"]))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_csv")
    parser.add_argument("out_dir")
    parser.add_argument("--roc-csv")
    parser.add_argument("--peers", nargs="*", metavar="DATASET=CSV",
                        help="the authors' code's runs per data set (default: ../shared/peers/… if present)")
    args = parser.parse_args(argv)
    peers = resolve_peers(None if args.peers is None else parse_peers(args.peers))
    for kind, paths in build_reports(args.results_csv, args.out_dir, args.roc_csv, peers).items():
        print(f"{kind}: {len(paths)} file(s)")


if __name__ == "__main__":
    main()
