"""A Keras-`fit`-like training loop: reshuffle every epoch, keep the last partial batch, run a
step function per mini-batch; optionally checkpoint every epoch and resume after an interruption.

The checkpoint holds the modules' and optimisers' states, the epoch, the shuffling generator and
torch's global RNG (dropout), so a resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from tqdm import tqdm

from alarmbench.fileio import atomic_path

StepFn = Callable[[torch.Tensor], float | torch.Tensor | None]


class GeneratorState:
    """Lets `fit_epochs` checkpoint an extra generator (noise, reference draws) for exact resume."""

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator

    def state_dict(self) -> dict:
        return {"state": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["state"].cpu())


def batches(n: int, batch_size: int, generator: torch.Generator, shuffle: bool = True):
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return torch.split(order, batch_size)


def fit_epochs(
    step: StepFn,
    n: int,
    *,
    batch_size: int,
    epochs: int,
    generator: torch.Generator,
    state: Mapping[str, object] | None = None,
    checkpoint: Path | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
    desc: str = "train",
    progress: bool = False,
) -> None:
    """Run `epochs` epochs of `step(batch_indices)`; `state` maps names to modules/optimisers
    (anything with state_dict/load_state_dict) that a checkpoint saves and restores."""
    start = _resume(checkpoint, state or {}, generator) if checkpoint else 0
    bar = tqdm(range(start, epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        total, count = 0.0, 0
        for idx in batches(n, batch_size, generator):
            loss = step(idx)
            if loss is not None:
                total += float(loss) * len(idx)
                count += len(idx)
        mean = total / max(count, 1)
        bar.set_postfix(loss=f"{mean:.4g}")
        if on_epoch_end is not None:
            on_epoch_end(epoch, mean)
        if checkpoint:
            _save(checkpoint, state or {}, generator, epoch + 1)


def _save(path: Path, state: Mapping[str, object], generator: torch.Generator, epoch: int) -> None:
    payload = {
        "epoch": epoch,
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "state": {k: v.state_dict() for k, v in state.items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _resume(path: Path, state: Mapping[str, object], generator: torch.Generator) -> int:
    if not Path(path).exists():
        return 0
    payload = torch.load(path, weights_only=True)
    missing = set(state) - set(payload["state"])
    if missing:
        raise ValueError(f"checkpoint {path} lacks states {sorted(missing)}; delete it to start over")
    for k, v in state.items():
        v.load_state_dict(payload["state"][k])
    generator.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    return int(payload["epoch"])
