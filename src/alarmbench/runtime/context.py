"""The context a fit, a target's training or a feature extraction runs in (`Context`).

Everything a run needs besides its split and its options: per-data-set hyperparameters, the
experiment seed (all randomness derives from it), the device and precision, epoch overrides, and a
working directory for resumable checkpoints and shared targets. It sits below the shared targets,
the feature extractors and the methods, which all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alarmbench.data.spec import HyperParams
from alarmbench.device import autocast as device_autocast
from alarmbench.rng import substream_seed
from alarmbench.runopts import DEFAULTS

if TYPE_CHECKING:  # imported where used: the scikit-learn baselines' jobs never load torch (≈ 3 s)
    import torch


def _cpu() -> torch.device:
    import torch

    return torch.device("cpu")


@dataclass
class Context:
    hparams: HyperParams
    seed: int
    # The CPU-only baselines' jobs (catalog `cpu_only`), which never touch torch, get the string "cpu".
    device: torch.device | str = field(default_factory=_cpu)
    # Epoch override for every training loop of the method (None: the papers' epochs).
    epochs: int | None = None
    # The method options as configured (docs/methods.md#options), e.g. {"gradcon_cosine": "layer"}: part
    # of the fingerprints and the fit's record. A fit never reads them here: they reach the detector's
    # constructor and the target trainers as parameters, defaults filled from the catalog
    # (`methods.build_method`, `catalog.resolved_options`).
    options: dict[str, Any] = field(default_factory=dict)
    # Where resumable checkpoints and shared targets live (None: nothing is kept).
    work_dir: Path | None = None
    # Shared targets elsewhere (the workflow trains them in their own jobs); default: work_dir/targets.
    targets_dir: Path | None = None
    # Cached real-data features: {kind: {part: cache dir}}, e.g. {"gradients": {"train": ...}}.
    features: dict[str, dict[str, Path]] = field(default_factory=dict)
    progress: bool = False
    # Cached training features up to this size are held in (device) memory, larger ones are
    # gathered per batch from the memory-mapped cache (`training_features`).
    feature_memory_bytes: int = int(DEFAULTS.feature_memory_gb * 2**30)
    # runopts.PRECISIONS (`device.set_precision`); only "bf16" changes what the methods do.
    precision: str = DEFAULTS.precision
    # What this run is (code key, options, epochs, input hashes): resumable state records it and is
    # used only when it matches (`loop.Checkpoint`, `targets.cached_state`).
    fingerprint: str = ""
    # Per shared target (file stem), a fingerprint of its own when several methods share a work
    # dir (alarmbench run): the AE of `ae` and `a3` does not depend on which method trained it.
    target_fingerprints: dict[str, str] = field(default_factory=dict)
    # Shared targets (file stems) this run may train and store; None: any (alarmbench run). A
    # workflow job trains only its own target; the others are its declared inputs, read-only.
    trains: frozenset[str] | None = None
    # Seconds between training checkpoint writes (`loop.Checkpoint.every_s`; 0: every epoch).
    checkpoint_every_s: float = DEFAULTS.checkpoint_every_s
    # The job's threads (run.threads): torch's where it trains, recorded with a CPU-only fit's results.
    threads: int = DEFAULTS.threads

    def autocast(self):
        """`device.autocast` for this run's device and precision."""
        return device_autocast(self.device, self.precision)

    def n_epochs(self, paper_default: int) -> int:
        return paper_default if self.epochs is None else int(self.epochs)

    def torch_generator(self, stream: str) -> torch.Generator:
        """A CPU generator for the named sub-stream (shuffling, noise)."""
        import torch

        return torch.Generator().manual_seed(substream_seed(self.seed, stream))

    def device_generator(self, stream: str) -> torch.Generator:
        """A generator on the compute device for the named sub-stream (counter-examples)."""
        import torch

        return torch.Generator(device=self.device).manual_seed(substream_seed(self.seed, stream))

    def feature_cache(self, kind: str, part: str):
        """The on-disk cache (`features.cache.FeatureCache`) of a split part, or None."""
        path = self.features.get(kind, {}).get(part)
        if path is None:
            return None
        from alarmbench.features.cache import FeatureCache

        return FeatureCache(path)

    def score_cached(self, kind: str, part: str, alarm, *, lead: slice = slice(None)) -> np.ndarray | None:
        """`alarm(features)` over a cached split part, streamed one chunk file at a time (bounded
        memory), as float64 NumPy; None when this run has no cache for the part."""
        cache = self.feature_cache(kind, part)
        if cache is None:
            return None
        import torch

        return torch.cat([alarm(torch.from_numpy(arr[:, lead]).to(self.device, torch.float32)).double().cpu()
                          for arr in cache.iter_arrays()]).numpy()

    def training_features(self, kind: str, part: str = "train", *, lead: slice = slice(None)):
        """Training features for random mini-batch access, in the cache's dtype: one tensor on the
        device when they fit `feature_memory_bytes`, else `DiskRows` (memory-mapped, one batch
        in memory at a time), so a job's memory stays bounded whatever the data set's size."""
        cache = self.feature_cache(kind, part)
        if cache is None:
            return None
        if cache.nbytes(lead=lead) <= self.feature_memory_bytes:
            return cache.load(device=self.device, lead=lead)
        from alarmbench.features.cache import DiskRows

        return DiskRows(cache, lead=lead)

    def seed_torch(self, stream: str) -> None:
        """Seed torch's global RNG (weight init, dropout) from the named sub-stream."""
        import torch

        torch.manual_seed(substream_seed(self.seed, stream))

    def checkpoint(self, name: str):
        """A `loop.Checkpoint` under the work dir for this run's fingerprint (None: no work dir)."""
        from alarmbench.runtime.loop import Checkpoint

        path = self.path("checkpoints", f"{name}.ckpt")
        return None if path is None else Checkpoint(path, f"{self.fingerprint}/{name}", self.checkpoint_every_s)

    def may_train(self, target: str) -> bool:
        return self.trains is None or target in self.trains

    def path(self, *parts: str) -> Path | None:
        if parts and parts[0] == "targets" and self.targets_dir is not None:
            p = Path(self.targets_dir).joinpath(*parts[1:])
        elif self.work_dir is None:
            return None
        else:
            p = Path(self.work_dir).joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
