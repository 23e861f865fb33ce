"""User data declared in the config: a CSV with a label column, or an NPZ with X and y."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from alarmbench.data.loaders._checks import DataFormatError, numeric_matrix, require_finite
from alarmbench.data.table import RawTable


def load_user_csv(files: Mapping[str, Path], label_column: str = "label", drop_columns: tuple = ()) -> RawTable:
    (path,) = files.values()
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError as err:
        raise DataFormatError(f"{path}: empty file") from err
    if label_column not in df.columns:
        raise DataFormatError(f"{path}: no label column {label_column!r}; columns are {list(df.columns)}")
    missing = [c for c in drop_columns if c not in df.columns]
    if missing:
        raise DataFormatError(f"{path}: columns to drop {missing} are not in the file")
    labels = df.pop(label_column)
    if labels.isna().any():
        raise DataFormatError(f"{path}: column {label_column!r} has {int(labels.isna().sum())} empty labels")
    df = df.drop(columns=list(drop_columns))
    if df.shape[1] == 0:
        raise DataFormatError(f"{path}: no feature columns besides {label_column!r}")
    X = numeric_matrix(df, path)
    require_finite(X, path, list(df.columns))
    return RawTable(X, _label_strings(labels.to_numpy()), list(df.columns))


def load_user_npz(files: Mapping[str, Path]) -> RawTable:
    (path,) = files.values()
    with np.load(path, allow_pickle=False) as z:
        missing = {"X", "y"} - set(z.files)
        if missing:
            raise DataFormatError(f"{path}: missing arrays {sorted(missing)}; expected X and y")
        X, y = z["X"], z["y"]
    if len(X) != len(y):
        raise DataFormatError(f"{path}: X has {len(X)} rows but y has {len(y)}")
    if not np.issubdtype(X.dtype, np.number):
        raise DataFormatError(f"{path}: X has non-numeric dtype {X.dtype}")
    require_finite(X.astype(np.float32), path)
    return RawTable(X, _label_strings(y.reshape(-1)), None if X.ndim > 2 else [f"x{i}" for i in range(X.shape[1])])


def _label_strings(y: np.ndarray) -> np.ndarray:
    """Integral floats (1.0) become '1' so that config class lists like [0] match."""
    if np.issubdtype(np.asarray(y).dtype, np.floating) and np.all(np.mod(y, 1) == 0):
        y = np.asarray(y).astype(np.int64)
    return np.asarray(y).astype(str)
