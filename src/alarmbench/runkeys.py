"""The run settings in a job's key: only those that can change its output, in a canonical form.

A rule's `params` are compared with those of the run that made its outputs, as text (their
`repr`), so what goes in decides what reruns. Each job's `run` param holds, with every mapping's
keys sorted (the order of keys in a config file changes nothing):

- `device`: where it computes, `cpu` or `cuda` (as `device.gpu_claim` decides it for `auto`; not
  the index: `cuda:0` and `cuda:1` compute the same). CPU-only methods: always `cpu`.
- `threads`: torch's CPU threads (a reduction split over more threads may round differently).
- `precision`: on CUDA only, where TF32 and bf16 change the float32 math; on a CPU, `tf32` and
  `fp32` compute the same, and `bf16` (autocast of the alarms' forward passes) counts only in the
  fits of methods that train.
- `epochs`: only in jobs that train (`train_target`, and fits of methods whose `Method.trains`),
  resolved per data set and method (`grid.epochs_for`).
- `feature_dtype`: only in jobs that write or read cached features (`extract`, and fits of methods
  with `Method.features`).
- `options`: the method's options (a target's: those that shape it), where there are any.

Never keyed, because they change how a job runs and not what it computes: `feature_memory_gb` (a
memory strategy: the features are read whole or batch by batch, the same values either way) and
`checkpoint_every_s`. The job reads those, and the device and precision as configured (`cuda:1`,
`auto`), from the config (`job_run`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alarmbench.device import gpu_claim
from alarmbench.runopts import RunSettings

# Settings a job reads from the config as they are, not from its key.
AS_CONFIGURED = ("device", "precision", "feature_memory_gb", "checkpoint_every_s")


def canonical(value: Any) -> Any:
    """`value` with every mapping's keys sorted (recursively), so that its repr does not depend on
    the order the config listed them in."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return type(value)(canonical(v) for v in value)
    return value


def device_kind(spec: str | None) -> str:
    """`cuda` where a job with run.device `spec` computes on a GPU, else `cpu`."""
    return "cuda" if gpu_claim(spec) else "cpu"


def job_key(run: Mapping, *, epochs: Any = None, trains: bool = False, reads_features: bool = False,
            cpu_only: bool = False, autocasts: bool = False, options: Mapping | None = None) -> dict:
    """The run settings of one job's key (module docstring). `epochs`: resolved for the job (used
    only where it `trains`); `autocasts`: a fit whose bf16 autocast would run on a CPU too."""
    settings = RunSettings.from_run(run)
    device = "cpu" if cpu_only else device_kind(settings.device)
    precision = settings.precision
    key: dict[str, Any] = {"device": device, "threads": int(settings.threads)}
    if device == "cuda" and not cpu_only or autocasts and precision == "bf16":
        key["precision"] = precision
    if trains:
        key["epochs"] = epochs
    if reads_features:
        key["feature_dtype"] = settings.feature_dtype
    if options:
        key["options"] = dict(options)
    return canonical(key)


def job_run(config_run: Mapping, key: Mapping) -> dict:
    """What a job runs with: its key, and the settings it reads as configured (AS_CONFIGURED)."""
    return {**key, **{k: config_run[k] for k in AS_CONFIGURED if k in config_run}}
