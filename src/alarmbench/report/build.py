"""The report stage (DESIGN §4): `results.csv` → tables, figures, average ranks with significance
tests and CD diagrams, paper comparison, DVC metrics and a standalone `report.tex`. Whatever the
results do not cover is skipped, never an error.

    python -m alarmbench.report.build reports/results.csv reports [--pdf]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alarmbench.evaluate.aggregate import read_results, summarise
from alarmbench.fileio import atomic_path, write_json
from alarmbench.report import labels as L
from alarmbench.report.a3_table import a3_table
from alarmbench.report.figures import all_figures
from alarmbench.report.plotted import Plotted, write_plotted
from alarmbench.report.plotting import method_styles
from alarmbench.report.paper import compare, read_projections, write_comparison
from alarmbench.report.peers import load_peers, parse_peers, peer_columns, resolve_peers
from alarmbench.report.ranking import Ranking
from alarmbench.report.ranking_outputs import all_rankings
from alarmbench.report.select import table_rows
from alarmbench.report.tables import Table, ablation_table, method_table, write_table

log = logging.getLogger(__name__)


def all_tables(summary: pd.DataFrame) -> list[Table]:
    """Every table the data supports (missing experiments are skipped)."""
    paper = L.papers_data(summary["dataset"])
    made = [method_table(summary, "known", "r2ad2_table3_known",
                         "R2-AD2 Table 3: known anomalies" if paper else "Known anomalies: test metrics per data set"),
            method_table(summary, "transfer", "r2ad2_table4_transfer",
                         "R2-AD2 Table 4: unknown anomalies (transfer)" if paper else
                         "Unknown anomalies (transfer): test metrics per data set"),
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


def write_dvc_metrics(metrics: Mapping[str, float], out_dir: str | os.PathLike) -> list[Path]:
    """`metrics_summary` as one small file per experiment/dataset/method (`<experiment>/<dataset>/
    <method>.json`: test_auc, test_ap), replacing `out_dir`: `dvc metrics show` prints one row per
    file, so the table stays as narrow as two numbers (one file would be one line of every key)."""
    out, files = Path(out_dir), {}
    for key, value in metrics.items():
        experiment, dataset, method, metric = key.split("/")
        files.setdefault(f"{experiment}/{dataset}/{method.replace(':', '-')}.json", {})[metric] = value
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, values in files.items():
        write_json(tmp / rel, values)
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out, ignore_errors=True)  # a method or data set no longer in the results leaves no file
    tmp.rename(out)
    return [out / rel for rel in files]


def report_tex(tables: list[Path], comparison: list[Path], figures: list[Plotted],
               out_dir: Path, ranking: list[Path] = (), missing: list[str] = ()) -> str:
    """A standalone article that \\input's every table and includes every figure (PDF);
    `ranking` holds the average-rank tables (`report.ranking_outputs`), a section of their own;
    `missing` the sentences on methods of the grid that no table or figure shows."""

    def rel(p: Path) -> str:  # paths relative to report.tex, which \input's them
        return Path(p).relative_to(out_dir).as_posix()

    lines = [r"\documentclass[a4paper,10pt]{article}", r"\usepackage[T1]{fontenc}",
             r"\usepackage[margin=2cm]{geometry}", r"\usepackage{booktabs,graphicx,amssymb,longtable}",
             r"\title{alarmbench report}", r"\author{}", r"\date{}", r"\begin{document}", r"\maketitle"]
    if missing:
        lines += [r"\section*{Not shown}", *[L.latex_escape(m) + r"\par" for m in missing]]
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
    pdfs = [(p, rec) for rec in figures for p in rec.paths if p.suffix == ".pdf"]
    if pdfs:
        lines.append(r"\section{Figures}")
        for i, (p, rec) in enumerate(pdfs):
            caption = rec.caption
            size = (rf"width={rec.width:g}\linewidth,height={0.42 if rec.rows == 1 else 0.8}\textheight,"
                    "keepaspectratio")
            lines += [r"\begin{figure}[!htbp]", r"\centering", rf"\includegraphics[{size}]{{{rel(p)}}}",
                      rf"\caption{{{L.latex_escape(caption)}}}", r"\end{figure}"]
            if i % 4 == 3:
                lines.append(r"\clearpage")  # flush floats: LaTeX holds at most ~18 unplaced ones
    if not (tables or ranking or comparison or pdfs):
        lines.append("No results to report.")
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


# The sweep CSVs that dvc.yaml declares as plots: written header-only when a suite has no sweep.
SWEEP_CSVS = {"figures/r2ad2_fig2_pollution_auc.csv": "pollution", "figures/r2ad2_fig3_n_anomalies_auc.csv": "n_anomalies"}


def _ensure_sweep_csvs(out: Path, written: list[Path]) -> list[Path]:
    """The declared sweep CSVs this build has not written, header-only."""
    made = []
    for rel, x in SWEEP_CSVS.items():
        path = out / rel
        if path not in written:
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
                  peers: Mapping[str, str | os.PathLike] | None = None, pdf: bool = False,
                  projections: Mapping[tuple[str, str], float] | None = None) -> dict[str, list[Path]]:
    """Write every artefact the results support under `out_dir`; returns them by kind.

    `roc_csv` defaults to `roc.csv` beside `results_csv` (written by `aggregate.collect`); without
    it the ROC figures are skipped. `peers` maps a data set to a file of the authors' code's runs
    (`report.peers`; none by default). `pdf`: also compile `report.pdf` (`compile_pdf`). `projections`:
    the projected CPU cost per (data set, method) (`paper.read_projections`; none by default).
    """
    out = Path(out_dir)
    log.info("report: reading %s", results_csv)
    results = read_results(results_csv)
    roc_path = Path(roc_csv) if roc_csv else Path(results_csv).with_name("roc.csv")
    roc = read_results(roc_path) if roc_path.exists() else None
    roc = None if roc is not None and roc.empty else roc  # no cell had validation anomalies
    summary = summarise(results)
    written: dict[str, list[Path]] = {"summary": [out / "summary.csv"]}
    with atomic_path(written["summary"][0]) as tmp:
        summary.to_csv(tmp, index=False)
    tables = all_tables(summary)
    written["tables"] = [p for t in tables for p in write_table(t, out / "tables")]
    log.info("report: %d rows, %d tables written; drawing the figures", len(results), len(written["tables"]))
    # THE method → colour/marker mapping of this report: every figure draws from it.
    styles = method_styles(set(results["method"]) | (set(roc["method"]) if roc is not None else set()))
    figures = all_figures(results, roc, out / "figures", styles)
    log.info("report: %d figures; ranks and significance tests", len(figures))
    # Average ranks (from 2 data sets), Friedman/post-hoc tests and CD diagrams (from stats.MIN_DATASETS):
    # their tables (tables/ranking_*) under their own key, the diagrams (figures/cd_*) among the figures.
    written["ranking"], cd_figures, rankings = all_rankings(summary, out, styles=styles)
    figures += cd_figures
    written["figures"] = [p for rec in figures for p in rec.paths]
    written["figures"] += _ensure_sweep_csvs(out, written["figures"])
    written["figures"].append(write_plotted(figures, out / "figures" / "plotted.json"))
    missing = unshown_methods(results, tables, rankings, figures)
    log.info("report: paper comparison, metrics and report.tex")
    written["comparison"] = write_comparison(comparison(summary, results, peers, projections), out)
    metrics = metrics_summary(summary)
    written["metrics"] = [out / "metrics.json"]
    write_json(written["metrics"][0], metrics)
    written["metrics"] += write_dvc_metrics(metrics, out / "metrics")
    written["report"] = [out / "report.tex"]
    with atomic_path(written["report"][0]) as tmp:
        tmp.write_text(report_tex(written["tables"], written["comparison"], figures, out, written["ranking"], missing))
    if pdf:
        written["report"].append(compile_pdf(written["report"][0])[0])
    _remove_stale(out, written)
    return written


def _remove_stale(out: Path, written: dict[str, list[Path]]) -> None:
    """Files under `tables/` and `figures/` that this build did not write: an earlier build's
    (e.g. a figure that is now a panel of another) would otherwise sit beside the new ones."""
    fresh = {Path(p).resolve() for paths in written.values() for p in paths}
    for sub in ("tables", "figures"):
        for path in (out / sub).glob("*") if (out / sub).is_dir() else ():
            if path.is_file() and path.resolve() not in fresh:
                path.unlink()


def unshown_methods(results: pd.DataFrame, tables: list[Table], rankings: list[Ranking],
                    figures: list[Plotted]) -> list[str]:
    """A sentence per method of the results that no table or figure shows, with where its
    numbers are: a method of the user's grid never vanishes silently."""
    shown = set().union(*(t.methods for t in tables), *(rec.methods() for rec in figures),
                        *(set(r.average_rank.index) | set(r.dropped_methods) for r in rankings))
    out = []
    for m in sorted(set(results["method"]) - shown, key=L.method_sort_key):
        rows = results[results["method"] == m]
        experiments = ", ".join(sorted(rows["experiment"].unique()))
        out.append(f"{L.method_label(m)} ran ({len(rows)} result rows; experiments {experiments}) but no table "
                   "or figure of this report covers its cells; its numbers are in results.csv and summary.csv.")
    return out


def compile_pdf(tex: str | os.PathLike) -> tuple[Path, str]:
    """`report.pdf` beside `tex` and the last pass's log: pdflatex run twice (a longtable's column
    widths settle on the second pass; one pass leaves the paper comparison's header over the wrong
    columns). The by-products (.aux, .log, .out) are removed."""
    tex = Path(tex)
    exe = shutil.which("pdflatex")
    if exe is None:
        raise FileNotFoundError("pdflatex not found: install texlive-latex-base and texlive-latex-recommended")
    for _ in range(2):
        proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tex.parent,
                              capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"pdflatex failed on {tex}:\n{proc.stdout[-3000:]}")
    log = tex.with_suffix(".log").read_text(errors="replace")
    for ext in (".aux", ".log", ".out"):
        tex.with_suffix(ext).unlink(missing_ok=True)
    return tex.with_suffix(".pdf"), log


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_csv")
    parser.add_argument("out_dir")
    parser.add_argument("--roc-csv")
    parser.add_argument("--pdf", action="store_true", help="also build report.pdf (pdflatex, two passes)")
    parser.add_argument("--peers", nargs="*", metavar="DATASET=CSV",
                        help="the authors' code's runs per data set (default: ../shared/peers/… if present)")
    parser.add_argument("--projection", metavar="CSV", help="`alarmbench plan --csv`: the projected CPU cost of the "
                                                            "paper comparison's rows that did not run")
    args = parser.parse_args(argv)
    peers = resolve_peers(None if args.peers is None else parse_peers(args.peers))
    projections = read_projections(args.projection) if args.projection else None
    for kind, paths in build_reports(args.results_csv, args.out_dir, args.roc_csv, peers, args.pdf,
                                     projections).items():
        print(f"{kind}: {len(paths)} file(s)")


if __name__ == "__main__":
    main()
