"""The fit context of a job, built the same way for the workflow's jobs and `alarmbench run`."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from alarmbench.data import registry
from alarmbench.data.spec import HyperParams, default_hparams
from alarmbench.data.splits import Split
from alarmbench.fileio import sha256_file
from alarmbench.runopts import RunSettings
from alarmbench.stagelog import describe_split

log = logging.getLogger(__name__)

# Run keys that change how a job runs, never what it computes: left out of its fingerprint, so that
# changing them keeps its checkpoints and stored targets (and out of the rules' params: no rerun).
NOT_FINGERPRINTED = frozenset({"checkpoint_every_s", "feature_memory_gb"})


def hparams_for(dataset: str, split: Split, user: dict | None = None) -> HyperParams:
    """The registry's hyperparameters, else the documented rule sized by the prepared table (its
    rows, as recorded in the split; the same for every cell of the data set)."""
    spec = registry.get(dataset, user)
    if spec.hparams:
        return spec.hparams
    rows = split.meta.get("inputs", {}).get("prepared_rows")
    if rows is None:  # a split written before the table size was recorded
        rows = len(split.x_train) + len(split.x_val) + len(split.x_test)
    return default_hparams(int(np.prod(split.x_train.shape[1:])), int(rows))


def _digest(path: Path) -> str:
    """Content hash of an input file, or of a feature cache folder's header (which hashes its source)."""
    path = Path(path)
    return sha256_file(path / "header.json" if path.is_dir() else path)


def describe_cache(path) -> str:
    """A feature cache folder: rows × row shape and dtype (its header; no rows are read)."""
    from alarmbench.features.cache import FeatureCache

    cache = FeatureCache(path)
    return f"{'×'.join(str(d) for d in (cache.n_rows, *cache.row_shape))} {cache.dtype}"


def job_fingerprint(code: str, run: dict, inputs: list[str | Path] = ()) -> str:
    """What a job is: its code key, run options (epochs, device, precision, threads, method options)
    and its inputs' contents. Resumable state is used only under the same fingerprint."""
    run = {k: v for k, v in run.items() if k not in NOT_FINGERPRINTED}
    payload = {"code": code, "run": run, "inputs": {str(p): _digest(p) for p in inputs}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def job_context(split: Split, *, dataset: str, seed: int, run: dict, targets_dir: str | Path | None,
                work_dir: str | Path | None = None, features: dict | None = None, user: dict | None = None,
                fingerprint: str = "", trains: frozenset[str] | None = frozenset(), progress: bool = False,
                method: str | None = None):
    """A `runtime.context.Context` for one job; `run` is its run mapping (`runopts.RunSettings`:
    epochs, device, precision, threads, options, the checkpoint interval …, defaults filled there).

    `trains`: the shared targets (file stems) the job may train; the empty default reads every
    target as an input. `method`: the fit's method; a CPU-only one runs on the CPU whatever
    run.device says (its job claims no GPU, so a cluster runs it where CUDA may be absent).
    Sets torch's threads and precision for the process, and logs them with the shapes of the split
    and of the feature caches the job reads.
    """
    from alarmbench.methods import cpu_only
    from alarmbench.runtime.context import Context

    settings = RunSettings.from_run(run)
    precision, every_s = settings.precision, float(settings.checkpoint_every_s)
    if method and cpu_only(method):
        # The scikit-learn baselines never touch torch: importing it would cost their job ≈ 3 s CPU.
        device, name, threads = "cpu", "", int(settings.threads)
    else:
        import torch

        from alarmbench.device import resolve_device, set_precision

        torch.set_num_threads(int(settings.threads))
        set_precision(precision)
        device = resolve_device(settings.device)
        name = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
        threads = torch.get_num_threads()
    log.info("device %s%s, precision %s, torch threads %d, epochs %s, checkpoint every %g s", device, name,
             precision, threads, settings.epochs or "the papers'", every_s)
    log.info("split: %s", describe_split(split))
    hparams = hparams_for(dataset, split, user)
    log.info("hyperparameters: %s", hparams)
    for kind, parts in (features or {}).items():
        log.info("features %s: %s", kind, ", ".join(f"{p} {describe_cache(d)}" for p, d in parts.items()))
    return Context(hparams=hparams, seed=seed, device=device,
                   epochs=settings.epochs, options=dict(settings.options),
                   work_dir=Path(work_dir) if work_dir else None,
                   targets_dir=Path(targets_dir) if targets_dir else None,
                   features={k: {p: Path(v) for p, v in parts.items()} for k, parts in (features or {}).items()},
                   feature_memory_bytes=int(float(settings.feature_memory_gb) * 2**30), precision=precision,
                   fingerprint=fingerprint, trains=trains, progress=progress, checkpoint_every_s=every_s,
                   threads=threads)
