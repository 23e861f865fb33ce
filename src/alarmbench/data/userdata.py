"""Data sets declared by the user in the config (a CSV with a label column, or an NPZ with X and y).

Config form (under `user_datasets:`):
    my_data:
      path: data/my.csv            # .csv or .npz
      label_column: label          # CSV only (default "label")
      drop_columns: [id]           # CSV only, optional
      normal: [0]
      anomalies: [1, 2]
      transfer_train_anomalies: [1]   # optional: adds the "transfer" experiment
      pollution: true              # optional

Two checks, both before any job: `check_user_config` (the entry itself and that its file exists;
no file is read) and `check_user_data` (reads the file once through the loader the prepare job
uses, so both report the same messages). Errors are `UserDataError` (the entry) or
`DataFormatError` (the file), both `alarmbench.errors.InputError`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alarmbench.data.loaders._checks import class_name
from alarmbench.data.sources import RemoteFile, Source
from alarmbench.data.spec import ClassSetup, DatasetSpec
from alarmbench.errors import InputError

KEYS = ("path", "label_column", "drop_columns", "normal", "anomalies", "transfer_train_anomalies", "pollution")
REQUIRED = ("path", "normal", "anomalies")
CSV_ONLY = ("label_column", "drop_columns")
KINDS = {".csv": "user_csv", ".npz": "user_npz"}


class UserDataError(InputError):
    """A `user_datasets` entry of the config is wrong (names the data set, the key and the value)."""


def check_user_config(name: str, cfg: object) -> None:
    """Raise UserDataError for the first problem of one `user_datasets` entry; reads no file."""
    where = f"user_datasets.{name}"
    if not isinstance(cfg, Mapping):
        raise UserDataError(f"{where}: expected a mapping with keys {', '.join(REQUIRED)}; "
                            f"got {type(cfg).__name__} {cfg!r}")
    for key in cfg:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserDataError(f"{where}: unknown key {key!r}{hint}; accepted keys: {', '.join(KEYS)}")
    missing = [k for k in REQUIRED if k not in cfg]
    if missing:
        raise UserDataError(f"{where}: missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                            f"(required: {', '.join(REQUIRED)})")

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
    if "pollution" in cfg and not isinstance(cfg["pollution"], bool):
        raise UserDataError(f"{where}.pollution: expected true or false; got {cfg['pollution']!r}")

    lists = {key: _class_list(where, key, cfg[key])
             for key in ("normal", "anomalies", "transfer_train_anomalies") if key in cfg}
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

    file = Path(path)
    if not file.exists():
        raise UserDataError(f"{where}.path: file {path!r} does not exist (relative paths are read from "
                            f"{os.getcwd()})")
    if not file.is_file():
        raise UserDataError(f"{where}.path: {path!r} is not a file")


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
    check_user_config(name, cfg)
    path = Path(cfg["path"])
    kind = KINDS[path.suffix.lower()]
    normal = tuple(class_name(c) for c in cfg["normal"])
    anomalies = tuple(class_name(c) for c in cfg["anomalies"])
    options: dict = {"path": str(path)}
    if kind == "user_csv":
        options |= {"label_column": cfg.get("label_column", "label"), "drop_columns": tuple(cfg.get("drop_columns", ()))}
    options |= {"normal": normal, "anomalies": anomalies}  # the loader checks the file's labels against them
    presets = {"known": ClassSetup(normal, anomalies)}
    if cfg.get("transfer_train_anomalies"):
        presets["transfer"] = ClassSetup(normal, anomalies, [class_name(c) for c in cfg["transfer_train_anomalies"]])
    return DatasetSpec(
        name, f"user data {path.name}", (Source((RemoteFile(path.name),), kind),),
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
    source = spec.sources[0]
    path = Path(spec.loader_options["path"])
    options = {k: v for k, v in spec.loader_options.items() if k != "path"}
    table = get_loader(source.loader)({source.files[0].name: path}, **options)
    values, counts = np.unique(table.labels, return_counts=True)
    classes = {str(v): int(n) for v, n in zip(values, counts)}
    normal, anomalies = options["normal"], options["anomalies"]
    return {
        "dataset": name, "path": str(path), "rows": int(len(table.X)), "features": table.n_features,
        "normal_rows": sum(classes.get(c, 0) for c in normal),
        "anomaly_rows": sum(classes.get(c, 0) for c in anomalies),
        "classes": classes,
    }
