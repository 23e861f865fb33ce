"""DevNet (Pang, Shen & van den Hengel, KDD 2019) as the authors' public Keras code runs it (docs/methods.md#devnet).

The R2-AD2/A³ wrappers pass `train_alarm` flattened to 2-D with 0/1 labels and forward neither
the experiment's epochs nor its batch size, so DevNet's own defaults apply:

* φ: Dense(20) ReLU (Keras `l2(0.01)` on that kernel: + 0.01·Σw² in the loss) → Dense(1) linear.
* Deviation loss: dev = (φ(x) − μ_R)/σ_R with l = 5 000 reference scores r ~ N(0, 1) (σ_R the
  population std, as K.std); L = mean((1 − y)·|dev| + y·max(0, 5 − dev)). The reference is drawn
  once per fit, as the Keras code draws it once when the loss is built (`devnet_fixed_reference`,
  default True); False redraws it every mini-batch as the paper's Algorithm 1.
* RMSprop (lr 1e-3, ρ 0.9, ε 1e-7: Keras 2.2 defaults) with global gradient clip-norm 1.0.
* 50 epochs × 20 mini-batches of 512; every batch balanced: even positions drawn uniformly with
  replacement from the normal (label-0) rows, odd positions from the known anomalies.
* Keras ModelCheckpoint(monitor="loss", save_best_only=True): the weights at the end of the epoch
  with the lowest mean training loss (regulariser included; first one on ties) are used.

`ctx.epochs` overrides the 50 epochs (quick runs); the batch size and batches per epoch are fixed.
Score = φ(x), higher = more anomalous.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from alarmbench.data.splits import Split
from alarmbench.methods.base import Detector, NoKnownAnomaliesError
from alarmbench.runtime.context import Context
from alarmbench.runtime.loop import GeneratorState, fit_epochs
from alarmbench.nets import optim
from alarmbench.nets.keras import glorot_init_

__all__ = ["BestWeights", "DevNet", "DevNetNet", "NoKnownAnomaliesError", "balanced_batch", "deviation_loss"]

MARGIN = 5.0
N_REFERENCE = 5000
L2 = 0.01


class DevNetNet(nn.Module):
    """The default "depth 2" scoring network: Dense(20) ReLU → Dense(1) linear, Keras init."""

    def __init__(self, n_features: int, hidden: int = 20) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_features, hidden)
        self.out = nn.Linear(hidden, 1)
        glorot_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(torch.relu(self.hidden(x.reshape(x.shape[0], -1)))).squeeze(-1)

    def l2_penalty(self) -> Tensor:
        return L2 * self.hidden.weight.pow(2).sum()


def deviation_loss(scores: Tensor, y: Tensor, reference: Tensor, margin: float = MARGIN) -> Tensor:
    """mean((1 − y)·|dev| + y·max(0, margin − dev)), dev = (score − mean(ref)) / std(ref) (population std)."""
    y = y.to(scores.dtype)
    dev = (scores - reference.mean()) / reference.std(unbiased=False)
    return ((1.0 - y) * dev.abs() + y * torch.clamp(margin - dev, min=0.0)).mean()


def balanced_batch(normal_idx: Tensor, anomaly_idx: Tensor, batch_size: int,
                   generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Row indices and labels of one balanced batch: even positions uniform with replacement from
    `normal_idx` (label 0), odd positions from `anomaly_idx` (label 1). Draws on the generator's
    device (CPU); the indices come back on `normal_idx`'s device."""
    n_even, n_odd = (batch_size + 1) // 2, batch_size // 2
    pick_n = torch.randint(len(normal_idx), (n_even,), generator=generator).to(normal_idx.device)
    pick_a = torch.randint(len(anomaly_idx), (n_odd,), generator=generator).to(normal_idx.device)
    idx = torch.empty(batch_size, dtype=torch.long, device=normal_idx.device)
    idx[0::2] = normal_idx[pick_n]
    idx[1::2] = anomaly_idx[pick_a]
    y = torch.zeros(batch_size, device=normal_idx.device)
    y[1::2] = 1.0
    return idx, y


class BestWeights:
    """Keras ModelCheckpoint(monitor='loss', save_best_only=True), checkpointable by `fit_epochs`."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.loss = float("inf")
        self.epoch = -1
        self.weights = copy.deepcopy(model.state_dict())
        self.history: list[float] = []

    def update(self, epoch: int, loss: float) -> None:
        self.history.append(loss)
        if loss < self.loss:
            self.loss, self.epoch = loss, epoch
            self.weights = copy.deepcopy(self.model.state_dict())

    def state_dict(self) -> dict:
        return {"loss": torch.tensor(self.loss, dtype=torch.float64), "epoch": torch.tensor(self.epoch),
                "history": torch.tensor(self.history, dtype=torch.float64), "weights": self.weights}

    def load_state_dict(self, state: dict) -> None:
        self.loss, self.epoch = float(state["loss"]), int(state["epoch"])
        self.history = [float(v) for v in state["history"]]
        self.weights = state["weights"]


class DevNet(Detector):
    """DevNet baseline (docs/methods.md#devnet). After `fit`: `best_epoch_` (0-based) and `history_` (epoch-mean
    training losses) describe the checkpoint that is used."""

    name = "devnet"
    batch_size = 512
    batches_per_epoch = 20
    paper_epochs = 50

    def __init__(self, *, devnet_fixed_reference: bool) -> None:
        self.fixed_reference = devnet_fixed_reference

    def fit(self, split: Split, ctx: Context) -> DevNet:
        device = ctx.device
        labels = np.asarray(split.a_train).astype(bool)
        if not labels.any():
            raise NoKnownAnomaliesError("DevNet needs labelled anomalies in the training split, but it has none")
        if labels.all():
            raise ValueError("DevNet needs unlabelled/normal training rows, but every training row is an anomaly")
        x = torch.as_tensor(np.ascontiguousarray(split.x_train.reshape(len(split.x_train), -1)),
                            dtype=torch.float32, device=device)
        normal_idx = torch.as_tensor(np.flatnonzero(~labels), device=device)
        anomaly_idx = torch.as_tensor(np.flatnonzero(labels), device=device)

        ctx.seed_torch(f"{self.name}/init")
        self.net = DevNetNet(x.shape[1]).to(device)
        opt = optim.RMSprop(self.net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        batch_gen = ctx.torch_generator(f"{self.name}/batches")
        ref_gen = ctx.torch_generator(f"{self.name}/reference")
        fixed = bool(self.fixed_reference)
        reference = torch.randn(N_REFERENCE, generator=ref_gen).to(device) if fixed else None
        best = BestWeights(self.net)

        def step(_: Tensor) -> Tensor:
            idx, y = balanced_batch(normal_idx, anomaly_idx, self.batch_size, batch_gen)
            ref = reference if fixed else torch.randn(N_REFERENCE, generator=ref_gen).to(device)
            loss = deviation_loss(self.net(x[idx]), y, ref) + self.net.l2_penalty()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)  # Keras clipnorm: global norm
            opt.step()
            return loss.detach()

        # One "sample" per mini-batch: fit_epochs runs `batches_per_epoch` steps per epoch, averages
        # their losses (Keras' epoch loss) and checkpoints the batch generator with the weights.
        self.net.train()
        fit_epochs(step, self.batches_per_epoch, batch_size=1, epochs=ctx.n_epochs(self.paper_epochs),
                   generator=batch_gen,
                   state={"net": self.net, "opt": opt, "best": best, "reference": GeneratorState(ref_gen)},
                   checkpoint=ctx.checkpoint(self.name), on_epoch_end=best.update,
                   desc=self.name, progress=ctx.progress)
        self.net.load_state_dict(best.weights)
        self.net.eval()
        self.best_epoch_, self.best_loss_, self.history_ = best.epoch, best.loss, list(best.history)
        return self

    @torch.no_grad()
    def score(self, x: np.ndarray, chunk_size: int = 65536) -> np.ndarray:
        self.net.eval()
        p = next(self.net.parameters())
        flat = torch.as_tensor(np.ascontiguousarray(x.reshape(len(x), -1)), dtype=torch.float32)
        out = [self.net(flat[lo : lo + chunk_size].to(p.device)).double().cpu()
               for lo in range(0, len(flat), chunk_size)]
        return torch.cat(out).numpy() if out else np.zeros(0)
