"""What a job says in its log: stage timings and the shapes it works on.

Apart from `workflow_log` (where the lines go), so that a change of the log file's wiring does not
change the stages' code keys and rerun every job; it imports no other alarmbench module, so it adds
nothing else to any stage's code key.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import numpy as np


@contextlib.contextmanager
def timed(log: logging.Logger, what: str) -> Iterator[None]:
    """Log `<what>: <seconds> s` when the block ends (also when it raises: the time it took to fail)."""
    began = time.perf_counter()
    try:
        yield
    finally:
        log.info("%s: %.2f s", what, time.perf_counter() - began)


def shape(x) -> str:
    """rows × features (× …) of an array-like, e.g. `2000×6`."""
    return "×".join(str(int(d)) for d in np.shape(x))


def describe_split(split) -> str:
    """The split parts a job reads: rows × features, and the anomalies among the training rows."""
    n_anom = int(np.sum(split.a_train))
    return (f"train {shape(split.x_train)} ({len(split.a_train) - n_anom} normal, {n_anom} anomalous), "
            f"val {shape(split.x_val)}, test {shape(split.x_test)}, target {shape(split.train_target)} "
            f"(hold-out {len(split.holdout)} rows)")
