"""Per-sample gradient features of R2-AD2 (docs/methods.md#r2ad2-gradients).

Feature of sample x for snapshot θ: ∂/∂θ of the target's own loss, the Keras BCE between x and
the reconstruction f_θ(x) averaged over all input elements, with the snapshot in inference mode
(dropout off), taken w.r.t. EVERY trainable parameter. Parameter order: `named_parameters()`
order of the target (layer order, weight before bias; see `PerSampleGradients.names`), each
gradient flattened (row-major, PyTorch layout) and concatenated → P values.

Two engines compute the same numbers (tests hold them to a per-sample backward loop):
  "layers" (`layer_grads`): an ordinary backward w.r.t. the layer outputs, then batched
    per-layer products: few large kernels. Dense targets run all k snapshots in one pass;
    Linear/Conv2d/ConvTranspose2d targets otherwise go one snapshot at a time;
  "vmap": torch.func, vmap over grad of the batch-of-one loss, with the k snapshots' parameters
    stacked and vmapped over too: any architecture.
"auto" (default) picks "layers" for dense targets (all k snapshots in one batched pass: 2–3× vmap
on CPU) and vmap otherwise (for the 8-channel conv AE, vmap measured ~20 % faster than "layers").
Output (N, k, P). Inputs are processed in chunks to bound
memory; any target values are accepted (N(0.5, 1) counter-examples go through the same path, on
the fly inside the alarm training loop, on CPU or CUDA).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from alarmbench.features.layer_grads import LayerwiseGradients, StackedDenseGradients, dense_chain, supports
from alarmbench.nets.keras import keras_bce

__all__ = ["PerSampleGradients", "per_sample_gradients", "DEFAULT_CHUNK_BYTES", "ENGINES"]

ENGINES = ("auto", "layers", "vmap")

# Rough bound on the gradient memory of one chunk. CPU: ~100 MB chunks were fastest here (larger
# ones fall out of the allocator's reuse); CUDA: big chunks amortise vmap's Python overhead.
DEFAULT_CHUNK_BYTES = {"cpu": 128 * 2**20, "cuda": 2 * 2**30}

Snapshot = Mapping[str, Tensor] | nn.Module


class PerSampleGradients:
    """Reusable extractor: holds the stacked snapshot parameters on `device`; call it on batches.

    model: a target (defines the architecture; its own parameters are the single snapshot when
      `snapshots` is None). snapshots: k state dicts or modules of the same architecture, in
      training-time order. from_logits: which Keras BCE formula (default: the target's own,
      `model.bce_from_logits`: clipped for the R2-AD2 dense AE, exact for the conv AE).
      engine: "auto" | "layers" | "vmap" (module docstring).
    """

    def __init__(
        self,
        model: nn.Module,
        snapshots: Sequence[Snapshot] | None = None,
        *,
        from_logits: bool | None = None,
        device: str | torch.device | None = None,
        chunk_size: int | None = None,
        chunk_bytes: int | None = None,
        engine: str = "auto",
    ) -> None:
        if from_logits is None:
            from_logits = getattr(model, "bce_from_logits", None)
            if from_logits is None:
                raise ValueError(f"{type(model).__name__} has no BCE loss; pass from_logits explicitly")
        self.from_logits = bool(from_logits)
        first = next(model.parameters())
        self.device = torch.device(device) if device is not None else first.device
        self.dtype = first.dtype
        # A private eval-mode copy supplies the structure (and buffers); parameters come from the
        # snapshots. The caller's model and its train/eval mode are left untouched.
        self._model = copy.deepcopy(model).to(self.device).eval()
        self.names: list[str] = [n for n, p in self._model.named_parameters() if p.requires_grad]
        shapes = dict(self._model.named_parameters())
        self.numels = [shapes[n].numel() for n in self.names]
        self.shapes = [tuple(shapes[n].shape) for n in self.names]
        self.offsets = np.concatenate([[0], np.cumsum(self.numels)]).tolist()
        self.n_params: int = int(self.offsets[-1])
        self._frozen = {n: p.detach() for n, p in self._model.named_parameters() if not p.requires_grad}
        self._buffers = {n: b.detach() for n, b in self._model.named_buffers()}
        states = [model] if snapshots is None else list(snapshots)
        if not states:
            raise ValueError("snapshots must not be empty")
        self.k = len(states)
        sds = [s.state_dict() if isinstance(s, nn.Module) else s for s in states]
        self._stacked = {n: torch.stack([self._param(sd, n) for sd in sds]) for n in self.names}
        if chunk_size is None:
            budget = chunk_bytes or DEFAULT_CHUNK_BYTES.get(self.device.type, DEFAULT_CHUNK_BYTES["cpu"])
            chunk_size = max(16, min(65536, budget // max(1, self.k * self.n_params * 8)))
        self.chunk_size = int(chunk_size)
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
        chain = dense_chain(self._model) if engine != "vmap" else None
        if engine == "auto":  # measured (benchmarks/gradients.py): the batched dense path wins, vmap the conv AE
            engine = "layers" if chain is not None and supports(self._model, self.names) else "vmap"
        self.engine = engine
        # path: how it runs: "layers" batches all k snapshots for dense chains, else goes per snapshot.
        if engine == "vmap":
            self.path = "vmap"
            self._fn = vmap(vmap(grad(self._loss), in_dims=(None, 0)), in_dims=(0, None))
        elif chain is not None:
            self.path = "stacked-dense"
            self._stacked_dense = StackedDenseGradients(self._model, chain, self._stacked, self.names,
                                                        self.offsets, self._sample_losses)
        else:
            self.path = "per-snapshot"
            self._layerwise = [LayerwiseGradients(self._snapshot_copy(j), self.names, self._sample_losses)
                               for j in range(self.k)]

    def _snapshot_copy(self, j: int) -> nn.Module:
        m = copy.deepcopy(self._model)
        with torch.no_grad():
            for n in self.names:
                m.get_parameter(n).copy_(self._stacked[n][j])
        return m

    def _sample_losses(self, z: Tensor, x: Tensor) -> Tensor:
        pred = z if self.from_logits else torch.sigmoid(z)
        return keras_bce(pred, x, from_logits=self.from_logits, reduction="per_sample")

    def _param(self, sd: Mapping[str, Tensor], name: str) -> Tensor:
        if name not in sd:
            raise KeyError(f"snapshot lacks parameter {name!r}")
        t = sd[name].detach().to(self.device, self.dtype)
        want = self._model.get_parameter(name).shape
        if t.shape != want:
            raise ValueError(f"snapshot parameter {name!r} has shape {tuple(t.shape)}, expected {tuple(want)}")
        return t

    def _loss(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        xb = x.unsqueeze(0)  # batch of one, as the original's per-sample computation
        z = functional_call(self._model, {**params, **self._frozen, **self._buffers}, (xb,))
        pred = z if self.from_logits else torch.sigmoid(z)
        return keras_bce(pred, xb, from_logits=self.from_logits)

    def _chunk(self, x: Tensor, out: Tensor) -> None:
        """Gradients of one chunk written into `out` (n, k, P), converting dtype on the copy."""
        n = x.shape[0]
        if self.path == "stacked-dense":
            self._stacked_dense(x, out)
            return
        if self.path == "per-snapshot":
            for j, fn in enumerate(self._layerwise):
                grads = fn(x)
                for name, shape, lo, hi in zip(self.names, self.shapes, self.offsets[:-1], self.offsets[1:], strict=True):
                    out[:, j, lo:hi].view(n, *shape).copy_(grads[name])  # one strided copy, no reshape first
            return
        grads = self._fn(self._stacked, x)
        for name, lo, hi in zip(self.names, self.offsets[:-1], self.offsets[1:], strict=True):
            out[:, :, lo:hi].copy_(grads[name].reshape(self.k, n, hi - lo).transpose(0, 1))

    def iter_chunks(
        self,
        x: Tensor | np.ndarray,
        *,
        out_dtype: torch.dtype | None = None,
        out_device: str | torch.device | None = None,
        reuse_buffer: bool = False,
    ) -> Iterator[Tensor]:
        """Yield (n_chunk, k, P) gradient blocks for consecutive chunks of `x` (streaming).

        reuse_buffer: yield the same output buffer every time (valid only until the next
        iteration), for consumers that copy it away at once, e.g. `FeatureCacheWriter.append`;
        avoids a fresh allocation (and its page faults) per chunk.
        """
        out_dtype = out_dtype or self.dtype
        out_device = torch.device(out_device) if out_device is not None else self.device
        x = torch.as_tensor(x)
        buf: Tensor | None = None
        with torch.no_grad():
            for lo in range(0, x.shape[0], self.chunk_size):
                xc = x[lo : lo + self.chunk_size].to(self.device, self.dtype)
                n = xc.shape[0]
                if buf is None or not reuse_buffer or buf.shape[0] < n:
                    # Cast on the compute device before any transfer (halves the bytes for fp16).
                    buf = torch.empty(n, self.k, self.n_params, dtype=out_dtype, device=self.device)
                self._chunk(xc, buf[:n])
                yield buf[:n].to(out_device)

    def __call__(
        self,
        x: Tensor | np.ndarray,
        *,
        out_dtype: torch.dtype | None = None,
        out_device: str | torch.device | None = None,
    ) -> Tensor:
        """All gradients of `x` as one (N, k, P) tensor."""
        out_dtype = out_dtype or self.dtype
        out_device = torch.device(out_device) if out_device is not None else self.device
        x = torch.as_tensor(x)
        if out_device == self.device:
            out = torch.empty(x.shape[0], self.k, self.n_params, dtype=out_dtype, device=self.device)
            with torch.no_grad():
                for lo in range(0, x.shape[0], self.chunk_size):
                    xc = x[lo : lo + self.chunk_size].to(self.device, self.dtype)
                    self._chunk(xc, out[lo : lo + xc.shape[0]])
            return out
        return torch.cat(list(self.iter_chunks(x, out_dtype=out_dtype, out_device=out_device)))


def per_sample_gradients(
    model: nn.Module,
    x: Tensor | np.ndarray,
    snapshots: Sequence[Snapshot] | None = None,
    **kw,
) -> Tensor:
    """One-shot helper: (N, P) for the model itself, (N, k, P) for a list of k snapshots.
    Keyword arguments go to `PerSampleGradients` (from_logits, device, chunk_size)."""
    g = PerSampleGradients(model, snapshots, **kw)(x)
    return g[:, 0] if snapshots is None else g


def snapshot_gradient_rows(split, ctx, **chain_options):
    """The `gradients` feature (catalog): per-sample gradients of the shared 4-snapshot chain
    (trained under `chain_options`, the target's options), as (row shape, parameter names, chunk
    iterator) for the feature cache."""
    from alarmbench.targets.training import snapshot_chain
    from alarmbench.nets.targets import r2ad2_target

    extractor = PerSampleGradients(r2ad2_target(split.x_train.shape[1:], ctx.hparams.encoder),
                                   snapshot_chain(split, ctx, **chain_options), device=ctx.device)
    return (4, extractor.n_params), extractor.names, extractor.iter_chunks
