"""`alarmbench`: data sets (list, info, fetch, split), one cell without Snakemake (run), reports
from results.csv (report) and the cost of a workflow config before any job (plan).

Outputs default to results/cli/ (git-ignored). JSON output is strict: a value that is not a
number (no validation anomalies, one seed's std) is null, never a bare NaN.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

# Where the sub-commands write unless told otherwise: under results/, which git ignores.
CLI_OUT = Path("results") / "cli"


def strict(obj):
    """`obj` with every non-finite float (NaN, ±inf) as None: what strict JSON can hold."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


def dumps(obj) -> str:
    """Strict JSON (RFC 8259: no NaN/Infinity), indented, keys sorted."""
    return json.dumps(strict(obj), indent=2, sort_keys=True, allow_nan=False)


def _write(path: Path, obj) -> None:
    from alarmbench.fileio import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(dumps(obj) + "\n")


def _data_list(args) -> int:
    from alarmbench.data.registry import REGISTRY

    for name, spec in sorted(REGISTRY.items()):
        how = "embedded" if not any(s.files for s in spec.sources) else (
            "manual" if all(s.manual for s in spec.sources) else "download")
        print(f"{name:28s} {how:9s} {spec.title}")
    return 0


def _data_info(args) -> int:
    from alarmbench.data.api import prepare_dataset
    from alarmbench.data.prepare import info

    print(dumps(info(prepare_dataset(args.name, raw_root=args.raw_dir, mirror=args.mirror))))
    return 0


def _data_fetch(args) -> int:
    from alarmbench.data import registry
    from alarmbench.data.api import lock_for
    from alarmbench.data.prepare import fetch

    spec = registry.get(args.name)
    source, files = fetch(spec, Path(args.raw_dir) / args.name, mirror=args.mirror, lock=lock_for(Path(args.raw_dir)))
    for name, path in sorted(files.items()):
        print(f"{name}\t{path}")
    return 0


def _data_split(args) -> int:
    from alarmbench.data.api import prepare_dataset, split_cell

    prep = prepare_dataset(args.name, raw_root=args.raw_dir, mirror=args.mirror)
    split = split_cell(prep, experiment=args.experiment, seed=args.seed, n_anomalies=args.n_anomalies,
                       pollution=args.pollution, rng=args.rng, holdout_redraws=args.holdout_redraws,
                       **({"split_protocol": args.split_protocol} if args.split_protocol else {}))
    out = Path(args.out) if args.out else (CLI_OUT / "split" / args.name / args.experiment
                                           / f"n{args.n_anomalies}_p{args.pollution:g}" / f"seed{args.seed}")
    split.save(out / "split.npz", out / "split.json")
    print(dumps(split.meta["counts"]))
    print(f"split.npz and split.json in {out}", file=sys.stderr)
    return 0


def _report(args) -> int:
    from alarmbench.evaluate.aggregate import combine_runs
    from alarmbench.report.paper import read_projections
    from alarmbench.report.peers import parse_peers, resolve_peers
    from alarmbench.workflow_log import to_console

    to_console(quiet=args.quiet)  # each step of the build on stderr: a large report takes minutes
    peers = resolve_peers(None if args.peers is None else parse_peers(args.peers))  # checked before writing
    projections = read_projections(args.projection) if args.projection else None  # checked before writing
    out = Path(args.out)
    results = combine_runs(args.results, args.replace, out) if args.replace else Path(args.results)
    from alarmbench.report.build import build_reports  # imports torch (figures): after the cheap checks

    written = build_reports(results, out, roc_csv=results.with_name("roc.csv"), peers=peers, pdf=args.pdf,
                            projections=projections)
    for kind, paths in written.items():
        print(f"{kind}: {len(paths)} file(s)")
    print(f"{sum(len(v) for v in written.values())} files under {out}")
    return 0


def user_entry(args) -> tuple[str, dict]:
    """`run --data`: the data set's name and its `user_datasets` entry, as a workflow config
    would declare it (the same checks, loader, protocol and record follow from it)."""
    import re

    from alarmbench.data.userdata import check_user_config

    name = args.name or re.sub(r"[^A-Za-z0-9_-]+", "_", Path(args.data).stem)
    entry: dict = {"path": args.data}
    if args.label_column is not None:
        entry["label_column"] = args.label_column
    if args.normal or args.anomalies:
        entry |= {"normal": list(args.normal or []), "anomalies": list(args.anomalies or [])}
    if args.test_data:
        entry["test_path"] = args.test_data
    if args.test_column:
        entry["test_column"] = args.test_column
    check_user_config(name, entry)
    return name, entry


def _run(args) -> int:
    from alarmbench.runner import CellSpec, run_cell
    from alarmbench.workflow_log import to_console

    to_console(quiet=args.quiet)  # what a workflow job's log file says, on stderr

    options = dict(kv.split("=", 1) for kv in args.option)
    max_fpr = args.max_fpr if args.max_fpr is not None else (0.05 if args.experiment.startswith("a3-") else None)
    if args.data:
        dataset, entry = user_entry(args)
        user = {dataset: entry}
    else:
        dataset, user = args.dataset, None
        for flag in ("label_column", "normal", "anomalies", "test_data", "test_column", "name"):
            if getattr(args, flag):
                raise ValueError(f"--{flag.replace('_', '-')} describes a file given with --data, not a registered "
                                 f"data set (--dataset {args.dataset})")
    cell = CellSpec(dataset, args.method, args.seed, args.experiment, args.n_anomalies, args.pollution,
                    args.epochs, args.device, {k: parse_option_value(v) for k, v in options.items()}, args.precision,
                    threads=args.threads, max_fpr=max_fpr, checkpoint_every_s=args.checkpoint_every_s,
                    feature_dtype=args.feature_dtype, user=user,
                    protocol={"rng": args.rng} if args.rng != "substreams" else {})
    record = run_cell(cell, mirror=args.mirror, raw_root=args.raw_dir,
                      work_dir=Path(args.work_dir) if args.work_dir else None, progress=sys.stderr.isatty() and not args.quiet)
    out = Path(args.out) if args.out else CLI_OUT / "run" / (
        f"{dataset}_{args.experiment}_n{record['n_anomalies']}_p{args.pollution:g}_seed{args.seed}_"
        f"{args.method.replace(':', '-')}.json")
    _write(out, record)
    print(dumps({k: record[k] for k in record if k.startswith(("val_", "test_", "fit_"))}))
    print(f"record written to {out}", file=sys.stderr)
    return 0


def _plan(args) -> int:
    from alarmbench import plan

    if args.calibrate:
        text = plan.calibration_json(plan.calibrate(args.calibrate_seconds, args.threads))
        if args.calibration_out:
            Path(args.calibration_out).write_text(text + "\n")
        print(text)
        return 0
    config = plan.read_config(args.configfile)
    if args.mirror:
        config["mirror"] = args.mirror
    if args.raw_dir:
        config["raw_dir"] = args.raw_dir
    rows = plan.plan_run(config, load=args.load)
    calib = plan.load_calibration(args.calibration)
    print(plan.table(rows, calib))
    if args.csv:
        from alarmbench.report.paper import projection_frame

        projection_frame(rows, config.get("run", {}), calib).to_csv(args.csv, index=False)
    print(f"\nCPU/cell: one cell's train_target, extract and fit_score jobs, 1 thread "
          f"({calib.step_seconds * 1e3:.2f} ms/step, {calib.flop_rate / 1e9:.0f} GFLOP/s: {calib.command}); "
          f"run in all: {plan.duration(plan.run_seconds(rows, calib))}"
          + (" (rows marked ? not counted)" if any(r.estimate is None for r in rows) else ""))
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be ≥ 0 seconds, got {text}")
    return value


def _n_anomalies(text: str) -> int | str:
    from alarmbench.grid import parse_n

    try:
        return parse_n(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parse_option_value(text: str):
    """Option values from the command line: JSON where it parses (numbers, booleans), else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alarmbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_data(sub)
    _add_report(sub)
    _add_run(sub)
    _add_plan(sub)
    return parser


def _with_source(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of the `data` sub-commands that read one registered data set."""
    p.add_argument("name", help="registered data set (see `alarmbench data list`)")
    p.add_argument("--mirror", help="local mirror directory searched first for upstream file names")
    p.add_argument("--raw-dir", default="data/raw", help="where raw files are placed (default: data/raw)")
    return p


def _add_data(sub) -> None:
    data = sub.add_parser("data", help="data sets: list, info, fetch, split").add_subparsers(dest="action", required=True)

    data.add_parser("list", help="registered data sets").set_defaults(func=_data_list)
    _with_source(data.add_parser("info", help="print sizes and class counts as JSON")).set_defaults(func=_data_info)
    _with_source(data.add_parser("fetch", help="download (or take from the mirror) and verify")).set_defaults(
        func=_data_fetch)
    _add_data_split(data)


def _add_data_split(data) -> None:
    p = _with_source(data.add_parser("split", help="write split.npz + split.json for one cell"))
    p.add_argument("--experiment", default="known", help="preset: known, transfer, a3-1a, ...")
    p.add_argument("--seed", type=int, required=True, help="the experiment seed (validation and known-anomaly draws)")
    p.add_argument("--n-anomalies", type=_n_anomalies, default=100,
                   help="known anomalies kept in training: a count, or 'half' (⌊training anomalies / 2⌋)")
    p.add_argument("--pollution", type=float, default=0.0, help="fraction of relabelled anomalies in the normal set")
    p.add_argument("--rng", choices=["substreams", "original"], default="substreams",
                   help="named sub-streams (default) or the authors' single generator order")
    p.add_argument("--holdout-redraws", type=int, default=0, help="extra hold-out draws (faithful re-draw quirk)")
    p.add_argument("--split-protocol", choices=["r2ad2", "a3_code"], default=None,
                   help="test seed and scaler rows (default: a3_code for the A³ experiments, else r2ad2)")
    p.add_argument("--out", help="output directory (default: results/cli/split/NAME/EXPERIMENT/nN_pP/seedSEED, as the "
                        "workflow's cell folders)")
    p.set_defaults(func=_data_split)


def _add_report(sub) -> None:
    rep = sub.add_parser("report", help="tables, figures and paper comparison from results.csv, optionally "
                                        "combining runs",
                         description="Writes summary.csv, tables/ (CSV + LaTeX), figures/ (PDF + PNG), the paper "
                                     "comparison (paper_comparison.csv|md|tex), metrics.json and report.tex into "
                                     "--out; with --replace also the combined results.csv and roc.csv there. "
                                     "Progress on stderr.")
    rep.add_argument("--results", required=True, help="results.csv of a run (roc.csv beside it is used too)")
    rep.add_argument("--replace", nargs="+", default=[], metavar="CSV",
                     help="results.csv of later runs: each replaces the data sets it holds (whole data sets); the "
                          "combined results.csv and roc.csv are written into --out")
    rep.add_argument("--out", default=str(CLI_OUT / "report"),
                     help="report directory (default: results/cli/report)")
    rep.add_argument("--quiet", action="store_true", help="log only warnings and errors on stderr")
    rep.add_argument("--peers", nargs="*", metavar="DATASET=CSV",
                     help="runs of the authors' code per data set, a second reference beside the papers (default: "
                          "../shared/peers/authors_code_mammography.csv for mammography if present; none: --peers)")
    rep.add_argument("--pdf", action="store_true", help="also build report.pdf (pdflatex, two passes)")
    rep.add_argument("--projection", metavar="CSV",
                     help="`alarmbench plan --csv` of the full suite: the projected CPU cost of the paper "
                          "comparison's rows that need a GPU run or did not run")
    rep.set_defaults(func=_report)


# The `run` arguments' types read the method and data set registries when called, not at import.
def method_name(text: str) -> str:
    from alarmbench.methods import METHOD_IDS, is_method

    if not is_method(text):
        raise argparse.ArgumentTypeError(f"unknown method {text!r}; known: {', '.join(METHOD_IDS)}, pyod:<Class>")
    return text


def dataset_name(text: str) -> str:
    import difflib

    from alarmbench.data.registry import REGISTRY

    if text in REGISTRY:
        return text
    if Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a registered data set; use --data {text}")
    close = difflib.get_close_matches(text, list(REGISTRY), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise argparse.ArgumentTypeError(f"unknown data set {text!r}{hint}; see `alarmbench data list`, or give your "
                                     f"own file with --data FILE.csv|FILE.npz")


def _add_run(sub) -> None:
    # torch-free imports only: `--help` and the sub-commands that train nothing never import torch
    from alarmbench.methods import METHOD_IDS
    from alarmbench.runopts import DEFAULT_CHECKPOINT_EVERY_S, DEFAULTS, FEATURE_DTYPES, PRECISIONS

    r = sub.add_parser("run", help="train and score one method on one cell; write metrics JSON",
                       description="One cell (data set, experiment, n, pollution, seed) and one method, through the "
                                   "workflow's split protocol, fit and metrics record. Data: a registered data set "
                                   "(--dataset) or your own table (--data).")
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("--dataset", type=dataset_name, help="a registered data set (`alarmbench data list`)")
    what.add_argument("--data", metavar="FILE", help="your own table: a .csv with a label column or an .npz with "
                                                     "arrays X and y; labels 0/1 (1 = anomaly) need no class lists")
    r.add_argument("--label-column", help="with --data FILE.csv: the label column (default: label)")
    r.add_argument("--normal", nargs="+", metavar="CLASS", help="with --data: the normal classes (with --anomalies)")
    r.add_argument("--anomalies", nargs="+", metavar="CLASS", help="with --data: the anomaly classes (with --normal)")
    r.add_argument("--test-data", metavar="FILE", help="with --data: an official test part (same format), used as "
                                                       "the test rows instead of the 20 %% re-split")
    r.add_argument("--test-column", metavar="NAME", help="with --data: a 0/1 column (CSV) or array (NPZ) marking "
                                                         "official test rows")
    r.add_argument("--name", help="with --data: the data set's name in the record (default: the file's stem)")
    r.add_argument("--method", required=True, type=method_name, help=f"{', '.join(METHOD_IDS)} or pyod:<Class>")
    r.add_argument("--seed", type=_non_negative, required=True,
                   help="the experiment seed (split draws and training); the papers use 110, 210, ..., 510")
    r.add_argument("--experiment", default="known",
                   help="protocol preset: known (default), transfer, a3-1a, ... (config/README.md)")
    r.add_argument("--n-anomalies", type=_n_anomalies, default=100,
                   help="known anomalies in training: a count, or 'half' (⌊training anomalies / 2⌋); capped at "
                        "⌊A / 2⌋ as in the workflow")
    r.add_argument("--pollution", type=float, default=0.0,
                   help="fraction of anomalies relabelled as normal in the training set (default 0)")
    r.add_argument("--rng", choices=["substreams", "original"], default="substreams",
                   help="split draws: named sub-streams (default) or one default_rng(seed) in the authors' order, "
                        "which pairs our seed with theirs")
    r.add_argument("--mirror", metavar="DIR", help="local mirror directory searched first for upstream file names")
    r.add_argument("--raw-dir", default="data/raw", help="where raw files are placed (default: data/raw)")
    r.add_argument("--epochs", type=_positive, help="override every training loop's epochs (≥ 1; default: the papers')")
    r.add_argument("--device", help="cpu, cuda, cuda:N (default: CUDA when available)")
    r.add_argument("--precision", choices=PRECISIONS, default=DEFAULTS.precision,
                   help="CUDA float32 math: fp32 (IEEE), tf32 (default; TensorFlow's default on Ampere+), bf16 "
                        "(tf32 + bf16 autocast of the alarms' training forward passes); no effect on CPU but bf16's autocast")
    r.add_argument("--feature-dtype", choices=FEATURE_DTYPES, default=DEFAULTS.feature_dtype,
                   help="cached features (R2-AD2's gradients, A³'s activations) are rounded to this dtype, as the "
                        "workflow's run.feature_dtype (default float16)")
    r.add_argument("--max-fpr", type=float, help="A³ threshold rule: F1/precision/recall on test at the validation "
                                                 "threshold under this FPR (default 0.05 for a3-* experiments)")
    r.add_argument("--threads", type=_positive, default=DEFAULTS.threads,
                   help="torch CPU threads (default 1: these small networks run fastest one job per core)")
    r.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="method option / faithfulness switch, e.g. gradcon_cosine=layer (repeatable)")
    r.add_argument("--work-dir", help="keep checkpoints and trained targets here (resumable)")
    r.add_argument("--checkpoint-every-s", type=_seconds, default=DEFAULT_CHECKPOINT_EVERY_S, metavar="SECONDS",
                   help=f"with --work-dir: seconds between training checkpoint writes (default "
                        f"{DEFAULT_CHECKPOINT_EVERY_S:g}; 0 = every epoch); a killed run resumes to the same result")
    r.add_argument("--quiet", action="store_true", help="log only warnings and errors on stderr (no progress bars)")
    r.add_argument("--out", help="the metrics record, strict JSON (default: results/cli/run/"
                                 "DATASET_EXPERIMENT_nN_pP_seedS_METHOD.json)")
    r.set_defaults(func=_run)


def _add_plan(sub) -> None:
    pl = sub.add_parser("plan", help="cost estimate of a workflow config per data set × method, before any job")
    pl.add_argument("--configfile", nargs="+", default=["config/config.yaml"], metavar="YAML",
                    help="workflow config file(s), merged in order as Snakemake does (default: config/config.yaml)")
    pl.add_argument("--load", action="store_true",
                    help="load data sets that are not prepared yet to count their rows exactly (else: their documented "
                         "sizes); one that cannot be fetched is marked, never stops the plan")
    pl.add_argument("--mirror", metavar="DIR", help="with --load: local mirror searched first for upstream files "
                                                    "(default: the config's mirror)")
    pl.add_argument("--raw-dir", metavar="DIR", help="with --load: where raw files are placed (default: the config's "
                                                     "raw_dir, else data/raw)")
    pl.add_argument("--calibration", metavar="JSON", help="constants measured with --calibrate (default: the "
                                                          "development machine's, see alarmbench/plan/calibration.py)")
    pl.add_argument("--calibrate", action="store_true", help="measure this machine's step cost and FLOP rate")
    pl.add_argument("--calibrate-seconds", type=float, default=4.0, help="length of the calibration run")
    pl.add_argument("--calibration-out", metavar="JSON", help="write the calibration here")
    pl.add_argument("--threads", type=_positive, default=1, help="torch threads of the calibration run")
    pl.add_argument("--csv", metavar="CSV", help="also write the projection per data set × method as CSV "
                                                 "(for `alarmbench report --projection`)")
    pl.set_defaults(func=_plan)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (KeyError, ValueError, OSError, RuntimeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"alarmbench: error: {message}", file=sys.stderr)
        return 2
    finally:
        from alarmbench.workflow_log import release_console

        release_console()  # `run`'s stderr logging ends with the command (several calls in one process)


if __name__ == "__main__":
    sys.exit(main())
