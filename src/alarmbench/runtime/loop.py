"""A Keras-`fit`-like training loop: reshuffle every epoch, keep the last partial batch, run a
step function per mini-batch; optionally checkpoint and resume after an interruption.

A checkpoint is written at an epoch's end once `Checkpoint.every_s` seconds have passed since the
loop's start or its last write (0: every epoch), and always at the end of a loop whose caller keeps
it (a chain of loops resumes its finished parts from them). R2-AD2's alarm state grows with the
table's width (1.5 MB on Mammography; with 20 features 11.3 M parameters and their Adam moments,
≈135 MB) and its fit has 100 epochs: a write per epoch cost more disk traffic than the rest of the job.
When the checkpoint is written changes only how much a killed job redoes, never its result.

Each epoch's mean loss and seconds are logged (every epoch up to 100 epochs, else 100 lines in
all), and each checkpoint write with its size and seconds; the tqdm bar is shown only on a
terminal, so a job's log file holds the lines and no bar text.

The checkpoint holds the modules' and optimisers' states, the epoch, the shuffling generator and
torch's global RNG (dropout), so a resumed run ends with the same weights as an uninterrupted one.
It also records a fingerprint of what the run is (the job's code key, options and inputs, plus
the loop's epochs, rows and batch size): a checkpoint of anything else is discarded, never
resumed, and a finished loop deletes its checkpoint unless the caller keeps it for a later step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from alarmbench.errors import DamagedFileError
from alarmbench.fileio import load_torch, save_torch
from alarmbench.runopts import DEFAULT_CHECKPOINT_EVERY_S

log = logging.getLogger(__name__)

StepFn = Callable[[torch.Tensor], float | torch.Tensor | None]

_clock = time.monotonic  # the checkpoint policy's clock (a fake one in tests)


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
    # Write at most once per this many seconds (0: every epoch); a loop the caller keeps is
    # written at its end whatever the time.
    every_s: float = DEFAULT_CHECKPOINT_EVERY_S

    def sibling(self, name: str) -> "Checkpoint":
        """A checkpoint beside this one for a sub-step (same fingerprint and policy, named part)."""
        return dataclasses.replace(self, path=self.path.with_name(name), fingerprint=f"{self.fingerprint}/{name}")


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
        checkpoint = dataclasses.replace(
            checkpoint, path=Path(checkpoint.path),
            fingerprint=f"{checkpoint.fingerprint}/epochs={epochs}/n={n}/batch={batch_size}")
    start = _resume(checkpoint, state or {}, generator, epochs) if checkpoint else 0
    log_every = max(1, -(-epochs // 100))  # at most ~100 loss lines per loop in a log file
    # tqdm's disable=None: a bar only where stderr is a terminal (never in a job's log file).
    bar = tqdm(range(start, epochs), desc=desc, disable=None if progress else True, leave=False)
    last_write = _clock()
    with logging_redirect_tqdm() if not bar.disable else contextlib.nullcontext():
        for epoch in bar:
            began = time.perf_counter()
            total, count = 0.0, 0
            for idx in batches(n, batch_size, generator):
                loss = step(idx)
                if loss is not None:
                    total += float(loss) * len(idx)
                    count += len(idx)
            mean = total / max(count, 1)
            bar.set_postfix(loss=f"{mean:.4g}")
            done = epoch + 1
            if done % log_every == 0 or done in (start + 1, epochs):
                log.info("%s epoch %d/%d: loss %.6g, %.2f s", desc, done, epochs, mean, time.perf_counter() - began)
            if on_epoch_end is not None:
                on_epoch_end(epoch, mean)
            if checkpoint and (keep_checkpoint if done == epochs else _clock() - last_write >= checkpoint.every_s):
                _save(checkpoint, state or {}, generator, done)
                last_write = _clock()
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
    began = time.perf_counter()
    save_torch(checkpoint.path, payload)
    log.info("checkpoint %s at epoch %d: %.2f MB in %.2f s", checkpoint.path, epoch,
             checkpoint.path.stat().st_size / 1e6, time.perf_counter() - began)


def _resume(checkpoint: Checkpoint, state: Mapping[str, object], generator: torch.Generator, epochs: int) -> int:
    path = checkpoint.path
    if not path.exists():
        return 0
    try:
        payload = load_torch(path)
    except DamagedFileError as err:  # resumable state only: start over rather than fail
        log.warning("discarding checkpoint %s", err)
        path.unlink()
        return 0
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
