"""Run options shared by the workflow config, the training loops and the command line, in a module
that imports nothing heavy (the CLI's parser is built from them without importing torch)."""

from __future__ import annotations

__all__ = ["DEFAULT_CHECKPOINT_EVERY_S", "PRECISIONS"]

# CUDA float32 math (`alarmbench.device.set_precision`): IEEE fp32, TF32, TF32 + bf16 autocast.
PRECISIONS = ("fp32", "tf32", "bf16")

# Seconds between checkpoint writes unless the run says otherwise (config `run.checkpoint_every_s`,
# `alarmbench run --checkpoint-every-s`): a killed job redoes at most this much training plus an epoch.
DEFAULT_CHECKPOINT_EVERY_S = 300.0
