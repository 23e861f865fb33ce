"""Deep SAD as its authors' reference PyTorch code runs it (Ruff et al., ICLR 2020,
lukasruff/Deep-SAD-PyTorch), beside `deepsad` (the R2-AD2 authors' Deep SAD, docs/methods.md#deepsad).

1. Network φ (`networks/mlp.py`): an MLP without any bias term, each hidden layer
   Linear(bias=False) → BatchNorm1d(eps 1e-4, affine=False) → LeakyReLU(0.01), then a linear code
   layer (bias=False). Sizes as the reference's tabular nets: x_dim → [32, 16] → 8 (cardio,
   satellite, satimage-2, shuttle); → 4 for ≤ 6 features (thyroid); ≥ 100 features get
   [128, 64] → 32 (arrhythmia, 274). Images are flattened into the same MLP (the reference uses
   LeNet-type conv nets there; this method is meant for tables). `deepsad_ruff_dims` overrides.
2. Pre-training (`ae_trainer.py`): the autoencoder = φ + mirrored decoder (same blocks, linear
   reconstruction layer, sigmoid: inputs are min-max scaled) on ALL training rows (the reference's
   train set holds the unlabelled rows and the labelled anomalies), MSE, Adam(lr 1e-4, weight decay
   0.5e-3), 150 epochs, batch 128, shuffled, last partial batch dropped (`drop_last=True`, which
   also keeps BatchNorm away from 1-row batches). φ starts from the AE's encoder (weights and
   BatchNorm statistics).
3. Centre c (`init_center_c`): mean of φ(x) over the training rows in inference mode, then
   c_j ∈ (−ε, 0) → −ε, c_j ∈ [0, ε) → +ε, ε = 0.1. Two deliberate departures: the mean is over
   every training row (the reference iterates its shuffled drop-last loader, so it omits a random
   partial batch), and an exact 0 goes to +ε (the reference leaves it at 0, the trivial solution the
   rule exists to prevent).
4. Training (`DeepSAD_trainer.py`): semi-targets 0 for unlabelled rows (all non-labelled training
   rows, pollution included) and −1 for the known anomalies; per-row loss
   where(ỹ = 0, d, η·(d + 1e-6)^ỹ), d = ‖φ(x) − c‖², η = 1; Adam(lr 1e-4, weight decay 0.5e-6),
   MultiStepLR(milestones [50], γ 0.1) stepped per epoch, 150 epochs, batch 128, drop-last.
   Learning rates, epochs, milestone and weight decays are those of the authors' published
   experiment command (README: `--lr 0.0001 --n_epochs 150 --lr_milestone 50 --weight_decay 0.5e-6
   --ae_lr 0.0001 --ae_n_epochs 150 --ae_weight_decay 0.5e-3`); the code's own defaults (1e-3,
   weight decay 1e-6) are those of the CLI, not of the paper's runs.
   The lr drops at the START of epoch `milestone` (0-based) as MultiStepLR intends; the reference,
   stepping the scheduler before the optimiser on PyTorch ≥ 1.1, drops it one epoch earlier.
5. Score d = ‖φ(x) − c‖² in inference mode against the training centre (no recomputation).

Epochs: `ctx.epochs` (run.epochs) overrides both loops, and the milestones scale with it
(milestone·epochs/declared epochs), so a quick run keeps the schedule's shape.

How it differs from `deepsad`: that one pre-trains the project's DeepSVDD-AE (LeakyReLU, dropout
0.4 kept in φ, the data set's encoder sizes and batch size) on the normal rows only, centres on the
normal rows, trains with Keras-like Adam(1e-3) time decay and no weight decay on ỹ = +1 for every
unlabelled row (loss (d + ε)^ỹ), and recomputes the centre after training. This one has BatchNorm
instead of dropout, weight decay, the reference's net sizes, the η-weighted loss, milestones, and
scores against its training centre.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from alarmbench.data.splits import Split
from alarmbench.methods.base import Detector
from alarmbench.runtime.context import Context
from alarmbench.runtime.loop import fit_epochs
from alarmbench.nets import optim

__all__ = [
    "BN_EPS",
    "CENTER_EPS",
    "EPS",
    "DeepSADRuff",
    "RuffAutoencoder",
    "RuffMLP",
    "center_from",
    "epsilon_rule",
    "reference_dims",
    "ruff_loss",
    "scaled_milestones",
    "semi_targets",
]  # fmt: skip

EPS = 1e-6  # added to d before the anomaly term's power
CENTER_EPS = 0.1
BN_EPS = 1e-4
GAMMA = 0.1  # MultiStepLR factor
_CHUNK = 8192


def reference_dims(n_features: int) -> tuple[int, ...]:
    """(hidden..., rep) of the reference's tabular net for a table of `n_features` columns."""
    if n_features >= 100:
        return (128, 64, 32)
    return (32, 16, 4) if n_features <= 6 else (32, 16, 8)


class _Block(nn.Module):
    """Linear(bias=False) → BatchNorm1d(affine=False) → LeakyReLU(0.01): no parameter but the weight."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, bias=False)
        self.bn = nn.BatchNorm1d(n_out, eps=BN_EPS, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(self.bn(self.linear(x)))


class RuffMLP(nn.Module):
    """φ: x_dim → hidden blocks → linear code (rep_dim), bias-free."""

    def __init__(self, n_features: int, dims: tuple[int, ...]) -> None:
        super().__init__()
        *hidden, rep = dims
        sizes = [n_features, *hidden]
        self.hidden = nn.Sequential(*(_Block(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        self.code = nn.Linear(sizes[-1], rep, bias=False)
        self.rep_dim = rep

    def forward(self, x: Tensor) -> Tensor:
        return self.code(self.hidden(x.reshape(x.shape[0], -1)))


class RuffAutoencoder(nn.Module):
    """φ plus the mirrored decoder: rep → reversed hidden blocks → linear → sigmoid."""

    def __init__(self, n_features: int, dims: tuple[int, ...]) -> None:
        super().__init__()
        *hidden, rep = dims
        self.encoder = RuffMLP(n_features, dims)
        sizes = [rep, *reversed(hidden)]
        self.decoder = nn.Sequential(*(_Block(a, b) for a, b in zip(sizes[:-1], sizes[1:])),
                                     nn.Linear(sizes[-1], n_features, bias=False), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def epsilon_rule(c: Tensor, eps: float = CENTER_EPS) -> Tensor:
    """c_j ∈ (−eps, 0) → −eps, c_j ∈ [0, eps) → +eps; others unchanged."""
    small = c.abs() < eps
    signed = torch.where(c < 0, torch.full_like(c, -eps), torch.full_like(c, eps))
    return torch.where(small, signed, c)


@torch.no_grad()
def _embed(net: nn.Module, x: Tensor) -> Tensor:
    """φ(x) in inference mode (BatchNorm on its running statistics), chunked; mode restored."""
    was_training = net.training
    net.eval()
    try:
        return torch.cat([net(x[lo : lo + _CHUNK]) for lo in range(0, len(x), _CHUNK)])
    finally:
        net.train(was_training)


def center_from(net: nn.Module, x: Tensor, eps: float = CENTER_EPS) -> Tensor:
    """c = mean φ(x) in inference mode, then the ε rule."""
    return epsilon_rule(_embed(net, x).mean(dim=0), eps)


def semi_targets(known_anomaly: np.ndarray, device: torch.device) -> Tensor:
    """ỹ: 0 for every unlabelled training row, −1 for the known anomalies."""
    return torch.where(torch.as_tensor(np.asarray(known_anomaly), device=device) > 0, -1.0, 0.0)


def ruff_loss(d: Tensor, semi: Tensor, eta: float) -> Tensor:
    """mean over rows of where(ỹ = 0, d, η·(d + ε)^ỹ)."""
    labelled = eta * torch.pow(d + EPS, semi.to(d.dtype))
    return torch.where(semi == 0, d, labelled).mean()


def scaled_milestones(milestones, declared: int, actual: int) -> list[int]:
    """The milestones of a `declared`-epoch schedule, rescaled to `actual` epochs (kept inside it)."""
    if actual == declared:
        return sorted(int(m) for m in milestones if 0 < int(m) < actual)
    scaled = {round(int(m) * actual / declared) for m in milestones}
    return sorted(m for m in scaled if 0 < m < actual)


def _drop_last(step, batch_size: int):
    """The reference's `drop_last=True`: a partial batch is skipped (None: no loss counted)."""
    return lambda idx: step(idx) if len(idx) == batch_size else None


class DeepSADRuff(Detector):
    """Deep SAD of Ruff et al.'s reference implementation (see the module docstring)."""

    name = "deepsad-ruff"

    def __init__(self, *, deepsad_ruff_pretrain_epochs: int, deepsad_ruff_epochs: int, deepsad_ruff_lr: float,
                 deepsad_ruff_ae_lr: float, deepsad_ruff_milestones: list[int], deepsad_ruff_weight_decay: float,
                 deepsad_ruff_ae_weight_decay: float, deepsad_ruff_eta: float, deepsad_ruff_batch_size: int,
                 deepsad_ruff_dims: list[int] | None) -> None:
        if deepsad_ruff_eta <= 0:
            raise ValueError(f"method_options.deepsad-ruff.deepsad_ruff_eta: {deepsad_ruff_eta!r} must be > 0")
        # The options without their prefix, as the fit reads them.
        self.options = {k.removeprefix("deepsad_ruff_"): v for k, v in locals().items() if k.startswith("deepsad_ruff_")}
        self.net: RuffMLP | None = None
        self.center: Tensor | None = None
        self.ae: RuffAutoencoder | None = None  # the pre-trained autoencoder φ started from

    def _fit_loop(self, model: nn.Module, loss_of, n: int, ctx: Context, *, stream: str, lr: float,
                  weight_decay: float, epochs: int, milestones: list[int], batch_size: int) -> None:
        optimizer = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=GAMMA)

        def step(idx: Tensor) -> Tensor:
            loss = loss_of(idx.to(ctx.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return loss.detach()

        checkpoint = ctx.checkpoint(f"{self.name}-{stream}")
        model.train()
        fit_epochs(_drop_last(step, min(batch_size, n)), n, batch_size=batch_size, epochs=epochs,
                   generator=ctx.torch_generator(f"{self.name}/{stream}/shuffle"),
                   state={"model": model, "opt": optimizer, "sched": scheduler}, checkpoint=checkpoint,
                   on_epoch_end=lambda epoch, loss: scheduler.step(), desc=f"{self.name}/{stream}",
                   progress=ctx.progress)
        model.eval()

    def fit(self, split: Split, ctx: Context) -> DeepSADRuff:
        o = self.options
        x = torch.as_tensor(np.ascontiguousarray(split.x_train.reshape(len(split.x_train), -1)),
                            dtype=torch.float32, device=ctx.device)
        if len(x) < 2:
            raise ValueError(f"deepsad-ruff needs at least 2 training rows (BatchNorm), got {len(x)}")
        n_features = x.shape[1]
        dims = tuple(o["dims"]) if o["dims"] is not None else reference_dims(n_features)
        batch_size = int(o["batch_size"])

        ctx.seed_torch(f"{self.name}/init")
        ae = RuffAutoencoder(n_features, dims).to(ctx.device)
        ae_epochs = ctx.n_epochs(int(o["pretrain_epochs"]))
        self._fit_loop(ae, lambda idx: F.mse_loss(ae(x[idx]), x[idx]), len(x), ctx, stream="ae",
                       lr=o["ae_lr"], weight_decay=o["ae_weight_decay"], epochs=ae_epochs,
                       milestones=[], batch_size=batch_size)

        net = RuffMLP(n_features, dims).to(ctx.device)
        net.load_state_dict(ae.encoder.state_dict())  # weights and BatchNorm running statistics
        center = center_from(net, x)
        semi = semi_targets(split.a_train, ctx.device)
        eta = float(o["eta"])
        epochs = ctx.n_epochs(int(o["epochs"]))
        milestones = scaled_milestones(o["milestones"], int(o["epochs"]), epochs)
        ctx.seed_torch(f"{self.name}/train")
        self._fit_loop(net, lambda idx: ruff_loss(((net(x[idx]) - center) ** 2).sum(dim=1), semi[idx], eta),
                       len(x), ctx, stream="train", lr=o["lr"], weight_decay=o["weight_decay"], epochs=epochs,
                       milestones=milestones, batch_size=batch_size)
        self.net, self.center, self.ae = net.eval(), center, ae.eval()
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("DeepSADRuff.score called before fit")
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        flat = torch.as_tensor(np.ascontiguousarray(x.reshape(len(x), -1)), dtype=torch.float32,
                               device=self.center.device)
        return ((_embed(self.net, flat) - self.center) ** 2).sum(dim=1).cpu().double().numpy()
