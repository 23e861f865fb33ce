"""Validation shared by the table loaders: every error names the file and the problem."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where it is used: the registry imports this module
    import pandas as pd


class DataFormatError(ValueError):
    """Raw data does not have the layout its loader expects."""


def require_columns(df: pd.DataFrame, expected: Iterable[str], path: Path, *, exact: bool = False) -> None:
    """Fail naming the missing (and, with exact=True, the unexpected) columns of `path`."""
    expected = list(expected)
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected] if exact else []
    problems = []
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    if problems:
        raise DataFormatError(f"{path}: {'; '.join(problems)} (expected {len(expected)} columns)")


def numeric_matrix(df: pd.DataFrame, path: Path) -> np.ndarray:
    """All columns as float32; a non-numeric cell is reported with its column, row and value."""
    import pandas as pd

    out = np.empty(df.shape, dtype=np.float32)
    for j, col in enumerate(df.columns):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = bad.idxmax()
            raise DataFormatError(
                f"{path}: column {col!r} has non-numeric value {df[col][row]!r} (row {row}); expected numbers"
            )
        out[:, j] = values.to_numpy(dtype=np.float32)
    return out


def require_finite(X: np.ndarray, path: Path, names: list[str] | None = None) -> None:
    """Fail naming the first column holding NaN or inf where the protocol forbids them."""
    bad = ~np.isfinite(X.reshape(len(X), -1))
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        name = names[col] if names else f"#{col}"
        raise DataFormatError(
            f"{path}: {int(bad.sum())} NaN/inf values, first in column {name!r} row {row}; expected finite numbers"
        )
