"""Data sets declared by the user in the config (a CSV with a label column, or an NPZ with X and y).

Config form (under `user_datasets:`):
    my_data:
      path: data/my.csv            # .csv or .npz
      label_column: label          # CSV only (default "label")
      drop_columns: [id]           # CSV only, optional
      normal: [0]                  # optional with `anomalies`: without both, labels must be 0/1 (1 = anomaly)
      anomalies: [1, 2]
      transfer_train_anomalies: [1]   # optional: adds the "transfer" experiment
      pollution: true              # optional
      test_path: data/my_test.csv  # optional: an official test part (same format), never re-split
      test_column: is_test         # optional instead: a 0/1 column (CSV) or array (NPZ) marking test rows

Or a registered data set with its official test file replaced (NSL-KDD's hard KDDTest-21):
    kdd21:
      base: nsl_kdd                # a registered data set with an official test file (VARIANT_BASES)
      test_file: KDDTest-21.txt    # placed like the base's files: in data/raw/kdd21/ or the mirror
      test_sha256: 3f6b...         # optional pin; without it the first fetch records the hash

Two checks, both before any job: `check_user_config` (the entry itself and that its file exists;
no file is read) and `check_user_data` (reads the file once through the loader the prepare job
uses, so both report the same messages). Errors are `UserDataError` (the entry) or
`DataFormatError` (the file), both `alarmbench.errors.InputError`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alarmbench.data.loaders._checks import TEST_PREFIX, class_name
from alarmbench.data.sources import RemoteFile, Source
from alarmbench.data.spec import ClassSetup, DatasetSpec
from alarmbench.errors import InputError

KEYS = ("path", "label_column", "drop_columns", "normal", "anomalies", "transfer_train_anomalies", "pollution",
        "test_path", "test_column")
REQUIRED = ("path",)
BINARY = (("0",), ("1",))  # the classes without normal/anomalies lists: y in {0, 1}, 1 = anomaly
BINARY_HINT = ("without normal/anomalies lists the labels must be 0 (normal) and 1 (anomaly); give "
               "normal: [...] and anomalies: [...] for other labels")
CSV_ONLY = ("label_column", "drop_columns")
KINDS = {".csv": "user_csv", ".npz": "user_npz"}


VARIANT_KEYS = ("base", "test_file", "test_sha256")
# Registered data sets whose official test file a variant may replace: the file it replaces.
VARIANT_BASES = {"nsl_kdd": "KDDTest+.txt", "nsl_kdd_20": "KDDTest+.txt"}


class UserDataError(InputError):
    """A `user_datasets` entry of the config is wrong (names the data set, the key and the value)."""


def is_variant(cfg: Mapping) -> bool:
    return isinstance(cfg, Mapping) and "base" in cfg


def check_variant_config(name: str, cfg: Mapping) -> None:
    where = f"user_datasets.{name}"
    for key in cfg:
        if key not in VARIANT_KEYS:
            raise UserDataError(f"{where}: unknown key {key!r} for a variant of a registered data set; accepted "
                                f"keys: {', '.join(VARIANT_KEYS)}")
    if cfg["base"] not in VARIANT_BASES:
        raise UserDataError(f"{where}.base: {cfg['base']!r} has no official test file to replace; accepted: "
                            f"{', '.join(VARIANT_BASES)}")
    test = cfg.get("test_file")
    if not isinstance(test, str) or not test or "/" in test or "\\" in test:
        raise UserDataError(f"{where}.test_file: expected a file name (placed in the raw folder or the mirror, "
                            f"as the base's files); got {test!r}")
    pin = cfg.get("test_sha256")
    if pin is not None and (not isinstance(pin, str) or len(pin) != 64
                            or any(c not in "0123456789abcdef" for c in pin.lower())):
        raise UserDataError(f"{where}.test_sha256: expected 64 hex digits; got {pin!r}")


def variant_spec(name: str, cfg: Mapping, registered: Mapping[str, DatasetSpec]) -> DatasetSpec:
    """The base data set (looked up in `registered`, the built-in data sets) with its official test
    file replaced (recorded with its sha256 by fetch)."""
    check_variant_config(name, cfg)
    base = registered[cfg["base"]]
    replaced, test = VARIANT_BASES[cfg["base"]], RemoteFile(cfg["test_file"], sha256=cfg.get("test_sha256"))
    sources = tuple(dataclasses.replace(s, files=tuple(test if f.name == replaced else f for f in s.files))
                    for s in base.sources if any(f.name == replaced for f in s.files))
    return dataclasses.replace(base, name=name, title=f"{base.title}, test file {cfg['test_file']}", sources=sources,
                               paper_name=None, loader_options={**base.loader_options, "test_file": cfg["test_file"]})


def check_user_config(name: str, cfg: object) -> None:
    """Raise UserDataError for the first problem of one `user_datasets` entry; reads no file."""
    where = f"user_datasets.{name}"
    if not isinstance(cfg, Mapping):
        raise UserDataError(f"{where}: expected a mapping with keys {', '.join(REQUIRED)}; "
                            f"got {type(cfg).__name__} {cfg!r}")
    if is_variant(cfg):
        return check_variant_config(name, cfg)
    for key in cfg:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserDataError(f"{where}: unknown key {key!r}{hint}; accepted keys: {', '.join(KEYS)}")
    missing = [k for k in REQUIRED if k not in cfg]
    if missing:
        raise UserDataError(f"{where}: missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                            f"(required: {', '.join(REQUIRED)})")

    given = [k for k in ("normal", "anomalies") if k in cfg]
    if len(given) == 1:
        other = "anomalies" if given == ["normal"] else "normal"
        raise UserDataError(f"{where}: {given[0]} without {other}; give both class lists, or neither for 0/1 labels "
                            f"(1 = anomaly)")
    if "transfer_train_anomalies" in cfg and not given:
        raise UserDataError(f"{where}.transfer_train_anomalies: needs the normal and anomalies lists")
    if "test_path" in cfg and "test_column" in cfg:
        raise UserDataError(f"{where}: test_path and test_column both mark an official test part; give one")

    path = cfg["path"]
    if not isinstance(path, str) or not path.strip():
        raise UserDataError(f"{where}.path: expected a file name (string); got {path!r}")
    suffix = Path(path).suffix.lower()
    if suffix not in KINDS:
        raise UserDataError(f"{where}.path: {path!r} must end in .csv or .npz (got {suffix or 'no suffix'!r})")
    if suffix != ".csv":
        for key in CSV_ONLY:
            if key in cfg:
                raise UserDataError(f"{where}.{key}: applies to CSV files only, but {path!r} is an .npz file "
                                    f"(its arrays are X and y)")
    if "label_column" in cfg and (not isinstance(cfg["label_column"], str) or not cfg["label_column"]):
        raise UserDataError(f"{where}.label_column: expected a column name (string); got {cfg['label_column']!r}")
    if "drop_columns" in cfg:
        drop = cfg["drop_columns"]
        if not isinstance(drop, list) or not all(isinstance(c, str) for c in drop):
            raise UserDataError(f"{where}.drop_columns: expected a list of column names; got {drop!r}")
        label = cfg.get("label_column", "label")
        if label in drop:
            raise UserDataError(f"{where}.drop_columns: holds the label column {label!r}")
    if "test_column" in cfg and (not isinstance(cfg["test_column"], str) or not cfg["test_column"]):
        raise UserDataError(f"{where}.test_column: expected a column (CSV) or array (NPZ) name; "
                            f"got {cfg['test_column']!r}")
    if "test_path" in cfg:
        test = cfg["test_path"]
        if not isinstance(test, str) or Path(test).suffix.lower() != suffix:
            raise UserDataError(f"{where}.test_path: expected the path of a {suffix} file (the format of path); "
                                f"got {test!r}")
        if Path(test).resolve() == Path(path).resolve():
            raise UserDataError(f"{where}.test_path: {test!r} is the data file itself")
    if "pollution" in cfg and not isinstance(cfg["pollution"], bool):
        raise UserDataError(f"{where}.pollution: expected true or false; got {cfg['pollution']!r}")

    lists = {key: _class_list(where, key, cfg[key])
             for key in ("normal", "anomalies", "transfer_train_anomalies") if key in cfg}
    lists.setdefault("normal", list(BINARY[0]))
    lists.setdefault("anomalies", list(BINARY[1]))
    both = [c for c in lists["normal"] if c in lists["anomalies"]]
    if both:
        raise UserDataError(f"{where}: classes {both} are in both normal and anomalies")
    if "transfer_train_anomalies" in lists:
        train = lists["transfer_train_anomalies"]
        extra = [c for c in train if c not in lists["anomalies"]]
        if extra:
            raise UserDataError(f"{where}.transfer_train_anomalies: classes {extra} are not in anomalies "
                                f"{lists['anomalies']} (the known anomalies are a subset of the test anomalies)")
        if set(train) == set(lists["anomalies"]):
            raise UserDataError(f"{where}.transfer_train_anomalies: {train} holds every anomaly class; leave out "
                                f"at least one (the anomalies unseen in training), or drop the key")

    for key in ("path", "test_path"):
        if key not in cfg:
            continue
        file = Path(cfg[key])
        if not file.exists():
            raise UserDataError(f"{where}.{key}: file {cfg[key]!r} does not exist (relative paths are read from "
                                f"{os.getcwd()})")
        if not file.is_file():
            raise UserDataError(f"{where}.{key}: {cfg[key]!r} is not a file")


def user_files(cfg: Mapping) -> list[str]:
    """The files of one user data set: its table, then its official test part if any (none for a
    variant: its files are fetched as the base's are)."""
    if is_variant(cfg):
        return []
    return [cfg["path"], *([cfg["test_path"]] if "test_path" in cfg else [])]


def _class_list(where: str, key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not value:
        raise UserDataError(f"{where}.{key}: expected a non-empty list of class labels; got {value!r}")
    bad = [v for v in value if not isinstance(v, (str, int, float))]  # bool is an int
    if bad:
        raise UserDataError(f"{where}.{key}: class labels must be numbers or strings; got {bad[0]!r}")
    names = [class_name(v) for v in value]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserDataError(f"{where}.{key}: classes {dupes} are listed more than once")
    return names


def user_spec(name: str, cfg: dict) -> DatasetSpec:
    """The spec of the user's own table (`path`); a variant of a built-in data set is built by
    `variant_spec`, which needs the built-in specs (`alarmbench.data.registry.get` passes them)."""
    if is_variant(cfg):
        raise ValueError(f"user_datasets.{name} is a variant of {cfg['base']!r}: build it with variant_spec")
    check_user_config(name, cfg)
    path = Path(cfg["path"])
    kind = KINDS[path.suffix.lower()]
    binary = "normal" not in cfg
    normal = BINARY[0] if binary else tuple(class_name(c) for c in cfg["normal"])
    anomalies = BINARY[1] if binary else tuple(class_name(c) for c in cfg["anomalies"])
    options: dict = {"path": str(path)}
    files = [RemoteFile(path.name)]
    if "test_path" in cfg:
        options["test_path"] = str(cfg["test_path"])
        files.append(RemoteFile(TEST_PREFIX + Path(cfg["test_path"]).name))
    if kind == "user_csv":
        options |= {"label_column": cfg.get("label_column", "label"), "drop_columns": tuple(cfg.get("drop_columns", ()))}
    if "test_column" in cfg:
        options["test_column"] = cfg["test_column"]
    options |= {"normal": normal, "anomalies": anomalies}  # the loader checks the file's labels against them
    if binary:
        options["hint"] = BINARY_HINT
    presets = {"known": ClassSetup(normal, anomalies)}
    if cfg.get("transfer_train_anomalies"):
        presets["transfer"] = ClassSetup(normal, anomalies, [class_name(c) for c in cfg["transfer_train_anomalies"]])
    return DatasetSpec(
        name, f"user data {path.name}", (Source(tuple(files), kind),),
        classes=(*normal, *anomalies), presets=presets, hparams=None,
        pollution=bool(cfg.get("pollution", True)), loader_options=options,
    )


def check_user_data(name: str, cfg: dict) -> dict:
    """Check one user data set's entry and file as the prepare job will read it; return a summary.

    Reads the file once (pandas for a CSV). Raises UserDataError (the entry) or DataFormatError
    (the file: naming it, and the column, line or row, and value). The summary: dataset, path,
    rows, features, normal_rows, anomaly_rows, classes (rows per class).
    """
    from alarmbench.data.loaders import get_loader

    spec = user_spec(name, cfg)  # runs check_user_config
    from alarmbench.data.prepare import local_user_files, loader_options

    source = spec.sources[0]
    path = Path(spec.loader_options["path"])
    options = loader_options(spec)
    table = get_loader(source.loader)(local_user_files(spec, source), **options)
    values, counts = np.unique(table.labels, return_counts=True)
    classes = {str(v): int(n) for v, n in zip(values, counts)}
    normal, anomalies = options["normal"], options["anomalies"]
    return {
        "dataset": name, "path": str(path), "rows": int(len(table.X)), "features": table.n_features,
        "normal_rows": sum(classes.get(c, 0) for c in normal),
        "anomaly_rows": sum(classes.get(c, 0) for c in anomalies),
        "classes": classes,
    }
