"""fetch and prepare: raw files of a data set (download, mirror or user file) → one prepared table."""

from __future__ import annotations

import logging
from pathlib import Path

from alarmbench.data import registry
from alarmbench.data.download import HashLock
from alarmbench.data.prepare import fetch, load
from alarmbench.errors import DamagedFileError
from alarmbench.fileio import read_json, sha256_file, write_json
from alarmbench.stagelog import shape, timed

log = logging.getLogger(__name__)


def fetch_stage(*, dataset: str, raw_dir: str, mirror: str | None, manifest: str, user: dict | None = None) -> None:
    spec = registry.get(dataset, user)
    raw_root = Path(raw_dir)
    log.info("fetch: data set %s into %s (mirror %s)", dataset, raw_root / dataset, mirror)
    with timed(log, "fetch"):
        source, files = fetch(spec, raw_root / dataset, mirror=mirror,
                              lock=HashLock(raw_root / "checksums.lock.json"))  # as data.api.lock_for
    for name, path in sorted(files.items()):
        log.info("raw file %s: %s (%d bytes)", name, path, Path(path).stat().st_size)
    write_json(manifest, {"dataset": dataset, "loader": source.loader,
                          "files": {n: {"path": str(p), "sha256": sha256_file(p)} for n, p in sorted(files.items())}},
               sealed=True)


def prepare_stage(*, dataset: str, manifest: str, out: str, user: dict | None = None) -> None:
    spec = registry.get(dataset, user)
    info = read_json(manifest)
    source = next(s for s in spec.sources if s.loader == info["loader"])
    files = {n: Path(f["path"]) for n, f in info["files"].items()}
    for name, path in files.items():  # the manifest's hashes key this job: the files must still match
        if sha256_file(path) != info["files"][name]["sha256"]:
            # The manifest is what the job may remove (never the raw file: it may be the user's own):
            # without it, fetch runs again and checks (or fetches anew) the file.
            raise DamagedFileError(path, f"changed since it was fetched (its sha256 differs from {manifest})",
                                   remove=(manifest,))
    with timed(log, f"load with {source.loader}"):
        table = load(spec, source, files)
    log.info("prepared table: %s", shape(table.X))
    with timed(log, "write prepared table"):
        table.save(out)
