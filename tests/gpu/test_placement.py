"""Device placement of every method: each deep method fits on the device under test, keeps its
networks, tensors and generators there and computes its training gradients there; the CPU-only
baselines run on the CPU even when the run asks for CUDA (and their jobs resolve to the CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alarmbench.methods import METHOD_IDS, build_method, cpu_only
from alarmbench.stages.context import job_context
from gpu_placement import GradientDevices, off_device
from toydata import toy_context, toy_split

pytestmark = pytest.mark.gpu

DEEP = [m for m in METHOD_IDS if not cpu_only(m)]
CPU_ONLY = [m for m in METHOD_IDS if cpu_only(m)]


@pytest.fixture(scope="module")
def split():
    return toy_split(n=600)


def fitted(method: str, split, device: torch.device):
    ctx = toy_context(epochs=2)
    ctx.device = device
    detector = build_method(method)
    with GradientDevices() as grads:
        detector.fit(split, ctx)
        scores = detector.score_split(split, "test")
    return detector, grads.devices, scores


@pytest.mark.parametrize("method", DEEP)
def test_deep_method_fits_and_stays_on_the_device(method, split, gpu_device):
    detector, grad_devices, scores = fitted(method, split, gpu_device)
    assert off_device(detector, gpu_device) == []
    assert grad_devices, f"{method} differentiated nothing during fit"
    assert {d.type for d in grad_devices} == {gpu_device.type}, f"{method} computed gradients on {set(grad_devices)}"
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64 and np.isfinite(scores).all()


@pytest.mark.parametrize("method", CPU_ONLY)
def test_cpu_only_method_runs_on_the_cpu_when_cuda_is_asked_for(method, split, gpu_device):
    detector, grad_devices, scores = fitted(method, split, gpu_device)
    assert off_device(detector, torch.device("cpu")) == [] and grad_devices == []
    assert np.isfinite(scores).all()
    # The job itself resolves to the CPU: on a cluster its job gets no GPU (it claims none).
    ctx = job_context(split, dataset="mammography", seed=110, run={"device": str(gpu_device)}, targets_dir=None,
                      method=method)
    assert ctx.device == torch.device("cpu")
