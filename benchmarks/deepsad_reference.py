"""Test AUC/AP of Deep SAD / DevNet variants on the mirrored ADBench tables, one cell per
(table, seed) through the project's split protocol (as `alarmbench run`: min-max scaling fitted on
the normal training rows, n known anomalies capped at half the table's anomalies).

Methods: project ids (`deepsad`, `deepsad-ruff`, `devnet`, `pyod:DevNet`, ...), the DeepOD
references `deepod:DeepSAD` / `deepod:DevNet` (library defaults; DevNet with its loss-shape bug
fixed, see `_deepod`), DevNet single-factor variants `devnet+<factor>` (see `devnet_variants.py`),
and project methods with options, `id@key=json;key=json` (value "encoder": the data set's encoder
sizes), e.g. `deepsad-ruff@deepsad_ruff_weight_decay=0`.

    PYTHONPATH=src:/tmp/deepod_pkgs python benchmarks/deepsad_reference.py \
        --datasets adbench_cardio --seeds 110 --methods deepsad deepsad-ruff --out rows.csv

Rows are appended to --out as they finish (a long run can be stopped and resumed; finished rows are
skipped).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))

FIELDS = ["dataset", "seed", "method", "n_known", "n_train", "n_test", "test_anomaly_rate", "test_auc", "test_ap",
          "fit_seconds"]


def _deepod(name: str, seed: int):
    import torch
    from deepod.models.tabular import DeepSAD, DevNet

    if name == "DeepSAD":
        return DeepSAD(device="cpu", verbose=0, random_state=seed)

    class DevNetShapeFixed(DevNet):
        """DeepOD 0.4.1 compares labels (B,) with scores (B, 1): the loss broadcasts to a (B, B)
        matrix that mixes every row with every label. Flattening the scores fixes it."""

        def training_forward(self, batch_x, net, criterion):
            x, y = batch_x
            return criterion(y.to(self.device), net(x.float().to(self.device)).view(-1))

    torch.manual_seed(seed)
    return DevNetShapeFixed(device="cpu", verbose=0, random_state=seed)


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_one(dataset: str, seed: int, method: str, *, n_anomalies: int, epochs: int | None, mirror: str) -> dict:
    from alarmbench.data import registry
    from alarmbench.data.api import prepare_dataset, split_cell
    from alarmbench.grid import effective_n
    from alarmbench.stages.context import job_context
    from alarmbench.stages.fit import fit_and_score

    prep = prepare_dataset(dataset, raw_root="data/raw", mirror=mirror)
    n = effective_n(registry.get(dataset), n_anomalies)
    split = split_cell(prep, experiment="known", seed=seed, n_anomalies=n)
    start = time.perf_counter()
    if method.startswith("deepod:"):
        model = _deepod(method.split(":", 1)[1], seed)
        model.fit(split.x_train.reshape(len(split.x_train), -1), np.asarray(split.a_train).astype(np.int64))
        scores = model.decision_function(split.x_test.reshape(len(split.x_test), -1))
    elif method.startswith("devnet+"):
        from devnet_variants import fit_variant

        scores = fit_variant(method.split("+", 1)[1], split, dataset, seed, epochs)
    else:
        base, _, spec = method.partition("@")  # id@key=json;key=json: method options
        options = {k: _value(v) for k, v in (kv.split("=", 1) for kv in spec.split(";") if kv)}
        ctx = job_context(split, dataset=dataset, seed=seed, run={"epochs": epochs, "device": "cpu"},
                          targets_dir=None, trains=None)
        # "encoder": the data set's dense encoder sizes (the project's rule), for ablations
        ctx.options = {k: list(ctx.hparams.encoder) if v == "encoder" else v for k, v in options.items()}
        scores = fit_and_score(split, base, ctx)[0]["test"]
    seconds = time.perf_counter() - start
    a = np.asarray(split.a_test).astype(int)
    return {"dataset": dataset, "seed": seed, "method": method, "n_known": int(np.sum(split.a_train)),
            "n_train": len(split.x_train), "n_test": len(a), "test_anomaly_rate": round(float(a.mean()), 4),
            "test_auc": round(float(roc_auc_score(a, scores)), 4),
            "test_ap": round(float(average_precision_score(a, scores)), 4), "fit_seconds": round(seconds, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", required=True)
    p.add_argument("--seeds", nargs="+", type=int, default=[110, 210, 310])
    p.add_argument("--methods", nargs="+", required=True)
    p.add_argument("--n-anomalies", type=int, default=10**6, help="known anomalies (default: the cap, ⌊A/2⌋)")
    p.add_argument("--epochs", type=int, default=None, help="project methods' epoch override (default: declared)")
    p.add_argument("--mirror", default=None, help="local mirror directory searched before downloading")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    out = Path(args.out)
    done = set()
    if out.exists():
        with out.open() as f:
            done = {(r["dataset"], int(r["seed"]), r["method"]) for r in csv.DictReader(f)}
    for dataset in args.datasets:
        for seed in args.seeds:
            for method in args.methods:
                if (dataset, seed, method) in done:
                    continue
                row = run_one(dataset, seed, method, n_anomalies=args.n_anomalies, epochs=args.epochs,
                              mirror=args.mirror)
                new = not out.exists()
                with out.open("a", newline="") as f:
                    w = csv.DictWriter(f, FIELDS)
                    if new:
                        w.writeheader()
                    w.writerow(row)
                print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
