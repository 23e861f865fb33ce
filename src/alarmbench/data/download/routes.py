"""Which route a file takes (module doc of `alarmbench.data.download`): the local copy, the
mirror, the URLs, or its archive; and what is pinned, warned about or deleted on the way."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alarmbench.data.download.common import ChecksumError, CorruptFileError, DownloadError, ManualDownloadRequired
from alarmbench.data.download.formats import format_checker, length_proof
from alarmbench.data.download.lock import HashLock, verify
from alarmbench.data.download.mirror import extract, find_all_in_mirror, place
from alarmbench.data.download.transfer import download_part, part_path
from alarmbench.data.sources import RemoteFile, Source

log = logging.getLogger(__name__)


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
    return None if archive is None else extract(archive, remote, dest, lock, key)


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
        place(found, dest)
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
    part = part_path(dest)
    published = remote.sha256 is not None or remote.md5 is not None or remote.size is not None
    corrupt = False
    for url in remote.urls:
        try:
            complete = download_part(url, part, expected_size=remote.size, **download_kwargs)
        except DownloadError as err:
            kept = f" (the {part.stat().st_size} bytes received are kept in {part} to resume)" if part.exists() else ""
            tried.append(f"{err}{kept}")
            continue  # the next URL may serve the same file
        # A close-delimited body (no length from the server) may have been cut short unnoticed.
        unproven = not complete and not published
        # Pinned only with a proven length: the file's own framing, or its documented shape.
        proven_by = length_proof(remote) if unproven else "server"
        # Verify before the rename: the final name only ever holds a good file.
        try:
            if unproven and format_checker(remote.name) is None:
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
    return extract(archive, remote, dest, lock, key)


def _give_up(name: str, tried: list[str]) -> DownloadError:
    return DownloadError(f"could not fetch {name}; tried:\n  " + "\n  ".join(tried))


def _sibling_key(key: str, name: str) -> str:
    """Lock key of another file of the same data set: "<dataset>/<name>"."""
    prefix, sep, _ = key.rpartition("/")
    return f"{prefix}{sep}{name}"
