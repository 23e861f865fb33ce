"""Does a file read as its kind? The checks that stand in for a checksum nobody published.

A file's kind is its name's suffix. Zip and gzip carry their own framing, so a cut anywhere fails
their check and proves a download whole (`length_proof`); a text table cut at a row boundary still
reads as a table, so only its documented shape (`RemoteFile.shape`, `shape_problem`) proves it.
"""

from __future__ import annotations

import csv
import gzip
import os
import zipfile
from pathlib import Path
from typing import Any

from alarmbench.data.download.common import CHUNK
from alarmbench.data.sources import RemoteFile

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
    return format_problem(Path(path), name or Path(path).name)


def format_problem(path: Path, name: str, digest: str | None = None) -> str | None:
    checker = format_checker(name)
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


def shape_problem(path: Path, remote: RemoteFile, digest: str) -> str | None:
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


def format_checker(name: str) -> Any:
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


def length_proof(remote: RemoteFile) -> str | None:
    """What proves a download complete that came without a length from the server, or None.

    Zip (central directory at the end) and gzip (trailer with CRC and length) fail their format
    check when cut anywhere; a text table cut at a row boundary reads as a shorter table, so
    only its documented shape (checked by `verify`) can prove it whole.
    """
    suffix = Path(remote.name).suffix.lower()
    if suffix in _SELF_DELIMITED:
        return f"{suffix} framing"
    if remote.shape is not None and format_checker(remote.name) is _check_table:
        return f"documented shape ({remote.shape[0]} rows × {remote.shape[1]} columns)"
    return None
