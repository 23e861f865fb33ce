"""What every part of the downloader shares: its errors, and how much it reads at a time."""

from __future__ import annotations

from pathlib import Path

CHUNK = 1 << 20  # bytes per read when streaming, hashing, extracting or decompressing


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
