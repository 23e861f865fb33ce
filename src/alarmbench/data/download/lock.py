"""Checksums: a file is checked against its published sha256/md5/size, else against the value
recorded ("pinned") the first time it was fetched (`HashLock`, trust on first use)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alarmbench.data.download.common import CHUNK, ChecksumError, CorruptFileError
from alarmbench.data.download.formats import format_problem, shape_problem
from alarmbench.data.sources import RemoteFile
from alarmbench.fileio import sha256_file, write_json

try:  # POSIX; elsewhere lock-file updates stay atomic but are not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class HashLock:
    """JSON record of sha256 and size for files with no published checksum.

    Keys are ``"<dataset>/<file name>"``. Trust on first use: the first fetch is recorded,
    every later fetch must match, so an upstream file that silently changes is caught.
    `verify` records a file only once it passes `check_format`; an entry that pins a file
    failing it (left by an earlier version) raises CorruptFileError naming the entry.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def entries(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries().get(key)

    def record(self, key: str, sha256: str, size: int) -> None:
        with _exclusive(self.path):
            entries = self.entries()  # re-read under the lock: parallel jobs add other keys
            entries[key] = {"sha256": sha256, "size": size}
            write_json(self.path, entries)  # sorted keys, atomic


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of `path` across processes (parallel fetch jobs)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # A sidecar, because `path` itself is replaced by rename on every write.
    with open(path.with_name(f".{path.name}.flock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def verify(
    path: str | os.PathLike,
    remote: RemoteFile,
    *,
    lock: HashLock | None = None,
    key: str | None = None,
    pin: bool = True,
) -> str:
    """Check `path` against the published size/sha256, else against the lock entry `key`.

    With neither, the file's values are recorded in `lock` (when given and `pin`), but only if
    the file passes `check_format` and has its documented shape (`remote.shape`), if any. A
    file without a published sha256/md5 must pass these even when it matches its lock entry (an
    earlier version may have recorded a truncated download).
    Returns the sha256; raises ChecksumError naming the file, the expected and the actual
    value, CorruptFileError (naming the lock entry to delete, if one pins the bad file)
    when the format check fails.
    """
    path = Path(path)
    key = key or remote.name
    entry = lock.get(key) if lock is not None else None
    # A published digest proves the content; otherwise the file must also read as its kind.
    by_format = remote.sha256 is None and remote.md5 is None

    size = path.stat().st_size  # cheap check first: no hashing of an obviously wrong file
    want_size, origin = _expected(remote.size, entry, "size", lock, key)
    if want_size is not None and size != want_size:
        hint = _stale_entry_hint(remote, path, entry, lock, key) if origin != "published" else ""
        raise _mismatch(remote, path, "size", f"{want_size} bytes", f"{size} bytes", origin, hint)

    digest = sha256_file(path)
    want_sha, origin = _expected(remote.sha256, entry, "sha256", lock, key)
    if remote.sha256 is None and remote.md5 is not None:
        actual_md5 = _md5_file(path)
        if actual_md5 != remote.md5.lower():
            raise _mismatch(remote, path, "md5", remote.md5, actual_md5, "published")
    if want_sha is not None and digest != want_sha.lower():
        hint = _stale_entry_hint(remote, path, entry, lock, key) if origin != "published" else ""
        raise _mismatch(remote, path, "sha256", want_sha, digest, origin, hint)
    problem = None
    if by_format:
        problem = format_problem(path, remote.name, digest) or shape_problem(path, remote, digest)
    if problem is not None:
        if entry is not None and lock is not None:  # by_format: the lock's sha256 was the one matched
            raise CorruptFileError(
                f"{remote.name}: {path} matches the entry {key!r} of {lock.path}, but it is {problem}: that entry "
                f"was recorded from a damaged download (an earlier version did not check). Delete the entry "
                f"{key!r} from {lock.path}, then fetch again",
                lock_entry=(lock.path, key),
            )
        raise CorruptFileError(f"{remote.name}: {path} is {problem}; not recorded in the lock")
    if want_sha is None and lock is not None and pin:
        lock.record(key, digest, size)
    return digest


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _expected(
    published: Any, entry: dict[str, Any] | None, field: str, lock: HashLock | None, key: str
) -> tuple[Any, str]:
    if published is not None:
        return published, "published"
    if entry is not None and lock is not None:
        return entry[field], f"recorded in {lock.path} under {key!r}"
    return None, ""


def _mismatch(
    remote: RemoteFile, path: Path, what: str, expected: str, actual: str, origin: str, hint: str = ""
) -> ChecksumError:
    return ChecksumError(
        f"{remote.name}: {what} mismatch for {path}: expected {expected} ({origin}), got {actual}{hint}"
    )


def _stale_entry_hint(
    remote: RemoteFile, path: Path, entry: dict[str, Any] | None, lock: HashLock | None, key: str
) -> str:
    """For a mismatch with a lock entry: how to replace the entry, and whether it looks truncated."""
    if entry is None or lock is None:
        return ""
    size = path.stat().st_size
    shorter = ""
    by_format = remote.sha256 is None and remote.md5 is None
    if by_format and entry.get("size", size) < size and format_problem(path, remote.name) is None:
        shorter = (
            f". The entry pins {entry['size']} bytes, fewer than this valid file's {size}: it was probably "
            f"recorded from a truncated download by an earlier version"
        )
    return f"{shorter}. If the new file is right, delete the entry {key!r} from {lock.path} and fetch again"
