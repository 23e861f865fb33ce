"""Atomic writes: deterministic .pt bytes, the user's umask, and no leftovers of a killed writer."""

from __future__ import annotations

import os

import numpy as np
import torch

from alarmbench.features.cache import FeatureCacheWriter
from alarmbench.fileio import save_torch, write_json


def test_saved_torch_files_are_byte_identical(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3), "meta": {"epoch": 3}}
    save_torch(tmp_path / "a.pt", state)
    save_torch(tmp_path / "b.pt", state)  # another name: torch.save(path) put the temp name inside
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert torch.equal(torch.load(tmp_path / "a.pt", weights_only=True)["w"], state["w"])


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "r.json", {"a": 1})
        assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644  # mkstemp alone gives 0600
        os.umask(0o077)
        write_json(tmp_path / "p.json", {"a": 1})
        assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_killed_writers_temporary_files_are_removed_on_the_next_write(tmp_path):
    (tmp_path / ".r.json.abc123.tmp").write_text("half")
    stale_dir = tmp_path / ".train.xyz.tmp"
    stale_dir.mkdir()
    (stale_dir / "chunk_000000.npy").write_bytes(b"0" * 1000)
    write_json(tmp_path / "r.json", {"a": 1})
    with FeatureCacheWriter(tmp_path / "train", (3,), expected_rows=2) as w:
        w.append(np.zeros((2, 3), dtype=np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "train"]
