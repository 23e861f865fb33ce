"""Shared fixtures and marker handling: `gpu` needs CUDA, `realdata` needs the local mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mirror_dir() -> Path | None:
    candidate = Path(os.environ.get("ALARMBENCH_MIRROR", ROOT.parent / "shared" / "data"))
    return candidate if (candidate / "SHA256SUMS").exists() or candidate.is_dir() and any(candidate.iterdir()) else None


def pytest_configure(config):
    # The test networks are tiny: one thread avoids OpenMP spin-waiting, which makes two-thread
    # runs of small kernels many times slower when the other core is busy.
    import torch

    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    no_mirror = mirror_dir() is None
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))
        if "realdata" in item.keywords and no_mirror:
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
