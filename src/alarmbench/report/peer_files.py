"""Which peer files a run uses (config `peers:` / `--peers`), checked before any job.

Apart from `alarmbench.report.peers` (which reads them with pandas and compares with scipy) so that
the Snakefile can check them while it parses without importing either (issue 25: every dry run
pays for what the Snakefile imports).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from alarmbench.errors import InputError

#: The peer files used when the config names none (`peers:` unset), relative to the working directory.
DEFAULT_PEERS = {"mammography": "../shared/peers/authors_code_mammography.csv"}


def resolve_peers(spec: Mapping | None, root: str | os.PathLike = ".") -> dict[str, Path]:
    """The peer files to use: `spec` None → those of `DEFAULT_PEERS` that exist under `root`
    (none is no error); a mapping → every file it names, which must exist (`{}`: none)."""
    root = Path(root)
    if spec is None:
        return {d: root / p for d, p in DEFAULT_PEERS.items() if (root / p).is_file()}
    if not isinstance(spec, Mapping):
        raise InputError(f"peers: expected a mapping of data set → CSV file, got {spec!r}")
    out = {}
    for dataset, path in spec.items():
        full = root / str(path)
        if not full.is_file():
            raise InputError(f"peers: {dataset}: {path} is not a file (resolved: {full.resolve()})")
        out[str(dataset)] = full
    return out


def parse_peers(items) -> dict[str, str]:
    """Command-line `DATASET=CSV` items → the `peers:` mapping (`[]` → none)."""
    out = {}
    for item in items:
        dataset, sep, path = str(item).partition("=")
        if not sep or not dataset or not path:
            raise InputError(f"--peers: expected DATASET=CSV, got {item!r}")
        out[dataset] = path
    return out
