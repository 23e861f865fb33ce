"""The Detector contract every method follows, and the context a fit runs in.

Like PyOD: `fit` on a cell's split, then `score` arrays (higher = more anomalous). A fit gets
everything else it needs from the `Context`: per-data-set hyperparameters, the experiment seed
(all randomness derives from it), the device, epoch overrides, the faithfulness switches, and a
working directory for resumable checkpoints and shared targets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alarmbench.data.spec import HyperParams
from alarmbench.data.splits import Split
from alarmbench.device import autocast as device_autocast
from alarmbench.rng import substream_seed

if TYPE_CHECKING:  # imported where used: the scikit-learn baselines' jobs never load torch (≈ 3 s)
    import torch

# Seconds between checkpoint writes unless the run says otherwise: defined in the torch-free runopts.
from alarmbench.runopts import DEFAULT_CHECKPOINT_EVERY_S  # noqa: E402,F401 (re-exported)


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
    # Method options and faithfulness switches (docs/methods.md#options), e.g. {"gradcon_cosine": "layer"}.
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
    feature_memory_bytes: int = 4 * 2**30
    # "fp32" | "tf32" | "bf16" (`device.set_precision`); only "bf16" changes what the methods do.
    precision: str = "tf32"
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
    checkpoint_every_s: float = DEFAULT_CHECKPOINT_EVERY_S
    # The job's threads (run.threads): torch's where it trains, recorded with a CPU-only fit's results.
    threads: int = 1

    def autocast(self):
        """`device.autocast` for this run's device and precision."""
        return device_autocast(self.device, self.precision)

    def option(self, key: str, default: Any) -> Any:
        return self.options.get(key, default)

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
        from alarmbench.methods.loop import Checkpoint

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


class NoKnownAnomaliesError(ValueError):
    """A semi-supervised method needs at least one labelled anomaly (the original fails, the run is skipped)."""


def counterexamples(n: int, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """The anomaly network of A3 and R2-AD2: i.i.d. N(0.5, 1) entries with the input's shape."""
    import torch

    return torch.randn((n, *shape), generator=generator, device=generator.device) + 0.5


class Detector(ABC):
    """fit(split, ctx) once, then score(x) any number of times; higher score = more anomalous."""

    name: str = "detector"

    @abstractmethod
    def fit(self, split: Split, ctx: Context) -> "Detector": ...

    @abstractmethod
    def score(self, x: np.ndarray) -> np.ndarray: ...

    def score_split(self, split: Split, part: str) -> np.ndarray:
        """Scores of a split's "val" or "test" rows (methods with cached features override this)."""
        return self.score(getattr(split, f"x_{part}"))
