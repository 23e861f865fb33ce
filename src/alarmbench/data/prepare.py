"""From raw files to one prepared array file per data set: features, class labels, official split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alarmbench.data import download
from alarmbench.data.loaders import DataFormatError, get_loader
from alarmbench.data.sources import Source
from alarmbench.data.spec import DatasetSpec, default_hparams
from alarmbench.data.table import RawTable
from alarmbench.fileio import load_npz, sha256_file, write_npz


@dataclass
class Prepared:
    """A data set ready for the split protocol (labels are classes, after family mapping)."""

    name: str
    X: np.ndarray
    labels: np.ndarray
    fine_labels: np.ndarray
    is_test: np.ndarray | None
    feature_names: list[str] | None
    meta: dict

    def save(self, path: str | Path) -> None:
        write_npz(
            path, X=self.X, labels=self.labels, fine_labels=self.fine_labels,
            is_test=np.zeros(0, bool) if self.is_test is None else self.is_test,
            feature_names=np.array(self.feature_names or [], dtype=str),
            meta=np.array(json.dumps(self.meta, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: str | Path) -> "Prepared":
        z = load_npz(path)  # its digest checked
        meta = json.loads(str(z["meta"]))
        is_test = z["is_test"] if len(z["is_test"]) else None
        names = [str(n) for n in z["feature_names"]] or None
        return cls(meta["dataset"], z["X"], z["labels"], z["fine_labels"], is_test, names, meta)

    def hparams(self, spec: DatasetSpec):
        return spec.hparams or default_hparams(int(np.prod(self.X.shape[1:])), len(self.X))


def local_user_files(spec: DatasetSpec, source: Source) -> dict[str, Path]:
    """A user data set's files, named by the config itself: its table and its test part if any."""
    paths = [spec.loader_options["path"], *([spec.loader_options["test_path"]] if "test_path" in spec.loader_options
                                           else [])]
    return {f.name: Path(p) for f, p in zip(source.files, paths, strict=True)}


def loader_options(spec: DatasetSpec) -> dict:
    """The loader's keyword options of a data set (the file paths travel as its `files`)."""
    return {k: v for k, v in spec.loader_options.items() if k not in ("path", "test_path")}


def _local_files(spec: DatasetSpec, source: Source, raw_dir: Path, mirror: Path | None) -> dict[str, Path] | None:
    """The source's files if all are already on disk (raw dir or mirror), without any network."""
    if "path" in spec.loader_options:  # user data: the config names the file itself
        return local_user_files(spec, source)
    found = {}
    for f in source.files:
        candidate = raw_dir / f.name
        if not candidate.exists() and mirror is not None:
            candidate = download.find_in_mirror(Path(mirror), f.name)
        if candidate is None or not candidate.exists():
            return None
        found[f.name] = candidate
    return found


def fetch(spec: DatasetSpec, raw_dir: str | Path, *, mirror: str | Path | None = None,
          lock: download.HashLock | None = None) -> tuple[Source, dict[str, Path]]:
    """Make one complete source of `spec` available under raw_dir; prefer sources already on disk.

    Alternative sources hold the same data, so any one satisfies the data set. Files found
    locally are still verified (checksum or lock file) by the downloader.
    """
    raw_dir = Path(raw_dir)
    if "path" in spec.loader_options or not any(s.files for s in spec.sources):
        source = spec.sources[0]
        return source, _local_files(spec, source, raw_dir, None) or {}
    ordered = sorted(spec.sources, key=lambda s: _local_files(spec, s, raw_dir, mirror) is None)
    errors = []
    for source in ordered:
        try:
            return source, download.fetch_source(spec.name, source, raw_dir, mirror=mirror, lock=lock)
        except download.DownloadError as err:
            errors.append(str(err))
    raise download.DownloadError(f"data set {spec.name}: no source could be fetched:\n  - " + "\n  - ".join(errors))


def load(spec: DatasetSpec, source: Source, files: dict[str, Path]) -> Prepared:
    """Run the source's loader and map fine labels to the data set's classes."""
    options = loader_options(spec)
    table: RawTable = get_loader(source.loader)(files, **options)
    fine = table.labels
    if spec.families is not None:
        unknown = sorted(set(fine) - set(spec.families))
        if unknown:
            raise DataFormatError(
                f"{_names(files)}: labels {unknown} are not declared for data set {spec.name} "
                f"(declared: {sorted(spec.families)})")
        classes = np.array([spec.families[v] for v in fine])
    else:
        classes = fine
    undeclared = sorted(set(classes) - set(spec.classes))
    if undeclared:
        raise DataFormatError(
            f"{_names(files)}: classes {undeclared} are not declared for data set {spec.name} "
            f"(declared: {list(spec.classes)})")
    meta = {
        "dataset": spec.name, "loader": source.loader,
        "files": {name: sha256_file(p) for name, p in sorted(files.items())},
        "n_samples": int(len(table.X)), "shape": list(table.X.shape[1:]),
    }
    return Prepared(spec.name, table.X, classes.astype(str), fine, table.is_test, table.feature_names, meta)


def _names(files: dict[str, Path]) -> str:
    return ", ".join(str(p) for p in files.values()) or "(embedded data)"


def info(prep: Prepared) -> dict:
    """Summary printed by `alarmbench data info`: sizes and counts per class (and per official split)."""

    def counts(mask: np.ndarray) -> dict[str, int]:
        values, n = np.unique(prep.labels[mask], return_counts=True)
        return {str(v): int(c) for v, c in zip(values, n)}

    out = {
        "dataset": prep.name, "n_samples": int(len(prep.X)), "n_features": int(np.prod(prep.X.shape[1:])),
        "sample_shape": list(prep.X.shape[1:]), "classes": counts(np.ones(len(prep.X), bool)),
    }
    if prep.is_test is not None:
        out["official_split"] = {
            part: {"n_samples": int(mask.sum()), "classes": counts(mask)}
            for part, mask in (("train", ~prep.is_test), ("test", prep.is_test))
        }
    return out
