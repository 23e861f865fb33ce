"""On-disk feature cache: a directory of chunked `.npy` files plus a JSON header.

Layout of `<dir>/`:
  header.json        format/version, n_rows, row_shape (per sample, e.g. [k, P] or [A]), dtype
                     ("float16" default, or "float32"), chunk_rows, the chunk files with their row
                     counts and sha256, names (parameter order or activation layer names), sources
                     (sha256 of the checkpoints the features came from), n_saturated, free-form
                     meta; sealed with its own digest (`fileio.read_json`).
  chunk_000000.npy   rows [0, chunk_rows), then the next chunk, …; plain NumPy arrays (memmappable).

Every chunk file is hashed while it is written (from the block in memory) and checked when it is
read: a flipped byte or a truncation raises `FeatureCacheError` (a `DamagedFileError` naming the
file, whose `remove` is the whole folder, so that the workflow re-extracts it). The check reads
each byte once, into the buffer the rows are then taken from, with the kernel reading ahead, so it
costs CPU (sha256 at ≈1.3 GB/s per core with SHA instructions) rather than a second pass over the disk.

Why: features are produced far faster than disks take them (DESIGN §7), so they are stored compact
(fp16), streamed chunk by chunk while being computed (bounded memory), and read back once per
training job, straight into device memory. The directory is written under a temporary name and
renamed when complete, so a reader never sees a partial cache under the final name.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alarmbench.errors import DamagedFileError
from alarmbench.fileio import read_json, reporting_write_errors, sha256_file, temp_dir_beside, write_json

__all__ = ["FORMAT", "VERSION", "FeatureCacheError", "FeatureCacheWriter", "FeatureCache", "DiskRows",
           "checkpoint_sources"]

FORMAT = "alarmbench-feature-cache"
VERSION = 2  # 2: chunk digests, sealed header
HEADER = "header.json"
_DTYPES = {"float16": torch.float16, "float32": torch.float32}
_CHUNK_BYTES = 64 * 2**20  # default chunk file size


class FeatureCacheError(DamagedFileError):
    """A feature cache is missing, malformed, inconsistent or damaged (the message names the file;
    `remove` is the cache folder, which the workflow rebuilds as a whole)."""


def checkpoint_sources(paths: Iterable[str | os.PathLike]) -> list[dict[str, str]]:
    """[{path, sha256}] of the checkpoints features are computed from (for the header)."""
    return [{"path": str(p), "sha256": sha256_file(p)} for p in paths]


def _has_nonfinite(a: np.ndarray) -> bool:
    """Any inf/NaN, by testing for an all-ones exponent on the raw bits: an order of magnitude
    faster than np.isfinite/torch.isfinite on CPU float16, and this runs on every cached byte."""
    if a.size == 0:
        return False
    bits, mask = (np.uint16, 0x7C00) if a.dtype == np.float16 else (np.uint32, 0x7F800000)
    return int((a.view(bits) & mask).max()) == mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FeatureCacheWriter:
    """Stream feature chunks into a new cache directory; commit atomically on `close()`.

    Use as a context manager: on an exception the temporary directory is removed and nothing
    appears under `path`. `append` accepts (n, *row_shape) torch tensors (any device) or arrays of
    any row count; rows are re-blocked into files of `chunk_rows` rows, so memory stays bounded
    by one chunk plus the incoming block. With fp16, values beyond ±65 504 are saturated (counted
    in the header's n_saturated); NaN/inf in the input is an error.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        row_shape: Sequence[int],
        *,
        dtype: str = "float16",
        names: Sequence[str] = (),
        sources: Sequence[Mapping[str, str]] = (),
        chunk_rows: int | None = None,
        expected_rows: int | None = None,
        meta: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        fsync: bool = True,
    ) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        self.path = Path(path)
        self.row_shape = tuple(int(s) for s in row_shape)
        self.dtype = dtype
        self._np_dtype = np.dtype(dtype)
        self._torch_dtype = _DTYPES[dtype]
        row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * self._np_dtype.itemsize
        self.chunk_rows = int(chunk_rows) if chunk_rows else max(1, _CHUNK_BYTES // max(1, row_bytes))
        self.expected_rows = expected_rows
        self.overwrite, self.fsync = overwrite, fsync
        self._header: dict[str, Any] = {
            "names": list(names),
            "sources": [dict(s) for s in sources],
            "meta": dict(meta or {}),
        }
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"feature cache {self.path} already exists (pass overwrite=True to replace it)")
        with reporting_write_errors(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp: Path | None = temp_dir_beside(self.path)  # removes a killed writer's leftovers
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._files: list[dict[str, Any]] = []
        self.n_rows = 0
        self.n_saturated = 0

    # -- writing --------------------------------------------------------------------------------
    def _convert(self, chunk: torch.Tensor | np.ndarray) -> np.ndarray:
        t = torch.as_tensor(chunk).detach()
        if tuple(t.shape[1:]) != self.row_shape:
            raise ValueError(f"chunk rows have shape {tuple(t.shape[1:])}, cache rows are {self.row_shape}")
        # Cast on the source device (fewer bytes to move), then check the result for inf/NaN.
        h = np.ascontiguousarray(t.to(dtype=self._torch_dtype).cpu().numpy())
        if _has_nonfinite(h):
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"non-finite values in features written to {self.path}")
            limit = torch.finfo(self._torch_dtype).max
            self.n_saturated += int((t.abs() > limit).sum())
            h = t.clamp(-limit, limit).to(dtype=self._torch_dtype).cpu().numpy()
        return h

    def _write_file(self, block: np.ndarray) -> None:
        """One .npy file (the bytes `np.save` writes), hashed from memory while it is written."""
        assert self._tmp is not None
        name = f"chunk_{len(self._files):06d}.npy"
        block = np.ascontiguousarray(block)
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(head, np.lib.format.header_data_from_array_1_0(block))
        digest = hashlib.sha256(head.getbuffer())
        digest.update(block.reshape(-1).view(np.uint8))
        with reporting_write_errors(self.path), open(self._tmp / name, "wb") as fh:
            fh.write(head.getbuffer())
            fh.write(block.reshape(-1).view(np.uint8))  # not tofile: a full disk must raise ENOSPC
        self._files.append({"file": name, "rows": int(block.shape[0]), "sha256": digest.hexdigest()})

    def append(self, chunk: torch.Tensor | np.ndarray) -> None:
        if self._tmp is None:
            raise RuntimeError(f"writer for {self.path} is closed")
        arr = self._convert(chunk)
        self.n_rows += arr.shape[0]
        lo = 0
        if self._n_pending:  # top up the pending chunk first
            take = min(self.chunk_rows - self._n_pending, arr.shape[0])
            self._pending.append(arr[:take].copy())  # copy: the caller may reuse its buffer
            self._n_pending += take
            lo = take
            if self._n_pending == self.chunk_rows:
                self._write_file(np.concatenate(self._pending))
                self._pending, self._n_pending = [], 0
        while arr.shape[0] - lo >= self.chunk_rows:  # whole chunks straight from the input
            self._write_file(arr[lo : lo + self.chunk_rows])
            lo += self.chunk_rows
        if lo < arr.shape[0]:
            self._pending.append(arr[lo:].copy())  # copy: the caller may reuse its buffer
            self._n_pending += arr.shape[0] - lo

    def extend(self, chunks: Iterable[torch.Tensor | np.ndarray]) -> None:
        for c in chunks:
            self.append(c)

    # -- commit / abort -------------------------------------------------------------------------
    def close(self) -> Path:
        """Flush, write the header, fsync, and rename the directory to its final name."""
        if self._tmp is None:
            raise RuntimeError(f"writer for {self.path} is closed")
        try:
            if self._n_pending:
                self._write_file(np.concatenate(self._pending))
                self._pending, self._n_pending = [], 0
            if self.expected_rows is not None and self.n_rows != self.expected_rows:
                raise ValueError(f"{self.path}: wrote {self.n_rows} rows, expected {self.expected_rows}")
            header = {
                "format": FORMAT, "version": VERSION, "n_rows": self.n_rows, "row_shape": list(self.row_shape),
                "dtype": self.dtype, "chunk_rows": self.chunk_rows, "files": self._files,
                "n_saturated": self.n_saturated, **self._header,
            }  # fmt: skip
            write_json(self._tmp / HEADER, header, sealed=True)
            if self.fsync:
                with reporting_write_errors(self.path):
                    for f in [*(e["file"] for e in self._files), HEADER]:
                        _fsync(self._tmp / f)
                    _fsync(self._tmp)
            if self.n_saturated:
                msg = f"{self.path}: {self.n_saturated} values saturated at the {self.dtype} range"
                warnings.warn(msg, stacklevel=2)
            self._commit()
        except BaseException:
            self.abort()
            raise
        return self.path

    def _commit(self) -> None:
        assert self._tmp is not None
        old: Path | None = None
        if self.path.exists():
            if not self.overwrite:
                raise FileExistsError(f"feature cache {self.path} appeared while writing")
            old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old.", suffix=".tmp", dir=self.path.parent))
            os.replace(self.path, old / "x")  # move aside: a directory cannot be renamed over another
        os.replace(self._tmp, self.path)
        self._tmp = None
        if self.fsync:
            _fsync(self.path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        """Discard everything written so far (idempotent)."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> FeatureCacheWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class FeatureCache:
    """Read a cache written by `FeatureCacheWriter`; the header and every chunk file's shape,
    dtype and size are validated on open (errors name the offending file)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        hp = self.path / HEADER
        try:
            header = read_json(hp, remove=(self.path,))
        except FileNotFoundError:
            raise self._error(hp, "no feature cache header (missing file)") from None
        except DamagedFileError as err:
            raise self._error(hp, err.reason) from None
        self._validate_header(header, hp)
        self.header = header
        self.n_rows: int = header["n_rows"]
        self.row_shape: tuple[int, ...] = tuple(header["row_shape"])
        self.dtype: str = header["dtype"]
        self.chunk_rows: int = header["chunk_rows"]
        self.names: list[str] = list(header.get("names", []))
        self.sources: list[dict[str, str]] = list(header.get("sources", []))
        self.meta: dict[str, Any] = dict(header.get("meta", {}))
        self.files: list[tuple[Path, int]] = [(self.path / e["file"], int(e["rows"])) for e in header["files"]]
        self._digests = {self.path / e["file"]: e["sha256"] for e in header["files"]}
        self._offsets: dict[Path, int] = {}
        for f, rows in self.files:
            self._validate_file(f, rows)

    def _error(self, file: Path, reason: str) -> FeatureCacheError:
        return FeatureCacheError(file, reason, remove=(self.path,))

    def _validate_header(self, h: Any, hp: Path) -> None:
        def bad(msg: str) -> FeatureCacheError:
            return self._error(hp, msg)

        if not isinstance(h, dict) or h.get("format") != FORMAT:
            raise bad(f"not an {FORMAT} header")
        if h.get("version") != VERSION:
            raise bad(f"unsupported version {h.get('version')!r} (this reader knows {VERSION})")
        for key in ("n_rows", "row_shape", "dtype", "chunk_rows", "files"):
            if key not in h:
                raise bad(f"missing key {key!r}")
        if h["dtype"] not in _DTYPES:
            raise bad(f"unsupported dtype {h['dtype']!r}")
        if not (isinstance(h["row_shape"], list) and all(isinstance(s, int) and s >= 0 for s in h["row_shape"])):
            raise bad(f"row_shape must be a list of non-negative ints, got {h['row_shape']!r}")
        if not (isinstance(h["n_rows"], int) and h["n_rows"] >= 0):
            raise bad(f"n_rows must be a non-negative int, got {h['n_rows']!r}")
        files = h["files"]
        if not isinstance(files, list) or not all(
            isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("rows"), int)
            and isinstance(e.get("sha256"), str) for e in files
        ):
            raise bad("files must be a list of {file: str, rows: int, sha256: str}")
        if any("/" in e["file"] or e["file"].startswith(".") for e in files):
            raise bad("chunk file names must be plain names inside the cache directory")
        total = sum(int(e["rows"]) for e in files)
        if total != h["n_rows"]:
            raise bad(f"chunk files hold {total} rows but n_rows is {h['n_rows']}")

    def _validate_file(self, f: Path, rows: int) -> None:
        try:
            with open(f, "rb") as fh:
                version = np.lib.format.read_magic(fh)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read(fh)
                offset = fh.tell()
        except FileNotFoundError:
            raise self._error(f, f"chunk file listed in {self.path / HEADER} is missing") from None
        except ValueError as exc:
            raise self._error(f, f"not a valid .npy file: {exc}") from None
        want = (rows, *self.row_shape)
        if tuple(shape) != want or dtype != np.dtype(self.dtype) or fortran:
            raise self._error(f, f"holds {dtype} {tuple(shape)}, header says {self.dtype} {want}")
        size = offset + int(np.prod(want, dtype=np.int64)) * dtype.itemsize
        if f.stat().st_size != size:
            raise self._error(f, f"{f.stat().st_size} bytes, expected {size} (truncated or padded)")
        self._offsets[f] = offset

    def __len__(self) -> int:
        return self.n_rows

    def matches_sources(self, paths: Iterable[str | os.PathLike]) -> bool:
        """True iff the checkpoints at `paths` have the recorded sha256 digests, in order."""
        return [s["sha256"] for s in self.sources] == [sha256_file(p) for p in paths]

    def _read(self, f: Path, rows: int, keep: bool = True) -> np.ndarray | None:
        """Chunk file `f` read into memory and checked against its recorded digest (`keep`: False
        only checks it, through two 8 MiB buffers). Each block is hashed in a second thread
        while the next one is read (both release the GIL), so the check costs CPU time, not
        wall time, wherever the disk is slower than sha256."""
        size = f.stat().st_size
        block = 8 << 20
        buf = np.empty(size if keep else min(size, 2 * block), dtype=np.uint8)  # not zero-filled
        view = memoryview(buf)
        h = hashlib.sha256()
        with open(f, "rb", buffering=0) as fh, ThreadPoolExecutor(1) as hasher:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)
            done, hashing = 0, None
            for i in itertools.count():
                if done >= size:
                    break
                lo = done if keep else (i % 2) * block  # the buffer being hashed is never read into
                got = fh.readinto(view[lo : lo + min(block, size - done)])
                if not got:
                    raise self._error(f, f"{done} bytes readable of {size} (truncated while read)")
                if hashing is not None:
                    hashing.result()
                hashing = hasher.submit(h.update, view[lo : lo + got])
                done += got
            if hashing is not None:
                hashing.result()
        if h.hexdigest() != self._digests[f]:
            raise self._error(f, f"damaged: its sha256 {h.hexdigest()[:12]}… differs from the "
                                 f"{self._digests[f][:12]}… recorded in {HEADER}")
        if not keep:
            return None
        return buf[self._offsets[f]:].view(self.dtype).reshape(rows, *self.row_shape)

    def verify(self) -> None:
        """Check every chunk file's digest (streamed: bounded memory), raising `FeatureCacheError`."""
        for f, rows in self.files:
            self._read(f, rows, keep=False)

    def iter_arrays(self) -> Iterator[np.ndarray]:
        """The NumPy chunks, each read into memory (writable, so torch may wrap them) and checked
        against its digest."""
        for f, rows in self.files:
            yield self._read(f, rows)

    def mapped_arrays(self) -> list[np.ndarray]:
        """The chunks memory-mapped (copy-on-write), after `verify()`: for random access to a cache
        larger than memory."""
        self.verify()
        return [np.load(f, mmap_mode="c", allow_pickle=False) for f, _ in self.files]

    def iter_chunks(
        self, *, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
    ) -> Iterator[torch.Tensor]:
        """Stream the cache as torch tensors, one chunk file at a time."""
        for arr in self.iter_arrays():
            yield torch.from_numpy(arr).to(device=device, dtype=dtype or _DTYPES[self.dtype])

    def load(self, *, device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
             lead: slice = slice(None)) -> torch.Tensor:
        """Everything as one (n_rows, *row_shape) tensor, filled in place on `device`.

        lead: a slice of the first per-row axis to keep (e.g. the first k of 4 snapshots), taken
        while reading, so no full-size intermediate is ever allocated."""
        shape = self.selected_shape(lead)
        out = torch.empty((self.n_rows, *shape), dtype=dtype or _DTYPES[self.dtype], device=device)
        lo = 0
        for arr in self.iter_arrays():
            out[lo : lo + arr.shape[0]].copy_(torch.from_numpy(_lead(arr, lead)))
            lo += arr.shape[0]
        return out

    def selected_shape(self, lead: slice = slice(None)) -> tuple[int, ...]:
        if not self.row_shape:
            return self.row_shape
        return (len(range(*lead.indices(self.row_shape[0]))), *self.row_shape[1:])

    def nbytes(self, dtype: torch.dtype | None = None, lead: slice = slice(None)) -> int:
        itemsize = torch.empty((), dtype=dtype or _DTYPES[self.dtype]).element_size()
        return self.n_rows * int(np.prod(self.selected_shape(lead), dtype=np.int64)) * itemsize


def _lead(arr: np.ndarray, lead: slice) -> np.ndarray:
    return arr if lead == slice(None) else arr[:, lead]


class DiskRows:
    """Random row access to a cache that stays on disk (memory-mapped chunk files), for features
    larger than the memory budget: `rows[idx]` gathers a mini-batch as a tensor. The page cache
    keeps what fits; the process itself holds one batch at a time."""

    def __init__(self, cache: FeatureCache, *, lead: slice = slice(None), dtype: torch.dtype | None = None) -> None:
        self.arrays = cache.mapped_arrays()
        self.starts = np.cumsum([0] + [a.shape[0] for a in self.arrays])
        self.lead, self.dtype = lead, dtype
        self.shape = (cache.n_rows, *cache.selected_shape(lead))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx: torch.Tensor | np.ndarray) -> torch.Tensor:
        idx = np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx, dtype=np.int64)
        which = np.searchsorted(self.starts, idx, side="right") - 1
        out = np.empty((len(idx), *self.shape[1:]), dtype=self.arrays[0].dtype if self.arrays else np.float32)
        for f in np.unique(which):
            mask = which == f
            out[mask] = _lead(self.arrays[f][idx[mask] - self.starts[f]], self.lead)
        t = torch.from_numpy(out)
        return t if self.dtype is None else t.to(self.dtype)
