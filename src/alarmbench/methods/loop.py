"""A Keras-`fit`-like training loop: reshuffle every epoch, keep the last partial batch, run a
step function per mini-batch; optionally checkpoint every epoch and resume after an interruption.

The checkpoint holds the modules' and optimisers' states, the epoch, the shuffling generator and
torch's global RNG (dropout), so a resumed run ends with the same weights as an uninterrupted one.
It also records a fingerprint of what the run is (the job's code key, options and inputs, plus
the loop's epochs, rows and batch size): a checkpoint of anything else is discarded, never
resumed, and a finished loop deletes its checkpoint unless the caller keeps it for a later step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from alarmbench.fileio import save_torch

log = logging.getLogger(__name__)

StepFn = Callable[[torch.Tensor], float | torch.Tensor | None]


class GeneratorState:
    """Lets `fit_epochs` checkpoint an extra generator (noise, reference draws) for exact resume."""

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator

    def state_dict(self) -> dict:
        return {"state": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["state"].cpu())


@dataclass(frozen=True)
class Checkpoint:
    """Where a loop checkpoints, and the fingerprint a checkpoint must carry to be resumed."""

    path: Path
    fingerprint: str

    def sibling(self, name: str) -> "Checkpoint":
        """A checkpoint beside this one for a sub-step (same fingerprint, named part)."""
        return Checkpoint(self.path.with_name(name), f"{self.fingerprint}/{name}")


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
    checkpoint: Checkpoint | None = None,
    keep_checkpoint: bool = False,
    on_epoch_end: Callable[[int, float], None] | None = None,
    desc: str = "train",
    progress: bool = False,
) -> None:
    """Run `epochs` epochs of `step(batch_indices)`; `state` maps names to modules/optimisers
    (anything with state_dict/load_state_dict) that a checkpoint saves and restores.

    `keep_checkpoint`: leave the finished checkpoint for the caller to delete (a chain of loops
    resumes its finished parts from them); by default a finished loop deletes it.
    """
    if checkpoint is not None:
        checkpoint = Checkpoint(Path(checkpoint.path),
                                f"{checkpoint.fingerprint}/epochs={epochs}/n={n}/batch={batch_size}")
    start = _resume(checkpoint, state or {}, generator, epochs) if checkpoint else 0
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
    if checkpoint and not keep_checkpoint:
        checkpoint.path.unlink(missing_ok=True)


def _save(checkpoint: Checkpoint, state: Mapping[str, object], generator: torch.Generator, epoch: int) -> None:
    payload = {
        "fingerprint": checkpoint.fingerprint,
        "epoch": epoch,
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "state": {k: v.state_dict() for k, v in state.items()},
    }
    save_torch(checkpoint.path, payload)


def _resume(checkpoint: Checkpoint, state: Mapping[str, object], generator: torch.Generator, epochs: int) -> int:
    path = checkpoint.path
    if not path.exists():
        return 0
    payload = torch.load(path, weights_only=True)
    if payload.get("fingerprint") != checkpoint.fingerprint or int(payload["epoch"]) > epochs:
        log.info("discarding checkpoint %s: it belongs to another run (code, options, inputs or epochs)", path)
        path.unlink()
        return 0
    missing = set(state) - set(payload["state"])
    if missing:
        raise ValueError(f"checkpoint {path} lacks states {sorted(missing)}; delete it to start over")
    for k, v in state.items():
        v.load_state_dict(payload["state"][k])
    generator.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    log.info("resumed %s at epoch %d of %d", path, int(payload["epoch"]), epochs)
    return int(payload["epoch"])
