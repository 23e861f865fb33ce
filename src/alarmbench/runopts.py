"""Run settings shared by the workflow config, the training loops and the command line, in a module
that imports nothing heavy (the CLI's parser is built from them without importing torch).

`RunSettings` is one job's settings as a typed object, with the defaults in one place: the
workflow config's `run:` section (workflow/schemas/config.schema.yaml states the same defaults
for the config's readers; tests/unit/test_run_settings.py checks that they agree), `alarmbench
run`'s flags (cli.py reads their defaults from here) and the context a fit runs in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["DEFAULT_CHECKPOINT_EVERY_S", "DEFAULTS", "FEATURE_DTYPES", "PRECISIONS", "RunSettings"]

# CUDA float32 math (`alarmbench.device.set_precision`): IEEE fp32, TF32, TF32 + bf16 autocast.
PRECISIONS = ("fp32", "tf32", "bf16")
# The cached features' dtype (R2-AD2's gradients, A³'s activations).
FEATURE_DTYPES = ("float16", "float32")

# Seconds between checkpoint writes unless the run says otherwise (config `run.checkpoint_every_s`,
# `alarmbench run --checkpoint-every-s`): a killed job redoes at most this much training plus an epoch.
DEFAULT_CHECKPOINT_EVERY_S = 300.0


@dataclass(frozen=True)
class RunSettings:
    """What one job (or one `alarmbench run`) runs with; built once from its run mapping."""

    epochs: int | None = None  # every training loop's epochs (None: the papers')
    device: str | None = "auto"  # auto (or None): CUDA when available; cpu, cuda, cuda:N
    precision: str = "tf32"  # one of PRECISIONS: TF32 is TensorFlow's default on Ampere and later
    threads: int = 1  # torch CPU threads: these small networks run fastest one job per core
    feature_dtype: str = "float16"  # one of FEATURE_DTYPES
    checkpoint_every_s: float = DEFAULT_CHECKPOINT_EVERY_S
    feature_memory_gb: float = 4  # cached training features up to this size are held in memory
    options: Mapping[str, Any] = field(default_factory=dict)  # the method's options, as configured

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"run.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.feature_dtype not in FEATURE_DTYPES:
            raise ValueError(f"run.feature_dtype must be one of {', '.join(FEATURE_DTYPES)}, got {self.feature_dtype!r}")
        if not float(self.checkpoint_every_s) >= 0:
            raise ValueError(f"run.checkpoint_every_s must be ≥ 0 seconds, got {self.checkpoint_every_s}")

    @classmethod
    def from_run(cls, run: Mapping[str, Any]) -> RunSettings:
        """The settings of a job's `run` mapping (its key and what it reads as configured); keys it
        does not hold get the defaults, keys that are not settings (a config's `method_epochs`) are
        not read."""
        return cls(**{f.name: run[f.name] for f in fields(cls) if f.name in run})


DEFAULTS = RunSettings()
