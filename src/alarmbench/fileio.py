"""Atomic file writing: a reader never sees a half-written file under its final name.

Temporary files are named `.<final name>.<random>.tmp` beside their final name; a killed job's
leftovers are removed the next time the same file is written. Files get the mode the user's
umask gives (`mkstemp` alone would make every result owner-only, unreadable for colleagues on a
shared file system).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


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
    """Yield a temporary path beside `final`; rename it over `final` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix + ".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, default_mode())
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Uncompressed .npz; deterministic bytes for identical arrays (fixed zip timestamps)."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """`torch.save` with deterministic bytes: saved through a buffer, the archive's inner folder
    is always "archive" (saved to a path it is named after the temporary file, so two identical
    runs wrote different bytes)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


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
