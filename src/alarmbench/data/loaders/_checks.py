"""Validation shared by the table loaders: every error names the file and the problem."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from alarmbench.errors import InputError

if TYPE_CHECKING:  # pandas is imported where it is used: the registry imports this module
    import pandas as pd

__all__ = ["DataFormatError", "InputError", "check_classes", "class_name", "first_nonfinite", "format_counts",
           "numeric_matrix", "require_columns", "require_finite"]


class DataFormatError(InputError):
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


def numeric_matrix(df: pd.DataFrame, path: Path, *, first_line: int | None = None) -> np.ndarray:
    """All columns as float32; a non-numeric cell is reported with its column, row and value.

    The row is the frame's index label, or with `first_line` the line of the file (`first_line` is
    the line of the first data row: 2 below a one-line header).
    """
    import pandas as pd

    out = np.empty(df.shape, dtype=np.float32)
    for j, col in enumerate(df.columns):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            if first_line is None:
                row = bad.idxmax()
                value, where = df[col][row], f"row {row}"
            else:
                pos = int(np.argmax(bad.to_numpy()))
                value, where = df[col].iloc[pos], f"line {pos + first_line}"
            raise DataFormatError(
                f"{path}: column {col!r} has non-numeric value {value!r} ({where}); expected numbers"
            )
        out[:, j] = values.to_numpy(dtype=np.float32)
    return out


def first_nonfinite(X: np.ndarray) -> tuple[int, int, int] | None:
    """(count, row, flat column) of the NaN/inf values of `X` (rows along axis 0), or None."""
    flat = np.asarray(X).reshape(len(X), -1)
    if np.issubdtype(flat.dtype, np.integer) or flat.dtype == bool:
        return None
    bad = ~np.isfinite(flat)
    if not bad.any():
        return None
    row, col = map(int, np.argwhere(bad)[0])
    return int(bad.sum()), row, col


def require_finite(X: np.ndarray, path: Path, names: list[str] | None = None, *,
                   first_line: int | None = None) -> None:
    """Fail naming the first column holding NaN or inf where the protocol forbids them.

    With `first_line` (the file line of row 0) the message names that line and the value.
    """
    found = first_nonfinite(X)
    if found is None:
        return
    count, row, col = found
    name = names[col] if names else f"#{col}"
    if first_line is None:
        raise DataFormatError(
            f"{path}: {count} NaN/inf values, first in column {name!r} row {row}; expected finite numbers")
    value = X.reshape(len(X), -1)[row, col]
    hint = " (an empty cell reads as NaN)" if np.isnan(value) else ""
    raise DataFormatError(
        f"{path}: column {name!r} has value {_value_text(value)} (line {row + first_line}){hint}; "
        f"{count} NaN/inf values in all; expected finite numbers")


def _value_text(value: float) -> str:
    return "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")


# ---------------------------------------------------------------------------------- class lists
def class_name(value: object) -> str:
    """A class as the loaders name it: 1, 1.0 and '1' are all '1' (labels are compared as strings)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def format_counts(counts: Counter | dict, limit: int = 10) -> str:
    """Label counts as text, e.g. `'a' (5 rows), 'b' (1 row)`: most frequent first, at most `limit`."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    text = ", ".join(f"{k!r} ({n} row{'s' if n != 1 else ''})" for k, n in items[:limit])
    if len(items) > limit:
        text += f", ... and {len(items) - limit} more"
    return text


TEST_PREFIX = "test:"  # the key of a user data set's official test file among its files (userdata, loaders.user)


def check_classes(labels: np.ndarray, normal: Sequence[str], anomalies: Sequence[str], path: Path,
                  where: str, declared: str | None = None) -> dict[str, int]:
    """Check a file's labels (strings) against the classes the config declares; return the counts.

    Fails on labels in neither list (listed with their counts), on no normal row, on fewer than 2
    anomaly rows, and on declared classes that never occur. `where` names the label column ("column
    'label'", "y").
    """
    normal, anomalies = [class_name(c) for c in normal], [class_name(c) for c in anomalies]
    counts = Counter(np.asarray(labels).astype(str).tolist())
    declared = declared or f"the config declares normal {normal} and anomalies {anomalies}"
    undeclared = {k: n for k, n in counts.items() if k not in normal and k not in anomalies}
    if undeclared:
        raise DataFormatError(
            f"{path}: {where} has {len(undeclared)} undeclared label{'s' if len(undeclared) != 1 else ''} "
            f"(neither normal nor anomalies): {format_counts(undeclared)}; {declared}; add each label to one "
            f"list or remove its rows")
    n_normal = sum(counts[c] for c in normal)
    n_anomalies = sum(counts[c] for c in anomalies)
    if n_normal == 0:
        raise DataFormatError(
            f"{path}: no normal rows: no row of {where} has a normal class {normal}; labels in the file: "
            f"{format_counts(counts)}")
    if n_anomalies < 2:
        raise DataFormatError(
            f"{path}: too few anomalies: {n_anomalies} row{'s' if n_anomalies != 1 else ''} of {where} "
            f"{'has' if n_anomalies == 1 else 'have'} an anomaly class {anomalies}; at least 2 are needed; "
            f"labels in the file: {format_counts(counts)}")
    absent = [c for c in [*normal, *anomalies] if c not in counts]
    if absent:
        raise DataFormatError(
            f"{path}: classes {absent} declared in the config never occur in {where}; labels in the file: "
            f"{format_counts(counts)}; remove them from the config or check the label column")
    return dict(counts)
