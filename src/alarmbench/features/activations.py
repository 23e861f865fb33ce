"""Hidden-activation features of a target (the A³/A3v2 alarm input, docs/methods.md#a3): the outputs of the
target's activation layers, each flattened per sample, concatenated in layer order → (N, A).

Extraction runs in inference mode (A3v2, and A³ at prediction time). A³-2020's alarm *training*
sees the target in training mode (its dropout active, docs/methods.md#a3-2020): call `flatten_activations(
model.hidden_activations(x))` with the target in train mode inside the training loop for that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from alarmbench.nets.base import TargetNet

__all__ = ["flatten_activations", "iter_activations", "extract_activations"]


def flatten_activations(acts: Sequence[Tensor]) -> Tensor:
    """(B, ...) tensors → one (B, Σ sizes) tensor, in the given (layer) order."""
    return torch.cat([a.reshape(a.shape[0], -1) for a in acts], dim=1)


def iter_activations(
    model: TargetNet,
    x: Tensor | np.ndarray,
    *,
    chunk_size: int = 4096,
    out_dtype: torch.dtype | None = None,
    out_device: str | torch.device | None = None,
) -> Iterator[Tensor]:
    """Yield (n_chunk, A) activation blocks for consecutive chunks of `x` (streaming).

    Computed on the model's device in inference mode; the model's train/eval mode is restored
    afterwards. Chunks are cast to `out_dtype` on the compute device before any transfer.
    """
    p = next(model.parameters())
    out_device = torch.device(out_device) if out_device is not None else p.device
    x = torch.as_tensor(x)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():  # not inference_mode: its tensors could not feed a trained alarm
            for lo in range(0, x.shape[0], chunk_size):
                xc = x[lo : lo + chunk_size].to(p.device, p.dtype)
                a = flatten_activations(model.hidden_activations(xc))
                yield a.to(dtype=out_dtype or a.dtype).to(out_device)
    finally:
        model.train(was_training)


def extract_activations(model: TargetNet, x: Tensor | np.ndarray, **kw) -> Tensor:
    """All activations of `x` as one (N, A) tensor (see `iter_activations` for the options)."""
    chunks = list(iter_activations(model, x, **kw))
    if not chunks:
        p = next(model.parameters())
        return torch.empty(0, model.n_activations(), dtype=kw.get("out_dtype") or p.dtype)
    return torch.cat(chunks)


def ae_activation_rows(split, ctx):
    """The `activations` feature (catalog): hidden activations of the shared AE target, as (row
    shape, names, chunk iterator) for the feature cache."""
    from alarmbench.targets.training import trained_ae

    ae = trained_ae(split, ctx)
    return (ae.n_activations(),), [], lambda x, **kw: iter_activations(ae, x, **kw)
