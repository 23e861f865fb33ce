"""Atomic, verified file writing: a reader never sees a half-written file under its final name,
and a file read back is the file that was written.

Temporary files are named `.<final name>.<random>.tmp` beside their final name; a killed job's
leftovers are removed the next time the same file is written. Files get the mode the user's
umask gives (`mkstemp` alone would make every result owner-only, unreadable for colleagues on a
shared file system). A write that fails for lack of space or permission raises `WriteError`, one
line naming the path and the free space there, and leaves nothing behind.

Content digests (sha256) travel inside each intermediate, so a flipped byte or a truncation is
caught when the file is read (`DamagedFileError`, naming the file):
- `.npz` and torch `.pt` files are zip archives: the digest of the archive is its zip comment
  (`alarmbench-sha256:<hex>`), so the file stays a valid archive for NumPy, torch and `unzip`;
- JSON objects carry their digest under `_sha256` (a list of objects: each object), covering
  the parsed content (`write_json(..., sealed=True)`, `read_json`);
- feature caches record one digest per chunk file in their header (`features.cache`).
sha256 rather than blake2b: with the SHA instructions of current x86 and ARM CPUs it hashes
at 1.4 GB/s per core against blake2b's 0.7 GB/s (benchmarks/cache_verify.py), faster than a disk
reads; xxhash would be faster still but is not a dependency, and sha256 is what the project
already pins downloads and checkpoints with.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from alarmbench.errors import DamagedFileError, WriteError

# errno values that mean "this output cannot be written here" (space, quota, permissions).
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def free_space(path: str | os.PathLike) -> str:
    """`<free> free of <total>` on the file system that holds `path` (or its nearest existing parent)."""
    probe = Path(os.path.abspath(path))
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return f"{_size(usage.free)} free of {_size(usage.total)}"


def write_error(path: str | os.PathLike, err: OSError) -> WriteError | None:
    """The one-line `WriteError` for an OSError met while writing `path`, or None if it is not a
    space or permission problem. NumPy's `tofile` reports a short write without an errno."""
    short_write = err.errno is None and "requested and" in str(err) and "written" in str(err)
    if err.errno in _NO_SPACE or short_write:
        todo = "free some space there and run again"
    elif err.errno in _NO_PERMISSION:
        where = Path(err.filename) if err.filename else Path(path).parent
        todo = f"make {where if where.is_dir() else where.parent} writable and run again"
    else:
        return None
    reason = err.strerror or str(err)
    return WriteError(f"cannot write {path}: {reason} ({free_space(path)} on its file system); {todo}")


@contextlib.contextmanager
def reporting_write_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn a full disk or a missing permission inside the block into `write_error(path)`."""
    try:
        yield
    except OSError as err:
        converted = write_error(path, err)
        if converted is None:
            raise
        raise converted from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(directory: bool = False) -> int:
    """The mode a plain `open`/`mkdir` would give under the current umask."""
    return (0o777 if directory else 0o666) & ~_umask()


def remove_stale_temps(final: str | os.PathLike) -> None:
    """Delete what an interrupted writer of `final` left behind (`.<name>.*.tmp` files or folders)."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def temp_dir_beside(final: str | os.PathLike) -> Path:
    """A new temporary folder beside `final` (stale ones of earlier runs removed), umask mode."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    os.chmod(tmp, default_mode(directory=True))
    return tmp


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it over `final` only if the block succeeds.
    A full disk or a missing permission (here or in the block) raises `WriteError`."""
    final = Path(final)
    with reporting_write_errors(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(final)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix + ".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with reporting_write_errors(final):
            os.chmod(tmp_path, default_mode())
            yield tmp_path
            os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ digests
DIGEST_KEY = "_sha256"  # a sealed JSON object's digest
_ZIP_TAG = b"alarmbench-sha256:"
_ZIP_TAIL = 2 + len(_ZIP_TAG) + 64  # comment length field + comment
_EOCD = b"PK\x05\x06"  # zip end-of-central-directory record (22 bytes + comment)
_BLOCK = 8 << 20


def _hash_prefix(fh, n: int, h=None):
    """sha256 (or `h`) of the next `n` bytes of `fh`; fewer bytes there: None."""
    h = h or hashlib.sha256()
    buf = bytearray(min(_BLOCK, max(n, 1)))
    view = memoryview(buf)
    while n > 0:
        got = fh.readinto(view[: min(len(buf), n)])
        if not got:
            return None
        h.update(view[:got])
        n -= got
    return h


def _zip_comment(digest: str) -> bytes:
    comment = _ZIP_TAG + digest.encode()
    return len(comment).to_bytes(2, "little") + comment


def _check_plain_eocd(tail: bytes, what: str) -> None:
    if len(tail) < 22 or tail[-22:-18] != _EOCD or tail[-2:] != b"\0\0":
        raise RuntimeError(f"{what}: not a zip archive without a comment; cannot record its digest")


def seal_zip_bytes(data: bytes) -> bytes:
    """A zip archive (as `np.savez`/`torch.save` write it) with its sha256 as the zip comment."""
    _check_plain_eocd(data[-22:], "archive")
    return data[:-2] + _zip_comment(hashlib.sha256(data).hexdigest())


def seal_zip(path: str | os.PathLike) -> None:
    """Record the sha256 of the zip archive at `path` as its comment, in place."""
    with open(path, "r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - 22))
        _check_plain_eocd(fh.read(), str(path))
        fh.seek(0)
        digest = _hash_prefix(fh, size).hexdigest()
        fh.seek(size - 2)
        fh.write(_zip_comment(digest))


def check_zip(path: str | os.PathLike, remove: Iterable[str | os.PathLike] = ()) -> None:
    """Raise `DamagedFileError` unless `path` is a zip archive whose recorded sha256 matches it."""
    path = Path(path)

    def damaged(reason: str) -> DamagedFileError:
        return DamagedFileError(path, reason, remove)

    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(max(0, size - _ZIP_TAIL))
        tail = fh.read()
        if (size < 22 + _ZIP_TAIL or int.from_bytes(tail[:2], "little") != _ZIP_TAIL - 2
                or not tail[2:].startswith(_ZIP_TAG)):
            raise damaged(f"{size} bytes without the content digest at their end: truncated, or not written "
                          f"by this version of alarmbench")
        recorded = tail[2 + len(_ZIP_TAG):].decode("ascii", "replace")
        fh.seek(0)
        h = _hash_prefix(fh, size - _ZIP_TAIL)
    if h is None:
        raise damaged("shorter than its size while read (being truncated?)")
    h.update(b"\0\0")  # the comment length as it was when the digest was taken
    if h.hexdigest() != recorded:
        raise damaged(f"damaged: its sha256 {h.hexdigest()[:12]}… differs from the recorded {recorded[:12]}…")


def load_npz(path: str | os.PathLike, remove: Iterable[str | os.PathLike] = ()) -> dict[str, np.ndarray]:
    """Every array of a sealed .npz, after checking its digest (`DamagedFileError`: `remove` says
    what to delete so that it is rebuilt; default the file)."""
    check_zip(path, remove)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, EOFError) as err:  # digest fine, content not an npz
        raise DamagedFileError(path, f"not a readable .npz: {err}", remove) from None


def load_torch(path: str | os.PathLike, map_location=None, remove: Iterable[str | os.PathLike] = ()) -> Any:
    """`torch.load(weights_only=True)` of a file written by `save_torch`, after checking its digest."""
    import torch

    check_zip(path, remove)
    try:
        return torch.load(path, weights_only=True, map_location=map_location)
    except (RuntimeError, EOFError, ValueError) as err:
        raise DamagedFileError(path, f"not a readable torch file: {err}", remove) from None


def _json_digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _seal(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_seal(o) for o in obj]
    if not isinstance(obj, dict):
        raise TypeError(f"only JSON objects (or lists of them) can be sealed, not {type(obj).__name__}")
    return {**obj, DIGEST_KEY: _json_digest(obj)}


def _unseal(obj: Any, damaged) -> Any:
    if isinstance(obj, list):
        return [_unseal(o, damaged) for o in obj]
    if not isinstance(obj, dict) or DIGEST_KEY not in obj:
        raise damaged("no content digest: not written by this version of alarmbench")
    obj = dict(obj)
    recorded = obj.pop(DIGEST_KEY)
    if _json_digest(obj) != recorded:
        raise damaged(f"damaged: its content digest differs from the recorded {str(recorded)[:12]}…")
    return obj


def write_json(path: str | os.PathLike, obj: Any, *, sealed: bool = False) -> None:
    """JSON with sorted keys, atomically; `sealed`: each object carries its digest (`read_json`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_seal(obj) if sealed else obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike, remove: Iterable[str | os.PathLike] = ()) -> Any:
    """A JSON file written with `write_json(sealed=True)`, its digests checked and removed."""
    path = Path(path)

    def damaged(reason: str) -> DamagedFileError:
        return DamagedFileError(path, reason, remove)

    try:
        obj = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise damaged(f"not valid JSON, truncated or damaged ({err})") from None
    return _unseal(obj, damaged)


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Uncompressed .npz, sealed with its digest (`load_npz`); deterministic bytes for identical
    arrays (fixed zip timestamps)."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        seal_zip(tmp)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """`torch.save`, sealed with its digest (`load_torch`), with deterministic bytes: saved
    through a buffer, the archive's inner folder is always "archive" (saved to a path it is named
    after the temporary file, so two identical runs wrote different bytes)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(seal_zip_bytes(buffer.getvalue()))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_array(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(a.dtype).encode() + str(a.shape).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
