"""GradCon (Kwon et al., ECCV 2020) as the R2-AD2 repository implements it (docs/methods.md#gradcon).

A fresh autoencoder of the R2-AD2 architecture (dense: docs/methods.md#target-dense, conv: docs/methods.md#target-conv; Keras `clone_model`
re-initialises, so NOT the pretrained AE) is trained on the normal training rows with

    L = MSE(f(x), x) + 0.03 · (1/K) Σ_ℓ S(g_ℓ, A_ℓ),

g_ℓ = ∂MSE/∂W_ℓ for the K decoder kernels (weights only, kept differentiable: the second-order
term is trained), A_ℓ the cumulative mean over all mini-batches so far of ∂L/∂W_ℓ (the TOTAL
loss; zero before the first batch, when the gradient term is skipped), S = −cosine.

Score (inference mode, per sample): MSE(f(x), x) + 0.12 · (1/K) Σ_ℓ S(∂MSE(x)/∂W_ℓ, A_ℓ),
computed for a whole chunk at once with torch.func (vmap over grad_and_value).

Option `gradcon_cosine` (a constructor parameter; its default in methods/catalog.py):
  "elementwise" (the default, the published numbers): the original reshapes the gradients to (n, 1)
    before Keras' cosine, whose reduction axis is the size-1 last axis, so every ELEMENT is
    l2-normalised on its own (tf.math.l2_normalize: v·rsqrt(max(v², 1e-12)) = v/max(|v|, 1e-6))
    and S = −mean_i s(g_i)·s(A_i), a negative sign-agreement ratio.
  "layer": the intended GradCon, S = −cosine of the whole flattened layer gradients.

The trained model and A depend only on the normal training rows, so they are stored as a shared
target (`targets/gradcon_<variant>.pt` under the work dir) and training checkpoints every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad_and_value, vmap

from alarmbench.data.splits import Split
from alarmbench.methods.base import Detector
from alarmbench.methods.catalog import METHODS
from alarmbench.runtime.context import Context
from alarmbench.runtime.loop import fit_epochs
from alarmbench.targets.files import gradcon_stem
from alarmbench.targets.training import as_tensor, cached_state, keras_adam, sample_shape
from alarmbench.nets.base import TargetNet
from alarmbench.nets.targets import r2ad2_target

__all__ = [
    "COSINE_VARIANTS",
    "SCORE_WEIGHT",
    "TRAIN_WEIGHT",
    "GradCon",
    "RunningGradient",
    "build_gradcon_ae",
    "decoder_kernel_names",
    "gradient_similarity",
    "train_gradcon",
]  # fmt: skip

TRAIN_WEIGHT = 0.03  # weight of the gradient term in the training loss
SCORE_WEIGHT = 0.12  # weight of the gradient term in the anomaly score
L2_EPSILON = 1e-12  # tf.math.l2_normalize's epsilon (on the squared norm)
# Declared, with the default, in methods/catalog.py (option gradcon_cosine).
COSINE_VARIANTS = next(o.choices for o in METHODS["gradcon"].options if o.name == "gradcon_cosine")

_KERNEL_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def _l2_normalize(v: Tensor, dim: int | None) -> Tensor:
    """tf.math.l2_normalize: v · rsqrt(max(Σ v², 1e-12)) over `dim` (None: each element alone)."""
    sq = v * v if dim is None else (v * v).sum(dim=dim, keepdim=True)
    return v * torch.rsqrt(torch.clamp_min(sq, L2_EPSILON))


def gradient_similarity(g: Tensor, a: Tensor, variant: str) -> Tensor:
    """S(g, A) = Keras cosine-similarity loss (−cosine) between two gradients of one layer.

    elementwise: −mean_i(s(g_i)·s(A_i)), s(v) = v / max(|v|, 1e-6) (the original's (n, 1) reshape);
    layer: −⟨g/‖g‖, A/‖A‖⟩ over the flattened layer. Works on unbatched tensors (inside vmap too).
    """
    g, a = g.reshape(-1), a.reshape(-1)
    if variant == "elementwise":
        return -(_l2_normalize(g, None) * _l2_normalize(a, None)).mean()
    if variant == "layer":
        return -(_l2_normalize(g, 0) * _l2_normalize(a, 0)).sum()
    raise ValueError(f"unknown gradcon_cosine {variant!r}; expected one of {COSINE_VARIANTS}")


def decoder_kernel_names(model: TargetNet) -> list[str]:
    """Parameter names of the decoder kernels (Dense/Conv weights; biases excluded), in layer order."""
    return [f"decoder.{name}.weight" for name, m in model.decoder.named_modules() if isinstance(m, _KERNEL_LAYERS)]


def build_gradcon_ae(shape: Sequence[int], encoder: tuple[int, ...] | str, **kw) -> TargetNet:
    """A freshly initialised R2-AD2 AE (dense for tabular dims, the 8C3-8C3-8 conv AE for "conv")."""
    dims = 8 if encoder == "conv" else tuple(encoder)
    return r2ad2_target(tuple(shape), dims, **kw)


class RunningGradient(nn.Module):
    """A_ℓ: per decoder kernel, the cumulative mean of the total-loss gradients of all batches seen."""

    def __init__(self, shapes: Sequence[torch.Size]) -> None:
        super().__init__()
        self.n_layers = len(shapes)
        for i, shape in enumerate(shapes):
            self.register_buffer(f"avg{i}", torch.zeros(shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def averages(self) -> list[Tensor]:
        return [getattr(self, f"avg{i}") for i in range(self.n_layers)]

    @torch.no_grad()
    def update(self, grads: Sequence[Tensor], seen: int | None = None) -> None:
        """A ← A + (g − A)/(n + 1): the mean over all n + 1 batches including this one.

        `seen` = n when the caller tracks it (saves reading the counter back from the device)."""
        n = int(self.count) if seen is None else int(seen)
        self.count += 1
        torch._foreach_lerp_(self.averages(), list(grads), 1.0 / (n + 1))


class GradCon(Detector):
    """GradCon baseline: fit on the normal training rows, score = reconstruction + gradient term."""

    name = "gradcon"

    score_chunk = 2048  # rows per scoring chunk (memory only: the scores are the same)

    def __init__(self, *, gradcon_cosine: str) -> None:
        if gradcon_cosine not in COSINE_VARIANTS:
            raise ValueError(f"unknown gradcon_cosine {gradcon_cosine!r}; expected one of {COSINE_VARIANTS}")
        self.variant = str(gradcon_cosine)
        self.model: TargetNet | None = None
        self.running: RunningGradient | None = None
        self.kernel_names: list[str] = []

    # --- training -------------------------------------------------------------------------------

    def _build(self, split: Split, ctx: Context) -> tuple[TargetNet, RunningGradient]:
        model = build_gradcon_ae(sample_shape(split), ctx.hparams.encoder).to(ctx.device)
        self.kernel_names = decoder_kernel_names(model)
        params = dict(model.named_parameters())
        running = RunningGradient([params[n].shape for n in self.kernel_names]).to(ctx.device)
        return model, running

    def fit(self, split: Split, ctx: Context, *, epochs: int = 100) -> GradCon:
        n_epochs = ctx.n_epochs(epochs)

        def train(checkpoint):
            ctx.seed_torch("gradcon/init")
            model, running = self._build(split, ctx)
            train_gradcon(model, running, as_tensor(split.train_target, ctx), ctx, variant=self.variant,
                          epochs=n_epochs, kernel_names=self.kernel_names, checkpoint=checkpoint)
            return {"model": model.state_dict(), "running": running.state_dict()}

        state = cached_state(ctx, gradcon_stem(self.variant), train)
        self.model, self.running = self._build(split, ctx)
        self.model.load_state_dict(state["model"])
        self.running.load_state_dict(state["running"])
        self.model.eval()
        return self

    # --- scoring --------------------------------------------------------------------------------

    def _per_sample(self):
        model, names, variant = self.model, self.kernel_names, self.variant
        fixed = {n: p.detach() for n, p in model.named_parameters() if n not in names}
        fixed |= {n: b.detach() for n, b in model.named_buffers()}
        averages = self.running.averages()

        def rec_loss(kernels: dict[str, Tensor], x: Tensor) -> Tensor:
            xb = x.unsqueeze(0)  # a batch of one, as the original's per-sample score
            z = functional_call(model, {**fixed, **kernels}, (xb,))
            return F.mse_loss(torch.sigmoid(z), xb)

        def one(kernels: dict[str, Tensor], x: Tensor) -> Tensor:
            grads, rec = grad_and_value(rec_loss)(kernels, x)
            sims = torch.stack([gradient_similarity(grads[n], a, variant) for n, a in zip(names, averages)])
            return rec + SCORE_WEIGHT * sims.mean()

        kernels = {n: model.get_parameter(n).detach() for n in names}
        batched = vmap(one, in_dims=(None, 0))
        return lambda x: batched(kernels, x)

    def score(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("GradCon.score called before fit")
        self.model.eval()
        device = next(self.model.parameters()).device
        fn = self._per_sample()
        out = []
        for lo in range(0, len(x), self.score_chunk):
            chunk = torch.as_tensor(np.ascontiguousarray(x[lo : lo + self.score_chunk]), dtype=torch.float32,
                                    device=device)
            out.append(fn(chunk).detach().cpu())
        if not out:
            return np.zeros(0, dtype=np.float64)
        return torch.cat(out).double().numpy()


def train_gradcon(model: TargetNet, running: RunningGradient, x: Tensor, ctx: Context, *, variant: str,
                  epochs: int, kernel_names: Sequence[str] | None = None, lr: float = 1e-3,
                  stream: str = "gradcon", checkpoint=None) -> torch.optim.Optimizer:
    """GradCon's training loop (docs/methods.md#gradcon), Keras-fit-like (shuffled, last partial batch kept).

    One forward pass, one differentiable backward to the decoder kernels (create_graph) and one
    backward of the total loss per mini-batch; the total-loss kernel gradients left in `.grad`
    feed the running averages.
    """
    names = list(kernel_names) if kernel_names is not None else decoder_kernel_names(model)
    kernels = [model.get_parameter(n) for n in names]
    optimizer = keras_adam(model.parameters(), lr)
    model.train()
    seen: list[int] = []  # python mirror of running.count (read once, after a possible resume)

    def step(idx: Tensor) -> Tensor:
        if not seen:
            seen.append(int(running.count))
        batch = x[idx.to(x.device)]
        rec = F.mse_loss(torch.sigmoid(model(batch)), batch)
        if seen[0] > 0:
            grads = torch.autograd.grad(rec, kernels, create_graph=True)
            sims = [gradient_similarity(g, a, variant) for g, a in zip(grads, running.averages())]
            loss = rec + TRAIN_WEIGHT * torch.stack(sims).mean()
        else:
            loss = rec  # A = 0 before the first batch: the gradient term is skipped
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        running.update([k.grad for k in kernels], seen[0])
        optimizer.step()
        seen[0] += 1
        return loss.detach()

    fit_epochs(step, len(x), batch_size=ctx.hparams.batch_size, epochs=epochs,
               generator=ctx.torch_generator(f"{stream}/shuffle"),
               state={"model": model, "opt": optimizer, "running": running},
               checkpoint=checkpoint, desc=stream, progress=ctx.progress)
    model.eval()
    return optimizer


def train_gradcon_target(split: Split, ctx: Context, *, gradcon_cosine: str) -> GradCon:
    """The shared GradCon target (catalog): GradCon is unsupervised, so its fit is the target."""
    return GradCon(gradcon_cosine=gradcon_cosine).fit(split, ctx)
