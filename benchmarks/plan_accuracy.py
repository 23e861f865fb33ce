"""`alarmbench plan`'s projected CPU seconds against the measured ones, cell by cell.

    python benchmarks/plan_accuracy.py                      # the default cells, default constants
    python benchmarks/plan_accuracy.py --calibrate          # measure this machine's constants first
    python benchmarks/plan_accuracy.py --cells adbench_cardio:r2ad2:2 mammography:deepsad-ruff:10
    python benchmarks/plan_accuracy.py --calibration C.json --reuse benchmarks/out/plan_accuracy.csv  # re-project

Each cell (data set : method : epochs, seed 110, experiment known, n = 100 capped as the workflow
caps it) runs once as `alarmbench run --device cpu --threads 1 --mirror MIRROR` in its own process;
its record's `fit_cpu_seconds` (the process CPU time of the fit, targets included: `run` trains
them inside the fit) is the measurement. The projection is the cost model's (`alarmbench.plan`) on
that cell's exact split sizes, as one process (`Estimate.seconds(jobs=1)`). CPU time, not wall
time: on a shared machine the wall clock also counts the waits for a core. Prints a table
(ratio = measured / projected) and writes it as CSV (--out). `--reuse CSV` takes the measurements
of an earlier run's CSV instead of running the cells again (to try a change of the cost model).
"""

from __future__ import annotations

import argparse
import dataclasses
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from alarmbench import grid, plan
from alarmbench.data import registry
from alarmbench.data.api import prepare_dataset, split_cell
from alarmbench.plan.shapes import shapes_from_meta

# Every modelled method on the mirrored tables, at epochs that keep each run to seconds of CPU:
# Mammography (6 features, the small alarm), ADBench cardio (21: the large alarm), satimage-2 (36),
# thyroid (6), breastw (9, 683 rows).
DEFAULT_CELLS = (
    "mammography:r2ad2:2", "mammography:a3:3", "mammography:ae:10", "mammography:gradcon:10",
    "mammography:deepsad:10", "mammography:devnet:10", "mammography:deepsad-ruff:5",
    "adbench_cardio:r2ad2:2", "adbench_cardio:r2ad2-1:3", "adbench_cardio:a3:3", "adbench_cardio:a3-2020:2",
    "adbench_cardio:deepsvdd:10", "adbench_cardio:deepsad-ruff:20", "adbench_cardio:a3-2020-preprint:3",
    "adbench_satimage_2:r2ad2:1", "adbench_satimage_2:r2ad2-4:1", "adbench_satimage_2:devnet:10",
    "adbench_satimage_2:ae:20",
    "adbench_thyroid:r2ad2-2:2", "adbench_thyroid:deepsad-ruff:10", "adbench_breastw:r2ad2:5",
)
COLUMNS = ("dataset", "method", "epochs", "rows", "features", "steps", "flop", "projected_cpu_s", "measured_cpu_s",
           "ratio")


def project(dataset: str, method: str, epochs: int, mirror: str, raw: str, calib: plan.Calibration) -> dict:
    """The cost model on the cell's exact split (the same split `alarmbench run` draws)."""
    spec = registry.get(dataset)
    prep = prepare_dataset(dataset, raw_root=raw, mirror=mirror)
    n = grid.effective_n(spec, 100, experiment="known")
    split = split_cell(prep, experiment="known", seed=110, n_anomalies=n, pollution=0.0)
    shapes = shapes_from_meta(dataset, split.meta, tuple(prep.X.shape[1:]) or (1,), "split")
    shapes = dataclasses.replace(shapes, table_rows=len(prep.X))
    est = plan.estimate(method, shapes, plan.hparams_of(dataset, shapes), epochs=epochs)
    return {"rows": shapes.n_train, "features": shapes.n_features, "steps": est.steps, "flop": est.flops,
            "projected_cpu_s": est.seconds(calib, jobs=1), "modelled": est.modelled}


def measure(dataset: str, method: str, epochs: int, mirror: str, raw: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.json"
        cmd = ["alarmbench", "run", "--dataset", dataset, "--method", method, "--seed", "110", "--epochs",
               str(epochs), "--device", "cpu", "--threads", "1", "--mirror", mirror, "--raw-dir", raw, "--quiet",
               "--out", str(out)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return float(json.loads(out.read_text())["fit_cpu_seconds"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", nargs="+", default=list(DEFAULT_CELLS), metavar="DATASET:METHOD:EPOCHS")
    ap.add_argument("--mirror", default="../shared/data", help="local data mirror (default: ../shared/data)")
    ap.add_argument("--raw-dir", default="data/raw")
    ap.add_argument("--calibrate", action="store_true", help="measure this machine's constants first "
                                                             "(alarmbench plan --calibrate) and project with them")
    ap.add_argument("--calibration", metavar="JSON", help="constants from `alarmbench plan --calibrate`")
    ap.add_argument("--out", default="benchmarks/out/plan_accuracy.csv")
    ap.add_argument("--reuse", metavar="CSV", help="measurements of an earlier run (same cells): project only")
    args = ap.parse_args(argv)
    reused = {}
    if args.reuse:
        with open(args.reuse, newline="") as f:
            reused = {f"{r['dataset']}:{r['method']}:{r['epochs']}": float(r["measured_cpu_s"]) for r in csv.DictReader(f)}

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    calib = plan.calibrate(8.0) if args.calibrate else plan.load_calibration(args.calibration)
    print(f"constants: {plan.calibration_json(calib)}", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.calibrate:
        out.with_name(out.stem + "_calibration.json").write_text(plan.calibration_json(calib) + "\n")
    rows = []
    print("| " + " | ".join(COLUMNS) + " |\n|" + " --- |" * len(COLUMNS))
    for cell in args.cells:
        if args.reuse and cell not in reused:
            continue
        dataset, method, epochs = cell.split(":")
        p = project(dataset, method, int(epochs), args.mirror, args.raw_dir, calib)
        if not p.pop("modelled"):
            print(f"{dataset} {method}: not modelled", file=sys.stderr)
            continue
        measured = reused[cell] if args.reuse else measure(dataset, method, int(epochs), args.mirror, args.raw_dir)
        row = {"dataset": dataset, "method": method, "epochs": int(epochs), **p, "measured_cpu_s": measured,
               "ratio": measured / p["projected_cpu_s"]}
        rows.append(row)
        print("| " + " | ".join(_fmt(row[c]) for c in COLUMNS) + " |", flush=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    ratios = [r["ratio"] for r in rows]
    if ratios:
        print(f"\nratio measured/projected: {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} cells; "
              f"{sum(1 / 1.5 <= r <= 1.5 for r in ratios)} within 1.5x", file=sys.stderr)
    return 0


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if v < 1e4 else plan.human(v)
    return str(v)


if __name__ == "__main__":
    sys.exit(main())
