"""Fetch raw data files reliably: local copy, then mirror, then network; always verified.

For one `RemoteFile` the routes are, in order:

1. ``dest_dir/<name>`` already present and verified: used as is, no network;
2. a file with the same upstream name anywhere below ``mirror`` (offline clusters):
   verified, then hard-linked or copied into place;
3. each URL in turn, streamed to ``<name>.part`` with retries, exponential backoff and
   HTTP Range resume, verified, and only then renamed to the final name;
4. for a file shipped inside an archive: the archive is fetched by routes 1-3 and the
   member extracted.

Verification uses the published sha256/size when known; otherwise the values seen the
first time are recorded in a `HashLock` file and every later fetch must match them. A file
without a published checksum must pass `check_format` for its kind (a zip opens and its
members read, a CSV's rows are whole, a table has its documented rows × columns, ...), and a
download is recorded ("pinned") only when its length is proven: by the server (Content-Length,
the Content-Range total, chunked framing), by the file's own framing (zip, gzip), or by the
registry's documented shape (`RemoteFile.shape`), which it must have. Otherwise (a table sent
without any length can be cut at a row boundary and still read as a table) it is used for this
run, not pinned, with a warning; a marker beside it makes the next fetch download it again.
Nothing ever appears under a final name unless it is complete and verified (docs/protocol.md#data-sources).
Registration-gated sources are never downloaded: `ManualDownloadRequired` names the portal
and the exact path where each missing file must go.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from alarmbench.data.sources import RemoteFile, Source
from alarmbench.fileio import atomic_path, sha256_file, write_json

try:  # POSIX; elsewhere lock-file updates stay atomic but are not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = "alarmbench-downloader (python-urllib)"


class DownloadError(RuntimeError):
    """A file could not be obtained from any of the places tried."""


class ChecksumError(DownloadError):
    """A file's size or sha256 differs from the published or the locked value."""


class CorruptFileError(ChecksumError):
    """A file with no published checksum is truncated or not a valid file of its kind.

    Nothing is recorded in the lock for it. `lock_entry` is ``(lock file, key)`` when an
    existing lock entry pins exactly this bad file (recorded by an earlier version): the
    user must delete that entry. `delete` lists files the user must delete or replace.
    """

    def __init__(
        self, message: str, *, lock_entry: tuple[Path, str] | None = None, delete: tuple[Path, ...] = ()
    ) -> None:
        super().__init__(message)
        self.lock_entry = lock_entry
        self.delete = delete


class ManualDownloadRequired(DownloadError):
    """Registration-gated files are missing: the user must fetch them from the portal."""

    def __init__(self, message: str, *, portal: str, paths: tuple[Path, ...]) -> None:
        super().__init__(message)
        self.portal = portal
        self.paths = paths


class _Incomplete(Exception):
    """The body ended early or the server answered a resume oddly: worth another attempt."""


# Failures the network or the server may recover from (HTTPError is handled before these).
_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, _Incomplete)


# --------------------------------------------------------------------------- data sets


def fetch_source(
    dataset: str,
    source: Source,
    dest_dir: str | os.PathLike,
    *,
    mirror: str | os.PathLike | None = None,
    lock: HashLock | None = None,
    **download_kwargs: Any,
) -> dict[str, Path]:
    """Fetch every file of `source` into `dest_dir`; keys are the upstream file names.

    Lock entries are keyed ``"<dataset>/<file name>"``. Manual (portal) sources only use
    files already in `dest_dir` or `mirror`, and raise `ManualDownloadRequired` otherwise.
    """
    dest_dir = Path(dest_dir)
    if source.manual:
        return _collect_manual(dataset, source, dest_dir, mirror, lock)
    return {
        remote.name: fetch_file(
            remote, dest_dir, mirror=mirror, lock=lock, key=f"{dataset}/{remote.name}", **download_kwargs
        )
        for remote in source.files
    }


def _collect_manual(
    dataset: str, source: Source, dest_dir: Path, mirror: str | os.PathLike | None, lock: HashLock | None
) -> dict[str, Path]:
    found: dict[str, Path] = {}
    missing: list[RemoteFile] = []
    for remote in source.files:
        path = _local_copy(remote, dest_dir, mirror, lock, f"{dataset}/{remote.name}")
        if path is None:
            missing.append(remote)
        else:
            found[remote.name] = path
    if missing:
        raise _manual_required(dataset, source, dest_dir, mirror, missing)
    return found


def _local_copy(
    remote: RemoteFile, dest_dir: Path, mirror: str | os.PathLike | None, lock: HashLock | None, key: str
) -> Path | None:
    """The verified file from `dest_dir` or `mirror` (directly or via its archive), or None.

    The user placed these files by hand, so a mismatch raises instead of deleting them.
    """
    dest = dest_dir / remote.name
    tried: list[str] = []
    path = _existing(remote, dest, lock, key, tried, discard_corrupt=False) or _from_mirror(
        remote, dest, mirror, lock, key, tried
    )
    if path is not None or remote.archive is None:
        return path
    archive = _local_copy(remote.archive, dest_dir, mirror, lock, _sibling_key(key, remote.archive.name))
    return None if archive is None else _extract(archive, remote, dest, lock, key)


def _manual_required(
    dataset: str, source: Source, dest_dir: Path, mirror: str | os.PathLike | None, missing: list[RemoteFile]
) -> ManualDownloadRequired:
    assert source.portal is not None
    paths = tuple((dest_dir / remote.name).absolute() for remote in missing)
    lines = [
        f"{dataset}: registration-gated data set; it cannot be downloaded automatically.",
        f"Download it by hand from {source.portal}",
        "and place each missing file at exactly this path:",
    ]
    for remote, path in zip(missing, paths):
        alt = ""
        if remote.archive is not None:
            alt = f"  (or the archive {remote.archive.name} at {path.with_name(remote.archive.name)})"
        lines.append(f"  {path}{alt}")
    searched = f" (nothing found below {mirror})" if mirror is not None else ""
    lines.append(
        "Alternatively put the files, under these names, anywhere below a mirror directory and "
        f"pass --mirror DIR (Snakemake: --config mirror=DIR){searched}."
    )
    if source.note:
        lines.append(f"Note: {source.note}")
    return ManualDownloadRequired("\n".join(lines), portal=source.portal, paths=paths)


# --------------------------------------------------------------------------- one file


def fetch_file(
    remote: RemoteFile,
    dest_dir: str | os.PathLike,
    *,
    mirror: str | os.PathLike | None = None,
    lock: HashLock | None = None,
    key: str | None = None,
    **download_kwargs: Any,
) -> Path:
    """Return the verified ``dest_dir/remote.name``, fetching it if needed (see module doc).

    `download_kwargs` go to `download_url` (timeout, retries, backoff, progress).
    Raises ChecksumError on a mismatch, DownloadError listing every route tried otherwise.
    """
    dest = Path(dest_dir) / remote.name
    key = key or remote.name
    tried: list[str] = []
    if _unpinned_marker(dest).exists() and dest.is_file():  # unproven earlier download: try for a proven one
        return _refetch_unpinned(remote, dest, mirror, lock, key, tried, download_kwargs)
    path = _existing(remote, dest, lock, key, tried, discard_corrupt=True) or _from_mirror(
        remote, dest, mirror, lock, key, tried
    )
    if path is not None:
        return path
    if remote.archive is not None:
        return _from_archive(remote, dest, mirror, lock, key, tried, download_kwargs)
    return _from_urls(remote, dest, lock, key, tried, download_kwargs)


def _unpinned_marker(dest: Path) -> Path:
    """Beside a file that was downloaded without a proven length and so is not in the lock."""
    return dest.with_name(f".{dest.name}.unpinned")


def _refetch_unpinned(
    remote: RemoteFile,
    dest: Path,
    mirror: str | os.PathLike | None,
    lock: HashLock | None,
    key: str,
    tried: list[str],
    download_kwargs: dict[str, Any],
) -> Path:
    """`dest` was used unpinned by an earlier run: fetch it again (mirror, then URLs) so that a
    proven copy can replace and pin it; if nothing can be fetched, use it once more, unpinned."""
    try:
        return _from_mirror(remote, dest, mirror, lock, key, tried) or _from_urls(
            remote, dest, lock, key, tried, download_kwargs
        )
    except ChecksumError:  # a mismatch or a damaged download is the user's to see, not to paper over
        raise
    except DownloadError as err:
        if not dest.is_file():
            raise
        verify(dest, remote, lock=lock, key=key, pin=False)
        log.warning(
            "%s: could not fetch it again (%s); using %s from an earlier download whose length was never proven, "
            "still not pinned",
            remote.name,
            str(err).replace("\n", " "),
            dest,
        )
        return dest


def _existing(
    remote: RemoteFile, dest: Path, lock: HashLock | None, key: str, tried: list[str], *, discard_corrupt: bool
) -> Path | None:
    if not dest.is_file():
        return None
    try:
        verify(dest, remote, lock=lock, key=key)
    except CorruptFileError as err:
        if not discard_corrupt:  # placed by the user: theirs to replace
            raise _user_must_delete(err, dest) from None
        dest.unlink()  # a damaged copy must not stay usable under the final name
        if err.lock_entry is not None:  # every fetch would now be refused: the entry is wrong
            raise CorruptFileError(f"{err} ({dest} was deleted)", lock_entry=err.lock_entry) from None
        log.warning("%s; deleting it and fetching again", err)
        tried.append(f"{dest}: {err} (deleted)")
        return None
    except ChecksumError as err:
        if not discard_corrupt:
            raise
        # A stale or damaged cached copy must not stay usable under the final name.
        log.warning("%s; deleting it and fetching again", err)
        dest.unlink()
        tried.append(f"{dest}: {err} (deleted)")
        return None
    return dest


def _user_must_delete(err: CorruptFileError, path: Path) -> CorruptFileError:
    """`err` for a file we may not delete ourselves (mirror, hand-placed): name it for the user."""
    return CorruptFileError(
        f"{err}; delete or replace {path.absolute()}", lock_entry=err.lock_entry, delete=(*err.delete, path.absolute())
    )


def _from_mirror(
    remote: RemoteFile,
    dest: Path,
    mirror: str | os.PathLike | None,
    lock: HashLock | None,
    key: str,
    tried: list[str],
) -> Path | None:
    if mirror is None:
        return None
    hits = find_all_in_mirror(Path(mirror), remote.name)
    if not hits:
        tried.append(f"mirror {mirror}: no file named {remote.name}")
        return None
    # Several data sets share upstream names (MNIST and Fashion-MNIST): take the first copy
    # that verifies; if none does, a bad mirror copy is an error, not a reason to go online.
    errors = []
    for found in hits:
        try:
            verify(found, remote, lock=lock, key=key)
        except CorruptFileError as err:
            errors.append(_user_must_delete(err, found))
            continue
        except ChecksumError as err:
            errors.append(err)
            continue
        _place(found, dest)
        _unpinned_marker(dest).unlink(missing_ok=True)  # verified against the lock or now pinned in it
        log.info("%s: taken from mirror %s", remote.name, found)
        return dest
    if len(errors) == 1:
        raise errors[0]
    message = "; ".join(map(str, errors))
    if all(isinstance(err, CorruptFileError) for err in errors):
        corrupt = [err for err in errors if isinstance(err, CorruptFileError)]
        entry = next((err.lock_entry for err in corrupt if err.lock_entry is not None), None)
        raise CorruptFileError(message, lock_entry=entry, delete=tuple(p for err in corrupt for p in err.delete))
    raise ChecksumError(message)


def _from_urls(
    remote: RemoteFile,
    dest: Path,
    lock: HashLock | None,
    key: str,
    tried: list[str],
    download_kwargs: dict[str, Any],
) -> Path:
    part = _part_path(dest)
    published = remote.sha256 is not None or remote.md5 is not None or remote.size is not None
    corrupt = False
    for url in remote.urls:
        try:
            complete = _download_part(url, part, expected_size=remote.size, **download_kwargs)
        except DownloadError as err:
            kept = f" (the {part.stat().st_size} bytes received are kept in {part} to resume)" if part.exists() else ""
            tried.append(f"{err}{kept}")
            continue  # the next URL may serve the same file
        # A close-delimited body (no length from the server) may have been cut short unnoticed.
        unproven = not complete and not published
        # Pinned only with a proven length: the file's own framing, or its documented shape.
        proven_by = _length_proof(remote) if unproven else "server"
        # Verify before the rename: the final name only ever holds a good file.
        try:
            if unproven and _format_checker(remote.name) is None:
                raise CorruptFileError(
                    f"{remote.name}: the server sent no length, so the download cannot be proven complete, "
                    f"and files of this kind have no format check"
                )
            verify(part, remote, lock=lock, key=key, pin=proven_by is not None)
        except CorruptFileError as err:
            part.unlink(missing_ok=True)  # never resume from, or use, a bad download
            if err.lock_entry is not None:  # the lock pins these very bytes: another URL cannot help
                raise CorruptFileError(f"{err} (downloaded from {url}; deleted)", lock_entry=err.lock_entry) from None
            why = " (the server sent no length, so the body was probably cut short)" if unproven else ""
            tried.append(f"{url}: {err}{why}; deleted")
            corrupt = True
            continue  # another URL may serve a good copy
        except ChecksumError as err:
            part.unlink(missing_ok=True)  # never resume from, or use, a bad download
            raise ChecksumError(f"{err} (downloaded from {url}; deleted)") from None
        marker = _unpinned_marker(dest)
        if proven_by is None:
            _warn_unpinned(remote, url, dest, lock, key)
            marker.touch()  # before the file appears: never an unmarked unpinned copy
        elif unproven:
            log.info("%s: %s sent no length; its %s proves it complete", remote.name, url, proven_by)
        os.replace(part, dest)
        if proven_by is not None:
            marker.unlink(missing_ok=True)
        return dest
    if not remote.urls:
        tried.append("no download URL known")
    error = _give_up(remote.name, tried)
    raise CorruptFileError(str(error)) if corrupt else error


def _length_proof(remote: RemoteFile) -> str | None:
    """What proves a download complete that came without a length from the server, or None.

    Zip (central directory at the end) and gzip (trailer with CRC and length) fail their format
    check when cut anywhere; a text table cut at a row boundary reads as a shorter table, so
    only its documented shape (checked by `verify`) can prove it whole.
    """
    suffix = Path(remote.name).suffix.lower()
    if suffix in _SELF_DELIMITED:
        return f"{suffix} framing"
    if remote.shape is not None and _format_checker(remote.name) is _check_table:
        return f"documented shape ({remote.shape[0]} rows × {remote.shape[1]} columns)"
    return None


def _warn_unpinned(remote: RemoteFile, url: str, dest: Path, lock: HashLock | None, key: str) -> None:
    pinned = "" if lock is None else f"; it is used for this run but NOT pinned in {lock.path} (entry {key!r})"
    log.warning(
        "%s: %s sent no Content-Length and the registry documents no rows × columns for it, so the download "
        "cannot be proven complete (a table cut at a row boundary still reads as a table)%s; the next fetch "
        "downloads it again",
        remote.name,
        url,
        pinned,
    )


def _from_archive(
    remote: RemoteFile,
    dest: Path,
    mirror: str | os.PathLike | None,
    lock: HashLock | None,
    key: str,
    tried: list[str],
    download_kwargs: dict[str, Any],
) -> Path:
    assert remote.archive is not None
    try:
        # The archive stays in dest_dir: other members of it need no second download.
        archive = fetch_file(
            remote.archive,
            dest.parent,
            mirror=mirror,
            lock=lock,
            key=_sibling_key(key, remote.archive.name),
            **download_kwargs,
        )
    except ChecksumError:
        raise
    except DownloadError as err:
        raise _give_up(remote.name, [*tried, f"its archive {remote.archive.name}: {err}"]) from None
    return _extract(archive, remote, dest, lock, key)


def _give_up(name: str, tried: list[str]) -> DownloadError:
    return DownloadError(f"could not fetch {name}; tried:\n  " + "\n  ".join(tried))


def _sibling_key(key: str, name: str) -> str:
    """Lock key of another file of the same data set: "<dataset>/<name>"."""
    prefix, sep, _ = key.rpartition("/")
    return f"{prefix}{sep}{name}"


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


# --------------------------------------------------------------------------- mirror and archives


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


def _place(src: Path, dest: Path) -> None:
    """Put a verified mirror file at `dest` atomically: a hard link when possible, else a copy."""
    with atomic_path(dest) as tmp:
        tmp.unlink()  # os.link needs a free name
        try:
            os.link(src, tmp)  # instant, no extra space
        except OSError:  # another file system, or links not permitted
            shutil.copyfile(src, tmp)


def _extract(archive: Path, remote: RemoteFile, dest: Path, lock: HashLock | None, key: str) -> Path:
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


# --------------------------------------------------------------------------- verification


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
        problem = _format_problem(path, remote.name, digest) or _shape_problem(path, remote, digest)
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
    if by_format and entry.get("size", size) < size and _format_problem(path, remote.name) is None:
        shorter = (
            f". The entry pins {entry['size']} bytes, fewer than this valid file's {size}: it was probably "
            f"recorded from a truncated download by an earlier version"
        )
    return f"{shorter}. If the new file is right, delete the entry {key!r} from {lock.path} and fetch again"


# --------------------------------------------------------------------------- format checks

# Formats (and shapes) already found valid in this process, as (checker, sha256): a file that several
# archive members or data sets share is not decompressed again.
_FORMAT_OK: set[tuple[Any, ...]] = set()
_TEXT_PROBE = 1 << 16  # bytes read at each end of a text table
_HTML = (b"<!doctype html", b"<html")


class _Malformed(Exception):
    """What a format check found wrong."""


def check_format(path: str | os.PathLike, name: str | None = None) -> str | None:
    """What is wrong with `path` as a file of its kind, or None when it reads (or the kind is unknown).

    The kind is the suffix of `name` (default: the file's own name): ``.zip``/``.npz`` open as
    zip archives whose members all pass their CRC (and, for .npz, every array loads);
    ``.gz`` decompresses to its end; ``.mat`` loads (v7.3 files: HDF5 signature only);
    ``.csv``/``.txt`` decode, and the rows at the start and the last row have the header's
    number of fields, so a table cut short mid-row is caught without parsing all of it.
    """
    return _format_problem(Path(path), name or Path(path).name)


def _format_problem(path: Path, name: str, digest: str | None = None) -> str | None:
    checker = _format_checker(name)
    if checker is None or (digest is not None and (checker.__name__, digest) in _FORMAT_OK):
        return None
    what = checker.__doc__ or "a valid file"
    try:
        checker(path)
    except MemoryError:
        raise
    except _Malformed as err:
        return f"not {what}: {err}"
    except Exception as err:  # whatever the reader raises on a damaged file
        return f"not {what}: {type(err).__name__}: {err}"
    if digest is not None:
        _FORMAT_OK.add((checker.__name__, digest))
    return None


def _shape_problem(path: Path, remote: RemoteFile, digest: str) -> str | None:
    """How `path` differs from the table shape its registry entry documents, or None."""
    if remote.shape is None or ("shape", digest, remote.shape) in _FORMAT_OK:
        return None
    want_rows, want_columns = remote.shape
    rows = 0
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=_delimiter(fh.readline().removeprefix("\ufeff")) or ",")
        for row in reader:  # every row: a table cut at a row boundary has only fewer rows
            if not row:
                continue
            if len(row) != want_columns:
                line = reader.line_num + 1  # the header was read before the reader started
                return f"not the documented table: line {line} has {len(row)} fields, not {want_columns}"
            rows += 1
    if rows != want_rows:
        return f"not the documented table: {rows} data rows, the registry documents {want_rows}"
    _FORMAT_OK.add(("shape", digest, remote.shape))
    return None


def _format_checker(name: str) -> Any:
    """The format check for a file called `name`, by its suffix; None for kinds with none."""
    return _FORMAT_CHECKS.get(Path(name).suffix.lower())


def _check_zip(path: Path) -> None:
    """a valid zip archive"""
    with zipfile.ZipFile(path) as zf:
        bad = zf.testzip()  # reads every member, checking its CRC
    if bad is not None:
        raise _Malformed(f"member {bad!r} fails its CRC check")


def _check_npz(path: Path) -> None:
    """a valid .npz archive"""
    import numpy as np

    _check_zip(path)
    with np.load(path, allow_pickle=False) as z:  # as the loaders read it
        for array in z.files:
            z[array]


def _check_gzip(path: Path) -> None:
    """a valid gzip file"""
    with gzip.open(path, "rb") as fh:
        while fh.read(CHUNK):  # EOFError when cut short, BadGzipFile on a CRC mismatch
            pass


def _check_mat(path: Path) -> None:
    """a valid MATLAB file"""
    from scipy.io import loadmat

    try:
        loadmat(path)
    except NotImplementedError:  # v7.3 is HDF5, which scipy does not read: check its signatures
        with open(path, "rb") as fh:
            head = fh.read(520)
        if not head.startswith(b"MATLAB 7.3") or head[512:520] != b"\x89HDF\r\n\x1a\n":
            raise _Malformed("neither a MATLAB v5 nor a v7.3 (HDF5) file") from None


def _check_table(path: Path) -> None:
    """a complete text table"""
    size = path.stat().st_size
    if size == 0:
        raise _Malformed("the file is empty")
    with open(path, "rb") as fh:
        head = fh.read(_TEXT_PROBE)
        fh.seek(max(size - _TEXT_PROBE, 0))
        tail = fh.read()
    if b"\0" in head or b"\0" in tail:
        raise _Malformed("it holds NUL bytes, so it is binary, not text")
    if head.lstrip().lower().startswith(_HTML):
        raise _Malformed("it is an HTML page")
    whole = len(head) == size
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if not whole:  # the probe's last line may be cut by the probe itself: judge only whole lines
        text = text[: max(text.rfind("\n"), 0)]
    lines = text.splitlines()
    if not lines:
        return
    delimiter = _delimiter(lines[0])
    if delimiter is None:
        return  # one column: rows have no structure to check
    rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
    last = tail.decode("utf-8", errors="replace").rstrip("\r\n").rsplit("\n", 1)[-1]
    if last.count('"') % 2:  # (a quoted field spanning lines ending the table would look the same)
        raise _Malformed(f"the last line ends inside a quoted field: {last[-60:]!r}")
    if not whole:
        rows += [row for row in csv.reader([last], delimiter=delimiter) if row]
    width = len(rows[0])
    for number, row in enumerate(rows[1:], 2):
        if len(row) != width:
            which = "the last row" if number == len(rows) else f"row {number}"
            raise _Malformed(f"{which} has {len(row)} fields, the first has {width}")


def _delimiter(line: str) -> str | None:
    """The field separator of a table whose first line is `line`, or None for one column."""
    counts = {d: len(next(csv.reader([line], delimiter=d))) for d in ",;\t|"}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] > 1 else None


# Kinds whose own framing shows where they end: a cut anywhere fails their format check.
_SELF_DELIMITED = frozenset({".zip", ".npz", ".gz", ".tgz"})

_FORMAT_CHECKS = {
    ".zip": _check_zip,
    ".npz": _check_npz,
    ".gz": _check_gzip,
    ".tgz": _check_gzip,
    ".mat": _check_mat,
    ".csv": _check_table,
    ".txt": _check_table,
}


# --------------------------------------------------------------------------- HTTP


def download_url(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_size: int | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    progress: bool = True,
) -> Path:
    """Download `url` to `dest` through ``dest.part``, renamed only once complete.

    An existing ``.part`` is resumed with an HTTP Range request. Connection errors,
    timeouts (`timeout` seconds per socket operation, so a stalled server fails fast),
    truncated bodies and HTTP 5xx/408/429 are retried `retries` more times, sleeping
    ``backoff * 2**attempt`` seconds; other HTTP errors (404, 403, ...) fail at once.
    The content is not verified here: `fetch_file` does that (a body without any length
    from the server cannot be proven complete here either).
    """
    dest = Path(dest)
    part = _part_path(dest)
    _download_part(
        url, part, expected_size=expected_size, timeout=timeout, retries=retries, backoff=backoff, progress=progress
    )
    os.replace(part, dest)
    return dest


def _download_part(
    url: str,
    part: Path,
    *,
    expected_size: int | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    progress: bool = True,
) -> bool:
    """Bring `part` to the complete body of `url`, retrying transient failures.

    Returns whether completeness is proven: by the server's length (Content-Length, the
    Content-Range total, chunked framing) or `expected_size`. False means the server sent
    no length and closed the connection: the body may have been cut short unnoticed.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    last: BaseException | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d/%d in %.1f s", url, last, attempt, retries, delay)
            time.sleep(delay)
        try:
            return _attempt(url, part, expected_size, timeout, progress)
        except urllib.error.HTTPError as err:
            err.close()
            if not _retryable_status(err.code):
                raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
            last = err
        except _TRANSIENT as err:
            last = err
    raise DownloadError(f"{url}: failed after {retries + 1} attempts; last error: {last}")


def _retryable_status(code: int) -> bool:
    return code >= 500 or code in (408, 429)


def _attempt(url: str, part: Path, expected_size: int | None, timeout: float, progress: bool) -> bool:
    """One request: continue `part` if the server honours Range, else rewrite it from zero.

    Returns whether the body's length was known (see `_download_part`).
    """
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset >= expected_size:
        if offset == expected_size:
            return True  # completed by an earlier run; verification judges the content
        part.unlink()  # longer than the file can be: garbage
        offset = 0
    request = urllib.request.Request(url, headers=_request_headers(offset))
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not offset:
            raise
        err.close()
        part.unlink()  # our offset lies past the end: the part is stale
        raise _Incomplete("server rejected the resume offset; restarting from zero") from err
    with response:
        start = _resume_start(response, offset, part)
        served = _served_total(response, start)
        total = served if served is not None else expected_size
        # A truncated chunked body raises IncompleteRead, so its framing is a length too.
        framed = served is not None or bool(getattr(response, "chunked", False))
        written = _stream(response, part, start, total, progress)
    # http.client returns EOF quietly when a connection drops early: compare lengths.
    if total is not None and written < total:
        raise _Incomplete(f"received {written} of {total} bytes; the connection closed early")
    return framed or expected_size is not None


def _served_total(response: http.client.HTTPResponse, start: int) -> int | None:
    """The whole file's length by the server: the Content-Range total, else start + Content-Length."""
    if response.status == 206:
        match = re.search(r"/(\d+)\s*$", response.headers.get("Content-Range", ""))
        if match:
            return int(match.group(1))
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def _request_headers(offset: int) -> dict[str, str]:
    # identity encoding: offsets and Content-Length must count the bytes we store
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return headers


def _resume_start(response: http.client.HTTPResponse, offset: int, part: Path) -> int:
    """Where the body goes in the file: `offset` for a matching 206, else 0 (full body)."""
    if response.status != 206:
        return 0  # 200: the server ignored Range (or none was sent); start over
    content_range = response.headers.get("Content-Range", "")
    match = re.match(r"bytes\s+(\d+)-", content_range)
    if match is None or int(match.group(1)) != offset:
        part.unlink(missing_ok=True)
        raise _Incomplete(f"asked for bytes {offset}- but got Content-Range {content_range!r}; restarting")
    return offset


def _stream(response: http.client.HTTPResponse, part: Path, start: int, total: int | None, progress: bool) -> int:
    """Write the body to `part` from byte `start`; return the file's length afterwards."""
    written = start
    bar = tqdm(
        total=total,
        initial=start,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=part.name.removesuffix(".part"),
        leave=False,
        disable=not (progress and sys.stderr.isatty()),
    )
    with open(part, "ab" if start else "wb") as fh, bar:
        # read1 returns what has arrived, so a stall loses nothing already received.
        while chunk := response.read1(CHUNK):
            fh.write(chunk)
            written += len(chunk)
            bar.update(len(chunk))
    return written
