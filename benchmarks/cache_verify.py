"""What checking a feature cache's digests costs (issue 23), on a cache of realistic size.

Writes an fp16 cache of --gib GiB (random rows of --row-shape) with `FeatureCacheWriter` (fsync
on) with and without hashing, then reads it back from a cold page cache (each chunk file's pages
dropped with POSIX_FADV_DONTNEED) three ways:
  * plain read  – the chunk files read into memory, no hash: the disk's sequential read rate,
  * unverified  – the previous reader (memory-mapped chunks copied into one tensor),
  * verified    – `FeatureCache.load()`: each chunk read once, sha256-checked, copied;
and prints wall and CPU seconds (medians of --repeats) and GB/s, plus the in-memory rates of
sha256 and blake2b for comparison. Run it on an otherwise idle machine for meaningful walls:

  python benchmarks/cache_verify.py --gib 1.5 --dir /path/on/the/results/disk
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from alarmbench.features import cache as cache_module
from alarmbench.features.cache import FeatureCache, FeatureCacheWriter


class _NoHash:
    def update(self, data) -> None:
        pass

    def hexdigest(self) -> str:
        return "0" * 64


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def evict(folder: Path) -> None:
    """Drop the folder's pages from the page cache (clean pages only: written with fsync)."""
    for f in folder.iterdir():
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def write(path: Path, rows: int, row_shape: tuple[int, ...], hashing: bool) -> None:
    saved = cache_module.hashlib.sha256
    if not hashing:
        cache_module.hashlib.sha256 = lambda *a: _NoHash()  # type: ignore[assignment]
    try:
        gen = torch.Generator().manual_seed(0)
        block = torch.randn(4096, *row_shape, generator=gen).to(torch.float16)  # one block, written again
        with FeatureCacheWriter(path, row_shape, overwrite=True, expected_rows=rows) as w:
            for lo in range(0, rows, len(block)):
                w.append(block[: min(len(block), rows - lo)])
    finally:
        cache_module.hashlib.sha256 = saved


def plain_read(path: Path) -> None:
    for f in sorted(path.glob("chunk_*.npy")):
        with open(f, "rb", buffering=0) as fh:
            buf = bytearray(f.stat().st_size)
            fh.readinto(buf)


def unverified_load(path: Path) -> None:
    cache = FeatureCache(path)
    out = torch.empty((cache.n_rows, *cache.row_shape), dtype=torch.float16)
    lo = 0
    for f, _ in cache.files:
        arr = np.load(f, mmap_mode="c", allow_pickle=False)
        out[lo : lo + len(arr)].copy_(torch.from_numpy(arr))
        lo += len(arr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gib", type=float, default=1.5)
    ap.add_argument("--row-shape", type=int, nargs="+", default=[4, 2048])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    args = ap.parse_args()
    row_shape = tuple(args.row_shape)
    rows = int(args.gib * 2**30) // (int(np.prod(row_shape)) * 2)
    root = Path(tempfile.mkdtemp(prefix="cache_verify.", dir=args.dir))
    path = root / "train"
    nbytes = rows * int(np.prod(row_shape)) * 2
    torch.set_num_threads(1)
    buf = np.random.default_rng(0).integers(0, 255, 256 << 20, dtype=np.uint8)
    for name in ("sha256", "blake2b"):
        _, cpu = timed(lambda: hashlib.new(name, buf).hexdigest())
        print(f"{name} in memory: {buf.nbytes / cpu / 1e9:.2f} GB/s per core (CPU time)")
    print(f"cache: {rows} rows × {row_shape} fp16 = {nbytes / 2**30:.2f} GiB in {root}")
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        for _ in range(args.repeats):
            for name, hashing in (("write, no hash", False), ("write, sha256", True)):
                results.setdefault(name, []).append(timed(lambda: write(path, rows, row_shape, hashing)))
            for name, fn in (("plain read", plain_read), ("unverified load", unverified_load),
                             ("verified load", lambda p: FeatureCache(p).load())):
                evict(path)
                results.setdefault(name + " (cold)", []).append(timed(lambda: fn(path)))
            for name, fn in (("unverified load", unverified_load), ("verified load", lambda p: FeatureCache(p).load())):
                results.setdefault(name + " (page cache)", []).append(timed(lambda: fn(path)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'':28s} {'wall s':>8s} {'CPU s':>8s} {'GB/s':>7s}   (medians of {args.repeats})")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:28s} {wall:8.2f} {cpu:8.2f} {nbytes / wall / 1e9:7.2f}")


if __name__ == "__main__":
    main()
