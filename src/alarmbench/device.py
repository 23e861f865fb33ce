"""Choose the torch device: CUDA when available, else CPU, overridable by a string.

Precedence: an explicit device, then the ALARMBENCH_DEVICE environment variable (so a Snakemake
profile or a SLURM job can pin a device without touching config), then auto.
"""

from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["ENV_VAR", "PRECISIONS", "autocast", "gpu_claim", "resolve_device", "set_precision"]

from alarmbench.runopts import PRECISIONS

ENV_VAR = "ALARMBENCH_DEVICE"


def resolve_device(spec: str | torch.device | None = None) -> torch.device:
    """"auto"/None → $ALARMBENCH_DEVICE if set, else cuda if available, else cpu; "cpu", "cuda",
    "cuda:1" → that device ("auto" is the config's default, so the variable must override it).

    Asking for CUDA where there is none (or for an index beyond the visible devices) is an error
    rather than a silent CPU fallback, so a GPU job never crawls on CPU unnoticed.
    """
    spec = _requested(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(spec)
    except RuntimeError as exc:
        raise ValueError(f"invalid device {spec!r} (use 'auto', 'cpu', 'cuda' or 'cuda:N')") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {spec!r} requested but CUDA is not available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {spec!r} requested but only {torch.cuda.device_count()} CUDA device(s) visible")
    elif dev.type != "cpu":
        raise ValueError(f"unsupported device type {dev.type!r} (use 'auto', 'cpu', 'cuda' or 'cuda:N')")
    return dev


def _requested(spec: str | torch.device | None) -> str:
    """The device asked for, lower-case: an explicit one, else $ALARMBENCH_DEVICE, else "auto"."""
    spec = str(spec or "").strip().lower()
    if spec in ("", "auto"):
        spec = (os.environ.get(ENV_VAR) or "auto").strip().lower()
    return spec


def gpu_claim(spec: str | None) -> int:
    """`resources: gpu` of a workflow training job for run.device: 1 if it will run on a GPU.

    The local profile provides one `gpu`, so claiming jobs run one at a time: right on a GPU, but
    on a CPU-only machine a claim would serialise every training job. "auto" is decided as
    `resolve_device` decides it ($ALARMBENCH_DEVICE, then torch.cuda.is_available()); an explicit
    CUDA device claims without a check, so a cluster's submit host needs no GPU.
    """
    spec = _requested(spec)
    if spec == "auto":
        return int(torch.cuda.is_available())
    return int(spec.startswith("cuda"))


def set_precision(precision: str) -> None:
    """How float32 matmuls and convolutions run on CUDA (no effect on CPU), for this process.

    "fp32": strict IEEE float32. "tf32" (the default): TF32 tensor cores, which TensorFlow ≥ 2.4
    enables by default on Ampere and later GPUs, so it is what the authors' Keras code gets there
    (PyTorch's own default is IEEE for matmuls). "bf16": tf32 plus bf16 autocast of the alarm
    networks' training forward passes (`Context.autocast`); weights, optimiser, losses and scoring
    stay float32. bf16 changes the numerics, not the protocol: opt-in, recorded with the results.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (expected one of {', '.join(PRECISIONS)})")
    mode = "ieee" if precision == "fp32" else "tf32"
    torch.backends.cuda.matmul.fp32_precision = mode
    torch.backends.cudnn.conv.fp32_precision = mode
    torch.backends.cudnn.rnn.fp32_precision = mode


def autocast(device: torch.device, precision: str):
    """Context for an alarm's training forward pass: bf16 autocast on `device` when precision is
    "bf16" (callers compute the loss from `.float()` outputs), else nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
