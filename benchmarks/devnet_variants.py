"""DevNet with one factor changed at a time, to find what separates ours (Pang et al.'s Keras code,
`alarmbench.methods.devnet`) from DeepOD's DevNet (`deepsad_reference.py` runs them as `devnet+<factor>`).

`base` re-runs our DevNet's training loop from its own building blocks; `deepsad_reference.py --methods
devnet devnet+base` checks that it gives the project's scores exactly, so each factor is a
single-factor change of the real method. Factors (DeepOD 0.4.1's choice in brackets):

* `wide`: hidden layers (100, 50), ReLU, bias-free, L2 on the first kernel [DeepOD's MLP]
* `redraw`: a fresh N(0, 1) reference of 5 000 scores every mini-batch [DeepOD's DevLoss]
* `iid-batch`: each batch position normal/anomalous with p = ½ (a weighted sampler) instead of
  exactly alternating positions [DeepOD's WeightedRandomSampler]
* `zscore`: inputs standardised on the normal training rows instead of min-max [ADBench scripts]
* `adam`: Adam(1e-3, weight decay 1e-5), no gradient clipping [DeepOD's optimiser]
* `long`: DeepOD's training length: 100 epochs × ⌈n/64⌉ batches of 64, no best-epoch checkpoint
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from alarmbench.methods.devnet import L2, N_REFERENCE, BestWeights, DevNetNet, balanced_batch, deviation_loss
from alarmbench.runtime.loop import fit_epochs
from alarmbench.stages.context import job_context

FACTORS = ("base", "wide", "redraw", "iid-batch", "zscore", "adam", "long")


class WideNet(nn.Module):
    def __init__(self, n_features: int, hidden=(100, 50)) -> None:
        super().__init__()
        sizes = [n_features, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1, bias=False)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.out(x).squeeze(-1)

    def l2_penalty(self):
        return L2 * self.layers[0].weight.pow(2).sum()


def iid_batch(normal_idx, anomaly_idx, batch_size, generator):
    is_anom = torch.rand(batch_size, generator=generator) < 0.5
    pick_n = normal_idx[torch.randint(len(normal_idx), (batch_size,), generator=generator)]
    pick_a = anomaly_idx[torch.randint(len(anomaly_idx), (batch_size,), generator=generator)]
    return torch.where(is_anom, pick_a, pick_n), is_anom.float()


def fit_variant(factor: str, split, dataset: str, seed: int, epochs: int | None) -> np.ndarray:
    if factor not in FACTORS:
        raise ValueError(f"unknown DevNet factor {factor!r}; known: {FACTORS}")
    ctx = job_context(split, dataset=dataset, seed=seed, run={"epochs": epochs, "device": "cpu"}, targets_dir=None,
                      trains=None)
    labels = np.asarray(split.a_train).astype(bool)
    x_train = split.x_train.reshape(len(split.x_train), -1)
    x_test = split.x_test.reshape(len(split.x_test), -1)
    if factor == "zscore":
        normal = x_train[~labels]
        mean, std = normal.mean(0), normal.std(0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    x = torch.as_tensor(np.ascontiguousarray(x_train), dtype=torch.float32)
    normal_idx = torch.as_tensor(np.flatnonzero(~labels))
    anomaly_idx = torch.as_tensor(np.flatnonzero(labels))

    ctx.seed_torch("devnet/init")  # the streams of our DevNet: `base` reproduces it exactly
    net = WideNet(x.shape[1]) if factor == "wide" else DevNetNet(x.shape[1])
    if factor == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-5)
    else:
        opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    batch_gen = ctx.torch_generator("devnet/batches")
    ref_gen = ctx.torch_generator("devnet/reference")
    redraw = factor == "redraw"
    reference = torch.randn(N_REFERENCE, generator=ref_gen)
    long = factor == "long"
    batch_size = 64 if long else 512
    steps = -(-len(x) // 64) if long else 20
    n_epochs = ctx.n_epochs(100 if long else 50)
    draw = iid_batch if factor == "iid-batch" else balanced_batch
    best = BestWeights(net)

    def step(_):
        idx, y = draw(normal_idx, anomaly_idx, batch_size, batch_gen)
        ref = torch.randn(N_REFERENCE, generator=ref_gen) if redraw else reference
        loss = deviation_loss(net(x[idx]), y, ref) + net.l2_penalty()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if factor != "adam":
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        return loss.detach()

    net.train()
    fit_epochs(step, steps, batch_size=1, epochs=n_epochs, generator=batch_gen, on_epoch_end=best.update,
               desc=f"devnet+{factor}")
    if not long:
        net.load_state_dict(best.weights)
    net.eval()
    with torch.no_grad():
        return net(torch.as_tensor(np.ascontiguousarray(x_test), dtype=torch.float32)).double().numpy()


__all__ = ["FACTORS", "fit_variant"]
