"""The sizes a cell's jobs see, without reading data: from a cell's split.json (exact), else the
prepared table's or a user NPZ's array header, a user file's summary, or the registry's declared
(documented) shape, with the split protocol's fractions applied (SPEC §1.1)."""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alarmbench.data import registry
from alarmbench.data.spec import DatasetSpec, DeclaredShape
from alarmbench.data.splits import HALF
from alarmbench.plan.sizes import n_features


@dataclass(frozen=True)
class Shapes:
    """The sizes a cell's jobs see (rows of each split part, one sample's shape)."""

    dataset: str
    sample_shape: tuple[int, ...]
    n_train: int  # x_train rows (normal + known anomalies)
    n_normal_train: int  # the targets' training rows
    n_holdout: int  # R2-AD2's 75 % hold-out of them
    n_val: int
    n_test: int
    source: str  # where the sizes come from
    table_rows: int | None = None
    n_known: int | None = None  # known anomalies in training (the effective n)

    @property
    def n_features(self) -> int:
        return n_features(self.sample_shape)

    @property
    def n_rows(self) -> int:
        return self.n_train + self.n_val + self.n_test


def known_count(n: int | str, train_anomalies: int) -> int:
    """The split's effective n (data.splits.known_anomaly_count): "half" is ⌊A_train / 2⌋; a count
    (already capped by grid.effective_n) is taken as is, at most the training anomalies."""
    return train_anomalies // 2 if n == HALF else min(int(n), train_anomalies)


def shapes_from_meta(dataset: str, meta: Mapping, sample_shape: tuple[int, ...], source: str) -> Shapes:
    """The exact shapes of a split, from its record (split.json, `Split.meta`)."""
    c = meta["counts"]
    return Shapes(dataset, tuple(sample_shape), sum(c["train"].values()), int(c["n_normal_train"]), int(c["n_holdout"]),
                  sum(c["val"].values()), sum(c["test"].values()), source,
                  meta.get("inputs", {}).get("prepared_rows"), int(c.get("n_known_anomalies", 0)))


def shapes_from_split(dataset: str, split_json: str | Path, sample_shape: tuple[int, ...]) -> Shapes:
    return shapes_from_meta(dataset, json.loads(Path(split_json).read_text()), sample_shape, str(split_json))


def protocol_shapes(dataset: str, spec: DatasetSpec, experiment: str, declared: DeclaredShape, n: int | str,
                    source: str, p_test: float = 0.2, p_val: float = 0.05, holdout: float = 0.75) -> Shapes:
    """The split protocol's fractions applied to a table of known size: the official test part or
    20 % test, 5 % of the rest for validation, the experiment's normal rows for the targets and
    its train-anomaly rows for the known anomalies (capped at n). Without class counts the
    registry's anomaly total is used; without either every row counts as normal (an upper bound)."""
    rows = declared.rows
    setup = spec.preset(experiment)
    n_test = declared.test_rows if declared.test_rows is not None else round(rows * p_test)
    pool = (rows - n_test) / rows  # without per-part counts: each class's share outside the test part
    if declared.class_rows is not None:
        test = declared.test_class_rows
        outside = ({c: v - test.get(c, 0) for c, v in declared.class_rows.items()} if test is not None else
                   {c: v * pool for c, v in declared.class_rows.items()})
        normal = sum(outside.get(c, 0) for c in setup.normal)
        anomalies = sum(outside.get(c, 0) for c in setup.train_anomalies)
    else:
        normal = (rows - (spec.n_anomalies_total or 0)) * pool
        anomalies = (spec.n_anomalies_total or 0) * pool
    n_val = round((rows - n_test) * p_val)
    n_normal_train = math.floor(normal * (1 - p_val))
    known = known_count(n, math.floor(anomalies * (1 - p_val)))
    return Shapes(dataset, declared.sample_shape, n_normal_train + known, n_normal_train,
                  math.floor(n_normal_train * holdout), n_val, n_test, source, rows, known)


def _npy_shape(path: Path, member: str) -> tuple[int, ...] | None:
    """The shape of array `member` of an .npz from its header only (the data is not read)."""
    try:
        with zipfile.ZipFile(path) as z, z.open(f"{member}.npy") as f:
            fmt = np.lib.format
            version = fmt.read_magic(f)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, _ = read(f)
            return tuple(int(s) for s in shape)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return None


def table_shape(dataset: str, config: Mapping) -> tuple[tuple[int, ...], str] | None:
    """(X's shape, its file) from the prepared table or a user NPZ, headers only; None if neither."""
    prepared = Path(config.get("prepared_dir", "data/prepared")) / f"{dataset}.npz"
    candidates = [(prepared, "X")]
    user = (config.get("user_datasets") or {}).get(dataset)
    if user and str(user.get("path", "")).endswith(".npz"):
        candidates.append((Path(user["path"]), user.get("x_key", "X")))
    for path, member in candidates:
        if path.exists():
            shape = _npy_shape(path, member)
            if shape:
                return shape, str(path)
    return None


def _scaled(declared: DeclaredShape, rows: int, sample_shape: tuple[int, ...]) -> DeclaredShape:
    """A declared shape resized to a table's real row count (class shares kept)."""
    classes = None
    if declared.class_rows is not None:
        classes = {c: round(v * rows / declared.rows) for c, v in declared.class_rows.items()}
    test = None if declared.test_rows is None else round(declared.test_rows * rows / declared.rows)
    test_classes = None if declared.test_class_rows is None else {
        c: round(v * rows / declared.rows) for c, v in declared.test_class_rows.items()}
    return DeclaredShape(rows, sample_shape, test, classes, test_classes, exact=False, source=declared.source)


def user_declared(dataset: str, entry: Mapping) -> DeclaredShape:
    """A user data set's size from its file (read once, as the DAG build's checks read it)."""
    from alarmbench.data.userdata import check_user_data

    summary = check_user_data(dataset, dict(entry))
    return DeclaredShape(summary["rows"], (summary["features"],), None, summary["classes"], source=summary["path"])


def declared_shape(dataset: str, config: Mapping) -> tuple[DeclaredShape, str] | None:
    """The documented size of a data set, or a user file's summary; None where neither exists."""
    user = config.get("user_datasets") or {}
    spec = registry.get(dataset, user)
    if dataset in user and "base" not in user[dataset]:
        return user_declared(dataset, user[dataset]), str(user[dataset]["path"])
    if spec.shape is not None:
        return spec.shape, "registry (documented" + (")" if spec.shape.exact else ", upper bound)")
    return None


def cheap_shapes(dataset: str, experiment: str, config: Mapping, n: int | str,
                 split_jsons: Iterable[str | Path] = ()) -> Shapes | None:
    """A data set's shapes without loading its data: a cell's split.json, else the prepared table's
    header, else its declared shape; None if none of them exists."""
    user = config.get("user_datasets") or {}
    spec = registry.get(dataset, user)
    table = table_shape(dataset, config)
    declared = declared_shape(dataset, config)
    sample = table[0][1:] if table is not None else (declared[0].sample_shape if declared else None)
    if sample is not None and len(sample) == 0:
        sample = (1,)
    for path in split_jsons:
        if Path(path).exists() and sample is not None:
            return shapes_from_split(dataset, path, tuple(sample))
    if table is not None:
        (rows, *_), source = table
        base = declared[0] if declared else DeclaredShape(rows, tuple(sample))
        return protocol_shapes(dataset, spec, experiment, _scaled(base, rows, tuple(sample)), n, source)
    if declared is not None:
        return protocol_shapes(dataset, spec, experiment, declared[0], n, declared[1])
    return None


def loaded_shapes(dataset: str, experiment: str, config: Mapping, n: int | str) -> Shapes:
    """Shapes of a data set that is not prepared yet: loads it (raw files or the mirror) to count
    its rows and classes. Raises what loading raises (the caller marks the data set)."""
    from collections import Counter

    from alarmbench.data.api import prepare_dataset

    user = config.get("user_datasets") or {}
    spec = registry.get(dataset, user)
    prep = prepare_dataset(dataset, raw_root=config.get("raw_dir", "data/raw"), mirror=config.get("mirror"),
                           user=user or None)
    labels = np.asarray(prep.labels).astype(str)
    test = None if prep.is_test is None else np.asarray(prep.is_test, bool)
    declared = DeclaredShape(len(prep.X), tuple(prep.X.shape[1:]) or (1,), None if test is None else int(test.sum()),
                             dict(Counter(labels)), None if test is None else dict(Counter(labels[test])))
    return protocol_shapes(dataset, spec, experiment, declared, n, "loaded table")
