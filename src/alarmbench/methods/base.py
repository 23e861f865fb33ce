"""The Detector contract every method follows.

Like PyOD: a detector is constructed with its options (keyword parameters, the catalog's defaults
filled in by `methods.build_method`), `fit` on a cell's split, then `score` arrays (higher = more
anomalous). A fit gets everything else it needs from the `runtime.context.Context`:
per-data-set hyperparameters, the experiment seed (all randomness derives from it), the device,
epoch overrides, and a working directory for resumable checkpoints and shared targets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from alarmbench.data.splits import Split
from alarmbench.runtime.context import Context

if TYPE_CHECKING:  # imported where used: the scikit-learn baselines' jobs never load torch (≈ 3 s)
    import torch


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
