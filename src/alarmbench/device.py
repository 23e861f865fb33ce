"""Choose the torch device: CUDA when available, else CPU, overridable by a string.

Precedence: the explicit argument, then the ALARMBENCH_DEVICE environment variable (so a
Snakemake profile or a SLURM job can pin a device without touching config), then auto.
"""

from __future__ import annotations

import os

import torch

__all__ = ["ENV_VAR", "resolve_device"]

ENV_VAR = "ALARMBENCH_DEVICE"


def resolve_device(spec: str | torch.device | None = None) -> torch.device:
    """"auto"/None → cuda if available else cpu; "cpu", "cuda", "cuda:1" → that device.

    Asking for CUDA where there is none (or for an index beyond the visible devices) is an error
    rather than a silent CPU fallback, so a GPU job never crawls on CPU unnoticed.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    if spec is None or spec.strip() == "":
        spec = os.environ.get(ENV_VAR, "auto")
    spec = spec.strip().lower()
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
