"""Where a data set's raw files come from: upstream URLs, checksums, and manual portals."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RemoteFile:
    """One upstream file. `name` is its upstream file name: the key for mirror look-ups.

    `sha256`/`size` are the published (or, for files we verified ourselves, the known) values;
    None means unknown: the hash is then recorded in the lock file at first download and
    verified against it afterwards.
    """

    name: str
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    size: int | None = None
    # A published md5 (MNIST, Fashion-MNIST, EMNIST publish only md5): verified when no sha256 is known.
    md5: str | None = None
    # Files shipped inside an archive: the archive to fetch and this file's path inside it.
    # The mirror is still searched for `name` itself first.
    archive: "RemoteFile | None" = None
    member: str | None = None
    # A text table's (data rows, columns) as its upstream documentation gives them (header not
    # counted): checked on every copy, and what lets a download that came without a length be pinned.
    shape: tuple[int, int] | None = None


@dataclass(frozen=True)
class Source:
    """A complete set of raw files for one data set, plus the loader that reads them.

    A data set may list several alternative sources holding the same data
    (e.g. Mammography as ODDS `mammography.mat` or ADBench `23_mammography.npz`).
    """

    files: tuple[RemoteFile, ...]
    loader: str  # key into alarmbench.data.loaders.LOADERS
    # Registration-gated sources: the portal the user must visit; no URL download is tried.
    portal: str | None = None
    note: str = ""
    options: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def manual(self) -> bool:
        return self.portal is not None
