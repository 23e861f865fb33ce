"""AE baseline (docs/methods.md#ae): reconstruction error of the shared R2-AD2 autoencoder (docs/methods.md#targets).

The AE is the one `trained_ae` trains and caches (all normal training rows, BCE, Adam 1e-3, 100
epochs), the same model A3v2 uses as its target. Score = mean over all input elements of
(sigmoid(f(x)) − x)², in inference mode (the original's MSE; the paper's squared L2 norm ranks
the same).
"""

from __future__ import annotations

import numpy as np
import torch

from alarmbench.data.splits import Split
from alarmbench.methods.base import Detector
from alarmbench.runtime.context import Context
from alarmbench.targets.training import trained_ae
from alarmbench.nets.base import TargetNet

__all__ = ["AEScore", "reconstruction_mse"]


@torch.no_grad()
def reconstruction_mse(model: TargetNet, x: np.ndarray | torch.Tensor, *, chunk_size: int = 4096) -> np.ndarray:
    """Per-sample mean over all elements of (sigmoid(f(x)) − x)², inference mode, chunked → (N,) float64."""
    p = next(model.parameters())
    was_training = model.training
    model.eval()
    x = torch.as_tensor(x)
    out = []
    try:
        for lo in range(0, x.shape[0], chunk_size):
            xc = x[lo : lo + chunk_size].to(p.device, torch.float32)
            err = (torch.sigmoid(model(xc)) - xc).pow(2)
            out.append(err.reshape(len(xc), -1).mean(dim=1).double().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros(0)


class AEScore(Detector):
    """Reconstruction-error baseline "AE" (unsupervised: only the normal training rows are used)."""

    name = "ae"

    def fit(self, split: Split, ctx: Context) -> AEScore:
        self.model = trained_ae(split, ctx)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return reconstruction_mse(self.model, x)
