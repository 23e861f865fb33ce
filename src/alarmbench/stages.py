"""The workflow's stages as library functions: each Snakemake script calls exactly one of these.

fetch → prepare → split → train_target → extract → fit_score → evaluate (→ aggregate, report).
Everything here is importable and testable without Snakemake.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from alarmbench.data import registry
from alarmbench.data.prepare import Prepared, fetch, load
from alarmbench.data.splits import Split, SplitParams, make_split
from alarmbench.fileio import sha256_file, write_json, write_npz

# torch, scikit-learn and the methods are imported inside the stages that need them: every job is
# a new process, and their import time is most of a short job's cost.

# Shared targets: trained once per (data set, class group, pollution, seed) by their own jobs.
# name -> (file the trainer stores, methods that need it)
TARGETS = {
    "ae": ("ae.pt", ("ae", "a3")),
    "gaa": ("gaa_snapshots_k4.pt", ("r2ad2", "r2ad2-1", "r2ad2-2", "r2ad2-3", "r2ad2-4")),
    "deepsvdd_ae": ("deepsvdd_ae.pt", ("deepsad",)),
    "deepsvdd": ("deepsvdd.pt", ("deepsvdd",)),
    "a3_ae": ("a3_ae.pt", ("a3-2020",)),
    "gradcon": ("gradcon_elementwise.pt", ("gradcon",)),
}
# Cached real-data features: kind -> (target it comes from, methods that read it)
FEATURES = {"gradients": ("gaa", TARGETS["gaa"][1]), "activations": ("ae", ("a3",))}


def targets_for(method: str) -> list[str]:
    return [name for name, (_, users) in TARGETS.items() if method in users]


def features_for(method: str) -> list[str]:
    return [kind for kind, (_, users) in FEATURES.items() if method in users]


def target_file(name: str, options: dict | None = None) -> str:
    """The file a target's trainer stores, which depends on some method options."""
    options = options or {}
    if name == "gradcon":
        return f"gradcon_{options.get('gradcon_cosine', 'elementwise')}.pt"
    if name == "gaa":
        carry = "" if options.get("fresh_optimizer_at_snapshots", True) else "_carry"
        return f"gaa_snapshots_k4{carry}{'_redraw' if options.get('holdout_redraw') else ''}.pt"
    return TARGETS[name][0]


# ------------------------------------------------------------------------------------------- data


def fetch_stage(dataset: str, raw_dir: str, mirror: str | None, manifest: str, user: dict | None = None) -> None:
    from alarmbench.data.api import lock_for

    spec = registry.get(dataset, user)
    raw_root = Path(raw_dir)
    source, files = fetch(spec, raw_root / dataset, mirror=mirror, lock=lock_for(raw_root))
    write_json(manifest, {"dataset": dataset, "loader": source.loader,
                          "files": {n: {"path": str(p), "sha256": sha256_file(p)} for n, p in sorted(files.items())}})


def prepare_stage(dataset: str, manifest: str, out: str, user: dict | None = None) -> None:
    spec = registry.get(dataset, user)
    info = json.loads(Path(manifest).read_text())
    source = next(s for s in spec.sources if s.loader == info["loader"])
    load(spec, source, {n: Path(f["path"]) for n, f in info["files"].items()}).save(out)


def split_stage(prepared: str, dataset: str, experiment: str, seed: int, n_anomalies: int, pollution: float,
                protocol: dict, out_npz: str, out_json: str, user: dict | None = None) -> None:
    prep = Prepared.load(prepared)
    spec = registry.get(dataset, user)
    params = SplitParams(spec.preset(experiment), seed=seed, n_train_anomalies=n_anomalies, pollution=pollution,
                         scaling=spec.scaling, **protocol)
    make_split(prep, params, experiment=experiment).save(out_npz, out_json)


# ------------------------------------------------------------------------------------------- models


def context(split: Split, dataset: str, seed: int, run: dict, *, targets_dir: str, work_dir: str | None = None,
            features: dict | None = None, user: dict | None = None):
    """The fit context of a workflow job; `run` holds epochs, device, threads and method options."""
    import torch

    from alarmbench.device import resolve_device, set_precision
    from alarmbench.methods import Context

    torch.set_num_threads(int(run.get("threads", 1)))
    precision = run.get("precision", "tf32")
    set_precision(precision)
    spec = registry.get(dataset, user)
    n_features = int(np.prod(split.x_train.shape[1:]))
    from alarmbench.data.spec import default_hparams

    hparams = spec.hparams or default_hparams(n_features, len(split.x_train) + len(split.x_val) + len(split.x_test))
    return Context(hparams=hparams, seed=seed, device=resolve_device(run.get("device")), epochs=run.get("epochs"),
                   options=dict(run.get("options", {})), work_dir=Path(work_dir) if work_dir else None,
                   targets_dir=Path(targets_dir), features={k: {p: Path(v) for p, v in parts.items()}
                                                            for k, parts in (features or {}).items()},
                   feature_memory_bytes=int(float(run.get("feature_memory_gb", 4)) * 2**30), precision=precision)


def train_target_stage(split_npz: str, dataset: str, seed: int, target: str, run: dict, out: str,
                       user: dict | None = None) -> None:
    """Train one shared target into the directory of `out` (the file its trainer stores)."""
    from alarmbench.methods import build_method
    from alarmbench.methods.targets import snapshot_family, trained_ae

    split = Split.load(split_npz)
    ctx = context(split, dataset, seed, run, targets_dir=str(Path(out).parent), user=user)
    if target == "ae":
        trained_ae(split, ctx)
    elif target == "gaa":
        snapshot_family(split, ctx, 4)
    elif target == "deepsvdd_ae":
        from alarmbench.methods.deepsad import pretrained_deepsvdd_ae

        pretrained_deepsvdd_ae(split, ctx)
    elif target == "a3_ae":
        from alarmbench.methods.a3 import a3_target

        a3_target(split, ctx)
    elif target in ("gradcon", "deepsvdd"):  # unsupervised methods: the trained method is the target
        build_method(target).fit(split, ctx)
    else:
        raise ValueError(f"unknown target {target!r}; known: {sorted(TARGETS)}")
    if not Path(out).exists():
        raise RuntimeError(f"training target {target!r} did not produce {out}")


def extract_stage(split_npz: str, dataset: str, seed: int, kind: str, run: dict, targets_dir: str,
                  out_dirs: dict[str, str], user: dict | None = None) -> None:
    """Cache the real-data features of train/val/test (fp16 by default) for the alarm methods."""
    import torch

    from alarmbench.features.cache import FeatureCacheWriter, checkpoint_sources
    from alarmbench.features.activations import iter_activations
    from alarmbench.features.gradients import PerSampleGradients
    from alarmbench.methods.targets import snapshot_family, trained_ae
    from alarmbench.nets.targets import r2ad2_target

    split = Split.load(split_npz)
    ctx = context(split, dataset, seed, run, targets_dir=targets_dir, user=user)
    source = Path(targets_dir) / target_file(FEATURES[kind][0], run.get("options"))
    if kind == "gradients":
        snaps = snapshot_family(split, ctx, 4)
        extractor = PerSampleGradients(r2ad2_target(split.x_train.shape[1:], ctx.hparams.encoder), snaps,
                                       device=ctx.device)
        row_shape, names, chunks = (4, extractor.n_params), extractor.names, extractor.iter_chunks
    elif kind == "activations":
        ae = trained_ae(split, ctx)
        row_shape, names = (ae.n_activations(),), []
        chunks = lambda x, **kw: iter_activations(ae, x, **kw)  # noqa: E731
    else:
        raise ValueError(f"unknown feature kind {kind!r}; known: {sorted(FEATURES)}")
    dtype = run.get("feature_dtype", "float16")
    for part, out in out_dirs.items():
        x = getattr(split, f"x_{part}")
        with FeatureCacheWriter(out, row_shape, dtype=dtype, names=names, sources=checkpoint_sources([source]),
                                expected_rows=len(x), overwrite=True, meta={"part": part, "kind": kind}) as w:
            for block in chunks(torch.as_tensor(x), out_device="cpu"):
                w.append(block)


def fit_score_stage(split_npz: str, dataset: str, seed: int, method: str, run: dict, targets_dir: str,
                    features: dict, work_dir: str, out_scores: str, out_info: str, user: dict | None = None) -> None:
    import time

    import torch

    from alarmbench.methods import build_method

    split = Split.load(split_npz)
    ctx = context(split, dataset, seed, run, targets_dir=targets_dir, work_dir=work_dir, features=features,
                  user=user)
    detector = build_method(method)
    start = time.perf_counter()
    detector.fit(split, ctx)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = {part: np.asarray(detector.score_split(split, part), dtype=np.float64) for part in ("val", "test")}
    write_npz(out_scores, **scores)
    write_json(out_info, {"fit_seconds": round(fit_seconds, 3), "score_seconds": round(time.perf_counter() - start, 3),
                          "device": str(ctx.device), "precision": ctx.precision, "threads": torch.get_num_threads(),
                          **getattr(detector, "versions", {})})


def evaluate_stage(split_npz: str, methods: list[str], scores_npz: list[str], info_json: list[str], cell: dict,
                   max_fpr: float | None, out: str) -> None:
    """Metrics of every method of one cell, written as one JSON list: AUC/AP on val and test, the
    validation ROC, and (A3 protocol) F1/precision/recall on test at the threshold chosen on the
    validation ROC under `max_fpr`. One job per cell, not per method: the metrics take
    milliseconds, a job's start-up (Python, scikit-learn) about two seconds of CPU."""
    split = Split.load(split_npz)
    records = [evaluate_record(split, scores, info, {**cell, "method": method}, max_fpr)
               for method, scores, info in zip(methods, scores_npz, info_json, strict=True)]
    write_json(out, records)


def evaluate_record(split: Split, scores_npz: str, info_json: str, cell: dict, max_fpr: float | None) -> dict:
    """The metrics record of one (cell, method)."""
    from alarmbench.evaluate.metrics import ranking_metrics, roc_points, threshold_at_max_fpr, threshold_metrics

    with np.load(scores_npz) as z:
        scores = {part: z[part] for part in ("val", "test")}
    record = dict(cell) | json.loads(Path(info_json).read_text())
    what = "{dataset}/{experiment}/n{n_anomalies}_p{pollution}/seed{seed} {method}".format(**cell)
    # A small table's validation part may hold no anomaly (ADBench WBC: 9 rows): its metrics are
    # then undefined (NaN) and nothing is chosen on it; the test metrics are what is reported.
    parts = [("test", split.a_test)] + ([("val", split.a_val)] if len(np.unique(split.a_val)) > 1 else [])
    for part, labels in parts:
        for key, value in ranking_metrics(labels, scores[part], f"{what} {part}").items():
            record[f"{part}_{key}"] = value
    if len(parts) == 1:
        record.update(val_auc=float("nan"), val_ap=float("nan"))
        print(f"{what}: the validation part has a single class; validation metrics, ROC and threshold skipped")
        return record
    record["roc"] = roc_points(split.a_val, scores["val"])
    if max_fpr is not None:
        threshold = threshold_at_max_fpr(split.a_val, scores["val"], max_fpr)
        for key, value in threshold_metrics(split.a_test, scores["test"], threshold).items():
            record[f"test_{key}" if key != "threshold" else key] = value
        record["max_fpr"] = max_fpr
    return record
