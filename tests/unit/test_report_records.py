"""Synthetic metric records shaped like the pipeline's (imported by the other report tests), and
checks that they cover what the report needs."""

from __future__ import annotations

import zlib

import numpy as np

SEEDS = (110, 210, 310)
PAPER_METHODS = ("r2ad2", "ae", "gradcon", "deepsad", "devnet", "a3")
ABLATION = ("r2ad2-1", "r2ad2-2", "r2ad2-4")  # r2ad2 stands in for 3 snapshots
BASE_AUC = {"r2ad2": 0.93, "ae": 0.83, "gradcon": 0.75, "deepsad": 0.74, "devnet": 0.92, "a3": 0.86,
            "iforest": 0.80, "r2ad2-1": 0.87, "r2ad2-2": 0.92, "r2ad2-4": 0.92, "a3-2020": 0.90,
            "a3-2020-preprint": 0.91}
# Data set → (offset, transfer?, pollution sweep?)
DATASETS = {"mammography": (0.0, False, False), "nsl_kdd_20": (-0.03, True, True), "mnist": (0.03, True, True),
            "digits": (0.01, False, False)}


def _noise(*key) -> float:
    return float(np.random.default_rng(zlib.crc32(repr(key).encode())).normal(0, 0.01))


def _roc(auc: float) -> dict:
    fpr = np.linspace(0, 1, 11)
    power = max(auc, 0.51) / (1 - max(auc, 0.51) + 1e-3)  # tpr = fpr^(1/power) → area power/(power+1)
    return {"fpr": fpr.round(3).tolist(), "tpr": (fpr ** (1 / power)).round(3).tolist()}


def record(dataset, experiment, method, seed, n=100, p=0.0, *, epochs="paper", roc=False, threshold=False,
           shift=0.0) -> dict:
    auc = min(0.999, BASE_AUC[method] + DATASETS.get(dataset, (0.0,))[0] + shift
              - 0.3 * p - 0.02 * (n < 100) + _noise(dataset, experiment, method, seed, n, p, epochs))
    rec = {"dataset": dataset, "experiment": experiment, "method": method, "seed": seed, "n_anomalies": n,
           "pollution": p, "epochs": epochs, "options": {}, "fit_seconds": 1.5 + _noise(method, seed),
           "val_auc": auc + 0.01, "val_ap": auc - 0.1, "test_auc": auc, "test_ap": auc - 0.12 + _noise(seed, method)}
    if roc:  # a curve whose area is the recorded AUC, as metrics.roc_points stores it
        rec["roc_validation"] = _roc(rec["val_auc"])
        rec["val_auc"] = float(np.trapezoid(rec["roc_validation"]["tpr"], rec["roc_validation"]["fpr"]))
    if threshold:
        rec.update(test_f1=auc - 0.05, test_precision=auc - 0.02, test_recall=auc - 0.08, threshold=0.5)
    return rec


def synthetic_records(*, sweeps: bool = True, transfer: bool = True, ablation: bool = True, a3: bool = True,
                      roc: bool = True) -> list[dict]:
    """Several data sets and methods, 3 seeds: known (+ n/pollution sweeps), transfer, the snapshot
    ablation, A³ experiments with threshold metrics, and validation ROC curves at base cells."""
    recs = []
    methods = PAPER_METHODS + ("iforest",) + (ABLATION if ablation else ())
    for ds, (_, has_transfer, has_pollution) in DATASETS.items():
        cells = [("known", 100, 0.0)]
        if sweeps:
            cells += [("known", n, 0.0) for n in (5, 25)]
            cells += [("known", 100, p) for p in (0.05, 0.1)] if has_pollution else []
        if transfer and has_transfer:
            cells.append(("transfer", 100, 0.0))
        for exp, n, p in cells:
            for method in methods if exp == "known" else PAPER_METHODS:
                for seed in SEEDS:
                    base = n == 100 and p == 0.0
                    recs.append(record(ds, exp, method, seed, n, p, roc=roc and base and ds == "mnist",
                                       shift=-0.1 if exp == "transfer" else 0.0))
    if a3:
        for ds, exp in (("mnist", "a3-1a"), ("mnist", "a3-2a"), ("ids_a3", "a3-1c")):
            for method in ("a3-2020", "a3-2020-preprint", "ae"):
                for seed in SEEDS:
                    recs.append(record(ds, exp, method, seed, 200, roc=roc, threshold=True))
    return recs


def test_records_cover_the_report():
    recs = synthetic_records()
    assert {r["experiment"] for r in recs} == {"known", "transfer", "a3-1a", "a3-2a", "a3-1c"}
    assert {r["seed"] for r in recs} == set(SEEDS)
    assert any("roc_validation" in r for r in recs) and any("test_f1" in r for r in recs)
    assert {r["pollution"] for r in recs} == {0.0, 0.05, 0.1}
    keys = [(r["dataset"], r["experiment"], r["method"], r["seed"], r["n_anomalies"], r["pollution"]) for r in recs]
    assert len(keys) == len(set(keys))
