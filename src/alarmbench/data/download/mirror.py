"""Files that are already somewhere local: a mirror directory (found by name, hard-linked or
copied into place) and archives (one member extracted). Both are verified on the way in."""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from alarmbench.data.download.common import CHUNK, DownloadError
from alarmbench.data.download.lock import HashLock, verify
from alarmbench.data.sources import RemoteFile
from alarmbench.fileio import atomic_path


def find_in_mirror(mirror: str | os.PathLike, name: str) -> Path | None:
    """The file called `name` anywhere below `mirror` (first in sorted order), or None."""
    hits = find_all_in_mirror(mirror, name)
    return hits[0] if hits else None


def find_all_in_mirror(mirror: str | os.PathLike, name: str) -> list[Path]:
    """Every file called `name` below `mirror`, in sorted order."""
    mirror = Path(mirror)
    if not mirror.is_dir():
        return []
    hits: list[Path] = []
    seen: set[str] = set()
    # Follow directory links (mirrors are often trees of links) but never loop.
    for root, dirs, files in os.walk(mirror, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        if name in files and (Path(root) / name).is_file():
            hits.append(Path(root) / name)
    return sorted(hits)


def place(src: Path, dest: Path) -> None:
    """Put a verified mirror file at `dest` atomically: a hard link when possible, else a copy."""
    with atomic_path(dest) as tmp:
        tmp.unlink()  # os.link needs a free name
        try:
            os.link(src, tmp)  # instant, no extra space
        except OSError:  # another file system, or links not permitted
            shutil.copyfile(src, tmp)


def extract(archive: Path, remote: RemoteFile, dest: Path, lock: HashLock | None, key: str) -> Path:
    """Extract `remote.member` of `archive` to `dest` atomically and verify it."""
    with atomic_path(dest) as tmp:
        _copy_member(archive, remote.member or remote.name, tmp)
        verify(tmp, remote, lock=lock, key=key)  # on failure atomic_path drops tmp
    return dest


def _copy_member(archive: Path, member: str, out: Path) -> None:
    # Only the member's bytes are read, into our own path: archive paths are never trusted.
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            return
        with tarfile.open(archive) as tf:
            src = tf.extractfile(member)
            if src is None:
                raise KeyError(f"{member!r} is not a regular file")
            with src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    except (KeyError, tarfile.TarError, zipfile.BadZipFile) as err:
        raise DownloadError(f"{archive}: cannot extract {member!r}: {err}") from err
