"""A job's device: run.device for the deep methods, the CPU for the CPU-only baselines (their jobs
claim no GPU, so a cluster may run them where CUDA is absent)."""

from __future__ import annotations

import pytest
import torch

from alarmbench.stages.context import job_context
from toydata import toy_split


def test_cpu_only_jobs_run_on_the_cpu_whatever_run_device_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALARMBENCH_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU node of a cluster
    split, run = toy_split(n=300, n_anomalies=10), {"device": "cuda"}
    for method in ("iforest", "gbdt", "gbdt-od"):
        ctx = job_context(split, dataset="mammography", seed=110, run=run, targets_dir=None, method=method)
        assert str(ctx.device) == "cpu", method  # the string: a CPU-only job never imports torch
    with pytest.raises(ValueError, match="CUDA is not available"):  # a deep method asks for what it was given
        job_context(split, dataset="mammography", seed=110, run=run, targets_dir=None, method="devnet")
