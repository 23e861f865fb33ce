"""Named random sub-streams derived from one experiment seed.

Every random decision (val split, pollution, anomaly cap, hold-out, weight init, noise,
shuffling) draws from its own stream, so adding a draw to one stage never shifts another.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 64-bit integer for a stream name (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def substream(seed: int, name: str) -> np.random.Generator:
    """NumPy generator for the named sub-stream of an experiment seed."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream_key(name)]))


def substream_seed(seed: int, name: str) -> int:
    """A 63-bit integer seed for libraries that take one (torch, scikit-learn)."""
    return int(substream(seed, name).integers(0, 2**63 - 1))
