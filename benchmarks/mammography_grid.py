"""The R2-AD2 paper's Mammography grid (known anomalies, n = 100, 5 seeds, the papers' epochs):
wall time per method and in total, and AUC/AP next to the paper and to the authors' own code.

    python benchmarks/mammography_grid.py --mirror ../shared/data [--workers 2] [--epochs E] [--precision bf16]
        [--rng substreams|original] [--option holdout_redraw=true] [--out runs.jsonl]
    python benchmarks/mammography_grid.py --from-runs reports/mammography_baselines/runs.jsonl \
        --wall-seconds 466 --table-dir reports/mammography_baselines   # the table again, no run

Each (method, seed) runs in its own single-threaded worker process (these networks are small:
one job per core beats multi-threaded kernels); trained targets are shared per seed through a
work directory. The authors' TF code needs ≈ 40 min for this grid on a 2-core CPU.

The paper columns and their verdicts (|Δ| ≤ max(published std, .03), AUC and AP) come from
`alarmbench.report.paper`, the authors'-code columns (their runs of this grid on this machine,
`../shared/peers/authors_code_mammography.csv`, when present) from `alarmbench.report.peers`.

`--rng original` draws the known anomalies and the hold-out from one `default_rng(seed)` in the
authors' order (our seed s is then their seed s); `--option KEY=VALUE` sets a method option as
`alarmbench run --option` does, for every method that declares it. `holdout_redraw=true` also
stores the re-draw its snapshot segments read (`--holdout-redraws`, default 1). `--out` appends
each record as it finishes, so a stopped run leaves what it finished.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from alarmbench.cli import parse_option_value
from alarmbench.device import PRECISIONS
from alarmbench.evaluate.aggregate import records_to_frame, summarise
from alarmbench.methods import catalog
from alarmbench.report.paper import compare
from alarmbench.report.peers import load_peers, parse_peers, peer_columns, resolve_peers

METHODS = ["r2ad2", "gradcon", "a3", "deepsad", "devnet", "ae"]  # longest first: better packing
SEEDS = [110, 210, 310, 410, 510]


def method_options(method: str, options: dict) -> dict:
    """The subset of `options` that `method` declares (so one --option can target one method of the grid)."""
    declared = {o.name for o in catalog.method(method).options}
    return {k: v for k, v in options.items() if k in declared}


def parse_options(pairs: list[str], methods: list[str]) -> dict:
    """KEY=VALUE pairs as `alarmbench run --option`; a key no method of the grid declares is an error."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--option {pair!r}: expected KEY=VALUE")
        options[key] = parse_option_value(value)
    unknown = set(options) - {o.name for m in methods for o in catalog.method(m).options}
    if unknown:
        raise SystemExit(f"--option: {sorted(unknown)} is declared by none of the methods {methods}")
    for m in methods:
        catalog.check_options(m, method_options(m, options))  # wrong types fail here, before any job
    return options


def code_version() -> str:
    """The commit the run's code is at, with "+dirty" when the tree has uncommitted changes."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def job(method: str, seed: int, mirror: str, raw: str, work: str, epochs: int | None,
        precision: str = "tf32", options: dict | None = None, protocol: dict | None = None) -> dict:
    import torch

    torch.set_num_threads(1)
    from alarmbench.runner import CellSpec, run_cell

    cell = CellSpec("mammography", method, seed, epochs=epochs, device="cpu", precision=precision,
                    options=method_options(method, options or {}), protocol=dict(protocol or {}))
    code, start = code_version(), time.perf_counter()  # the code the job starts with
    # Targets are shared within a seed and a protocol only (another rng is another split).
    tag = "_".join(f"{k}-{v}" for k, v in sorted(cell.protocol.items()))
    record = run_cell(cell, mirror=mirror, raw_root=raw, work_dir=Path(work) / f"seed{seed}{'_' + tag if tag else ''}")
    record["job_seconds"] = time.perf_counter() - start
    record["options"] = dict(cell.options)
    record["rng"] = cell.protocol.get("rng", "substreams")
    record["holdout_redraws"] = int(cell.protocol.get("holdout_redraws", 0))
    record["code"] = code
    record.pop("roc", None)  # the validation ROC curve: not needed here, and large
    return record


def references(records: list[dict], peers: dict) -> pd.DataFrame:
    """Per method and metric (auc, ap): the paper's mean ± std with its verdict and, where a peer
    file covers the method, the authors' code's mean ± std and the tests over seeds."""
    results = records_to_frame(records)
    cmp = compare(summarise(results))
    cmp = peer_columns(cmp, results, load_peers(peers))
    return cmp[cmp["table"] == "table3"].set_index(["method", "metric"])


def _pair(ref: pd.DataFrame, m: str, col: str, fmt) -> str:
    """'x / y' for AUC and AP of method m, '–' where neither exists."""
    cells = [ref.loc[(m, x), col] if (m, x) in ref.index else None for x in ("auc", "ap")]
    return "–" if all(c is None or pd.isna(c) for c in cells) else " / ".join(fmt(c) for c in cells)


def write_table(summary: pd.DataFrame, ref: pd.DataFrame, out: Path, wall: float | None, args) -> None:
    """The summary as CSV and as a Markdown table (mean ± std over seeds; † = not in the papers)."""
    out.mkdir(parents=True, exist_ok=True)
    summary.round(4).to_csv(out / "mammography_known_n100.csv")

    def num(x, d=2):
        return "–" if x is None or pd.isna(x) else f"{x:.{d}f}"

    lines = ["| method | test AUC | test AP | fit s (mean per seed) | paper AUC / AP | within AUC / AP "
             "| authors' code AUC / AP | Welch p AUC / AP | Mann–Whitney p AUC / AP |", "|---" * 9 + "|"]
    for m, r in summary.iterrows():
        in_paper = (m, "auc") in ref.index
        name = m if in_paper else f"{m} †"
        paper = _pair(ref, m, "paper_mean", num)
        within = _pair(ref, m, "within", lambda w: "–" if pd.isna(w) else ("yes" if w else "**no**"))
        theirs = _pair(ref, m, "peer_mean", lambda x: num(x, 3))
        welch = _pair(ref, m, "welch_p", lambda x: num(x, 3))
        mwu = _pair(ref, m, "mannwhitney_p", lambda x: num(x, 3))
        lines.append(f"| {name} | {r.auc:.3f} ± {r.auc_std:.3f} | {r.ap:.3f} ± {r.ap_std:.3f} | {r.fit_s:.1f} "
                     f"| {paper} | {within} | {theirs} | {welch} | {mwu} |")
    wall_text = f"Wall time {wall:.0f} s on {args.workers} single-threaded workers. " if wall is not None else ""
    command = ("python benchmarks/mammography_grid.py --mirror ../shared/data --methods " + " ".join(args.methods)
               + f" --table-dir {out}")
    lines += ["", f"Mammography (ODDS via the ADBench copy), known anomalies n = 100, seeds {args.seeds}, "
              f"epochs: {'the papers' if args.epochs is None else args.epochs}; † = not in the papers. "
              + wall_text + f"Produced by `{command}`"
              + (f" (table rebuilt from its runs: `--from-runs {args.from_runs}`)." if args.from_runs else "."),
              "", "Within: |Δ| ≤ max(published std, .03) of the R2-AD2 paper's Table 3, for AUC and AP. Authors' "
              "code: their own code run on this machine on the same protocol (`../shared/peers/`), mean of one "
              "run per seed; Welch's t-test and the Mann–Whitney U test, two-sided, our five seeds against "
              "theirs (the full comparison with std, Hedges' g and CL: `paper_comparison.md` of a report).",
              "", "Fit seconds: targets shared within a seed (the AE of `ae` and `a3`) are counted in the run that "
              "trained them first."]
    (out / "mammography_known_n100.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", default="../shared/data")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--epochs", type=int, help="override all epochs (default: the papers')")
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=SEEDS)
    parser.add_argument("--precision", default="tf32", choices=PRECISIONS,
                        help="run.precision; bf16 autocasts the alarms (R2-AD2, A3), the rest is unchanged on CPU")
    parser.add_argument("--rng", choices=["substreams", "original"], default="substreams",
                        help="split draws: named sub-streams (ours) or one default_rng(seed) in the authors' order")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="method option, e.g. holdout_redraw=true (repeatable; given to the methods declaring it)")
    parser.add_argument("--holdout-redraws", type=int,
                        help="stored extra hold-out draws (protocol.holdout_redraws); default 1 with "
                             "holdout_redraw=true, else 0")
    parser.add_argument("--out", help="append the per-run records here as they finish (JSON lines)")
    parser.add_argument("--table-dir", help="also write the summary table here (CSV and Markdown)")
    parser.add_argument("--peers", nargs="*", metavar="DATASET=CSV",
                        help="the authors' code's runs (default: ../shared/peers/authors_code_mammography.csv "
                             "if present; none: --peers)")
    parser.add_argument("--from-runs", metavar="JSONL", help="no run: the table from the records of an earlier "
                        "one (--out), e.g. after a change of the table itself")
    parser.add_argument("--wall-seconds", type=float, help="with --from-runs: that run's measured wall time")
    args = parser.parse_args()
    peers = resolve_peers(None if args.peers is None else parse_peers(args.peers))
    options = parse_options(args.option, args.methods)
    redraws = args.holdout_redraws if args.holdout_redraws is not None else (1 if options.get("holdout_redraw") else 0)
    if options.get("holdout_redraw") and redraws < 1:
        raise SystemExit("holdout_redraw=true needs --holdout-redraws ≥ 1 (the re-draw the snapshot segments read)")
    protocol = {"rng": args.rng} | ({"holdout_redraws": redraws} if redraws else {})

    if args.from_runs:
        records = [json.loads(line) for line in Path(args.from_runs).read_text().splitlines() if line.strip()]
        wall = args.wall_seconds
        args.seeds = sorted({r["seed"] for r in records})
        args.methods = [m for m in args.methods if m in {r["method"] for r in records}] + sorted(
            {r["method"] for r in records} - set(args.methods), key=[r["method"] for r in records].index)
        epochs = {r.get("epochs") for r in records}
        args.epochs = None if epochs <= {None, "paper"} else int(min(e for e in epochs if e not in (None, "paper")))
    else:
        records, wall = run_grid(args, options, protocol)
    df = pd.DataFrame(records)
    summary = df.groupby("method").agg(
        auc=("test_auc", "mean"), auc_std=("test_auc", "std"), ap=("test_ap", "mean"), ap_std=("test_ap", "std"),
        fit_s=("fit_seconds", "mean"), job_s=("job_seconds", "sum")).reindex(args.methods)
    ref = references(records, peers)
    for col, name in (("paper_mean", "paper"), ("within", "within"), ("peer_mean", "authors_code"),
                      ("welch_p", "welch_p"), ("mannwhitney_p", "mannwhitney_p")):
        for metric in ("auc", "ap"):
            summary[f"{name}_{metric}"] = [ref[col].get((m, metric)) for m in summary.index]
    print(summary.round(3).to_string())
    if args.table_dir:
        write_table(summary, ref, Path(args.table_dir), wall, args)
    if wall is not None:
        print(f"\nwall time, {len(records)} runs on {args.workers} workers: {wall:.1f} s "
              f"(epochs: {'paper' if args.epochs is None else args.epochs}; precision {args.precision}; "
              f"protocol {protocol}; options {options})")


def run_grid(args, options: dict, protocol: dict) -> tuple[list[dict], float]:
    """Every (method, seed) of the grid, one single-threaded worker each: (records, wall seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, work = Path(tmp) / "raw", Path(tmp) / "work"
        job("ae", args.seeds[0], args.mirror, str(raw), str(Path(tmp) / "warmup"), 1)  # fetch + verify once
        start = time.perf_counter()
        records = []
        with ProcessPoolExecutor(args.workers) as pool:
            futures = [pool.submit(job, m, s, args.mirror, str(raw), str(work), args.epochs, args.precision,
                                   options, protocol)
                       for m in args.methods for s in args.seeds]
            for f in as_completed(futures):
                r = f.result()
                records.append(r)
                if args.out:  # appended as they finish: a stopped run keeps what it finished
                    with open(args.out, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
                print(f"  {r['method']:8s} seed {r['seed']}: {r['job_seconds']:6.1f} s  "
                      f"AUC {r['test_auc']:.3f}  AP {r['test_ap']:.3f}", flush=True)
        return records, time.perf_counter() - start


if __name__ == "__main__":
    main()
