"""train_target: one shared target (catalog.TARGETS) into its file in the target group's folder."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

from alarmbench.data.splits import Split
from alarmbench.methods.catalog import TARGETS, target_options
from alarmbench.stages.context import job_context, job_fingerprint
from alarmbench.stages.timing import write_target_seconds
from alarmbench.stagelog import timed

log = logging.getLogger(__name__)


def train_target_stage(*, split_npz: str, dataset: str, seed: int, target: str, run: dict, code: str, out: str,
                       inputs: list[str] = (), user: dict | None = None) -> None:
    """Train `target` (it may store only `out`; the targets it starts from are read-only inputs)
    and record the job's seconds beside it (stages/timing.py)."""
    start = time.perf_counter()
    decl = TARGETS[target]
    module, function = decl.trainer.split(":")
    trainer = getattr(importlib.import_module(module), function)
    log.info("train_target: %s (%s) of data set %s, seed %d, into %s", target, decl.trainer, dataset, seed, out)
    with timed(log, "load split"):
        split = Split.load(split_npz)
    ctx = job_context(split, dataset=dataset, seed=seed, run=run, targets_dir=Path(out).parent, user=user,
                      fingerprint=job_fingerprint(code, run, [split_npz, *inputs]), trains=frozenset({Path(out).stem}))
    with timed(log, f"train and store {target}"):
        trainer(split, ctx, **target_options(target, ctx.options))
    if not Path(out).exists():
        raise RuntimeError(f"training target {target!r} ({decl.trainer}) did not produce {out}: its file name in "
                           f"methods/catalog.py and the name its trainer stores must agree")
    write_target_seconds(out, target, time.perf_counter() - start, starts_from=inputs)
