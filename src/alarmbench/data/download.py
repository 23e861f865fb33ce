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
first time are recorded in a `HashLock` file and every later fetch must match them.
Nothing ever appears under a final name unless it is complete and verified (DESIGN §8).
Registration-gated sources are never downloaded: `ManualDownloadRequired` names the portal
and the exact path where each missing file must go.
"""

from __future__ import annotations

import contextlib
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
    path = _existing(remote, dest, lock, key, tried, discard_corrupt=True) or _from_mirror(
        remote, dest, mirror, lock, key, tried
    )
    if path is not None:
        return path
    if remote.archive is not None:
        return _from_archive(remote, dest, mirror, lock, key, tried, download_kwargs)
    return _from_urls(remote, dest, lock, key, tried, download_kwargs)


def _existing(
    remote: RemoteFile, dest: Path, lock: HashLock | None, key: str, tried: list[str], *, discard_corrupt: bool
) -> Path | None:
    if not dest.is_file():
        return None
    try:
        verify(dest, remote, lock=lock, key=key)
    except ChecksumError as err:
        if not discard_corrupt:
            raise
        # A stale or damaged cached copy must not stay usable under the final name.
        log.warning("%s; deleting it and fetching again", err)
        dest.unlink()
        tried.append(f"{dest}: {err} (deleted)")
        return None
    return dest


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
        except ChecksumError as err:
            errors.append(err)
            continue
        _place(found, dest)
        log.info("%s: taken from mirror %s", remote.name, found)
        return dest
    raise errors[0] if len(errors) == 1 else ChecksumError("; ".join(map(str, errors)))


def _from_urls(
    remote: RemoteFile,
    dest: Path,
    lock: HashLock | None,
    key: str,
    tried: list[str],
    download_kwargs: dict[str, Any],
) -> Path:
    part = _part_path(dest)
    for url in remote.urls:
        try:
            _download_part(url, part, expected_size=remote.size, **download_kwargs)
        except DownloadError as err:
            tried.append(str(err))
            continue  # the next URL may serve the same file
        # Verify before the rename: the final name only ever holds a good file.
        try:
            verify(part, remote, lock=lock, key=key)
        except ChecksumError as err:
            part.unlink(missing_ok=True)  # never resume from, or use, a bad download
            raise ChecksumError(f"{err} (downloaded from {url}; deleted)") from None
        os.replace(part, dest)
        return dest
    if not remote.urls:
        tried.append("no download URL known")
    raise _give_up(remote.name, tried)


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
    path: str | os.PathLike, remote: RemoteFile, *, lock: HashLock | None = None, key: str | None = None
) -> str:
    """Check `path` against the published size/sha256, else against the lock entry `key`.

    With neither, the file's values are recorded in `lock` (when given). Returns the
    sha256; raises ChecksumError naming the file, the expected and the actual value.
    """
    path = Path(path)
    key = key or remote.name
    entry = lock.get(key) if lock is not None else None

    size = path.stat().st_size  # cheap check first: no hashing of an obviously wrong file
    want_size, origin = _expected(remote.size, entry, "size", lock)
    if want_size is not None and size != want_size:
        raise _mismatch(remote, path, "size", f"{want_size} bytes", f"{size} bytes", origin)

    digest = sha256_file(path)
    want_sha, origin = _expected(remote.sha256, entry, "sha256", lock)
    if remote.sha256 is None and remote.md5 is not None:
        actual_md5 = _md5_file(path)
        if actual_md5 != remote.md5.lower():
            raise _mismatch(remote, path, "md5", remote.md5, actual_md5, "published")
    if want_sha is None:
        if lock is not None:
            lock.record(key, digest, size)
    elif digest != want_sha.lower():
        raise _mismatch(remote, path, "sha256", want_sha, digest, origin)
    return digest


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _expected(published: Any, entry: dict[str, Any] | None, field: str, lock: HashLock | None) -> tuple[Any, str]:
    if published is not None:
        return published, "published"
    if entry is not None and lock is not None:
        return entry[field], f"recorded in {lock.path}"
    return None, ""


def _mismatch(remote: RemoteFile, path: Path, what: str, expected: str, actual: str, origin: str) -> ChecksumError:
    return ChecksumError(f"{remote.name}: {what} mismatch for {path}: expected {expected} ({origin}), got {actual}")


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
    The content is not verified here: `fetch_file` does that.
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
) -> None:
    """Bring `part` to the complete body of `url`, retrying transient failures."""
    part.parent.mkdir(parents=True, exist_ok=True)
    last: BaseException | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d/%d in %.1f s", url, last, attempt, retries, delay)
            time.sleep(delay)
        try:
            _attempt(url, part, expected_size, timeout, progress)
            return
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


def _attempt(url: str, part: Path, expected_size: int | None, timeout: float, progress: bool) -> None:
    """One request: continue `part` if the server honours Range, else rewrite it from zero."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset >= expected_size:
        if offset == expected_size:
            return  # completed by an earlier run; verification judges the content
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
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else expected_size
        written = _stream(response, part, start, total, progress)
    # http.client returns EOF quietly when a connection drops early: compare lengths.
    if total is not None and written < total:
        raise _Incomplete(f"body ended after {written} of {total} bytes")


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
