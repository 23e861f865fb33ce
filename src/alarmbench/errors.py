"""The one base class of errors the user fixes from the message alone: what they gave (config
entries, data files), and the state of the files a job reads and writes (a damaged intermediate,
a full or read-only disk).

An `InputError` message says what is wrong and where (file, key, column, row, value), so a
workflow job reports it as one line without a traceback (alarmbench.workflow_log.logged).
Kept free of imports: every job's log wrapper imports it.
"""

from __future__ import annotations


class InputError(ValueError):
    """The user's input is wrong; the message alone tells them what to fix."""


class DamagedFileError(InputError):
    """A file the pipeline wrote earlier fails its check when read back (content digest mismatch,
    truncated, unparseable). `path`: the damaged file; `remove`: what to delete so that the
    workflow rebuilds it (a feature cache's whole folder, a split's .npz and .json), which a
    workflow job deletes before it fails when that is one of its declared inputs."""

    def __init__(self, path, reason: str, remove=()) -> None:
        self.path, self.reason = str(path), reason
        self.remove = tuple(str(p) for p in remove) or (self.path,)
        super().__init__(f"{self.path}: {reason}")


class WriteError(InputError):
    """An output could not be written (disk full, no permission, read-only file system); the
    message names the path and the free space. Nothing half-written is left under its name."""
