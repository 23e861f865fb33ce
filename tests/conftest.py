"""Shared fixtures and marker handling: `gpu` needs CUDA, `realdata` needs the local mirror.

`gpu` tests run on the device `gpu_test_device()` names: CUDA, or what ALARMBENCH_GPU_TEST_DEVICE
says. Set it to `cpu` for a self-test of the GPU tests on a machine without one: they then compare
CPU with CPU and must pass (tests/gpu/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mirror import mirror_dir
from snakemake_guard import SNAKEMAKE_MARKERS, starts_snakemake

ROOT = Path(__file__).resolve().parents[1]


GPU_TEST_ENV = "ALARMBENCH_GPU_TEST_DEVICE"


def gpu_test_device() -> str:
    """The device the `gpu` tests compare with the CPU: "cuda" unless $ALARMBENCH_GPU_TEST_DEVICE says."""
    return (os.environ.get(GPU_TEST_ENV) or "cuda").strip().lower()


def pytest_configure(config):
    # The test networks are tiny: one thread avoids OpenMP spin-waiting, which makes two-thread
    # runs of small kernels many times slower when the other core is busy.
    import torch

    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available() or not gpu_test_device().startswith("cuda")
    except ImportError:
        has_gpu = False
    no_mirror = mirror_dir() is None
    for item in items:
        if item.get_closest_marker("gpu") and not has_gpu:  # a marker, not a keyword: a folder named gpu is none
            item.add_marker(pytest.mark.skip(reason=f"needs CUDA (or {GPU_TEST_ENV}=cpu for a self-test)"))
        if item.get_closest_marker("realdata") and no_mirror:
            item.add_marker(pytest.mark.skip(reason="no local data mirror (../shared/data or $ALARMBENCH_MIRROR)"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_dir()
    if path is None:
        pytest.skip("no local data mirror")
    return path


@pytest.fixture(scope="session")
def raw_root(tmp_path_factory) -> Path:
    """One raw-data directory per test session (mirror files are linked or copied into it)."""
    return tmp_path_factory.mktemp("raw")


@pytest.fixture(scope="session")
def gpu_device():
    """The device under test for `gpu` tests (CUDA; $ALARMBENCH_GPU_TEST_DEVICE=cpu: a self-test)."""
    import torch

    from alarmbench.device import resolve_device

    try:
        return resolve_device(gpu_test_device())
    except ValueError as err:
        pytest.skip(str(err))


@pytest.fixture(autouse=True)
def _snakemake_needs_a_marker(request, monkeypatch):
    """An unmarked test that starts Snakemake fails, naming the markers it may carry."""
    if any(request.node.get_closest_marker(m) for m in SNAKEMAKE_MARKERS):
        return
    import subprocess

    real = subprocess.Popen

    class Guarded(real):
        def __init__(self, args, *a, **kw):
            if starts_snakemake(args):
                raise AssertionError(f"{request.node.nodeid} starts Snakemake without a marker: mark it "
                                     f"with one of {', '.join(SNAKEMAKE_MARKERS)} (tests/README.md)")
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", Guarded)
