"""Array containers with binary labels: ADBench .npz tables and ODDS .mat files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alarmbench.data.loaders._checks import DataFormatError, require_finite
from alarmbench.data.table import RawTable


def _binary_table(X: np.ndarray, y: np.ndarray, path: Path) -> RawTable:
    X = np.asarray(X)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2:
        raise DataFormatError(f"{path}: X has shape {X.shape}; expected (samples, features)")
    if len(X) != len(y):
        raise DataFormatError(f"{path}: X has {len(X)} rows but y has {len(y)}")
    if not np.issubdtype(X.dtype, np.number):
        raise DataFormatError(f"{path}: X has non-numeric dtype {X.dtype}")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise DataFormatError(f"{path}: y has values {sorted(values)}; expected binary 0/1 labels")
    X = X.astype(np.float32)
    require_finite(X, path)
    return RawTable(X, y.astype(np.int64), [f"x{i}" for i in range(X.shape[1])])


def load_npz_xy(files: Mapping[str, Path]) -> RawTable:
    """A NumPy archive with arrays X and y (1 = anomaly), e.g. an ADBench table."""
    (path,) = files.values()
    with np.load(path, allow_pickle=False) as z:
        missing = {"X", "y"} - set(z.files)
        if missing:
            raise DataFormatError(f"{path}: missing arrays {sorted(missing)}; expected X and y")
        return _binary_table(z["X"], z["y"], path)


def load_odds_mat(files: Mapping[str, Path]) -> RawTable:
    """An ODDS MATLAB file with matrix X and label vector y (1 = outlier)."""
    from scipy.io import loadmat

    (path,) = files.values()
    try:
        mat = loadmat(path)
    except (ValueError, NotImplementedError) as err:  # v7.3 (HDF5) files need h5py
        raise DataFormatError(f"{path}: cannot read as MATLAB v5 file: {err}") from err
    missing = {"X", "y"} - set(mat)
    if missing:
        raise DataFormatError(f"{path}: missing variables {sorted(missing)}; expected X and y")
    return _binary_table(mat["X"], mat["y"], path)
