"""User data declared in the config: a CSV with a label column, or an NPZ with X and y.

Every failure is a DataFormatError naming the file and what is wrong in it: the column, the row
(for a CSV the line of the file, the header being line 1) and the value. Given the config's
`normal` and `anomalies` class lists (user_spec passes them), the labels are checked against them
too, so that the prepare job and `alarmbench.data.userdata.check_user_data` (run before any job)
report the same messages.
"""

from __future__ import annotations

import difflib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alarmbench.data.loaders._checks import (
    TEST_PREFIX,
    DataFormatError,
    check_classes,
    first_nonfinite,
    numeric_matrix,
    require_finite,
)
from alarmbench.data.table import RawTable

_FIRST_DATA_LINE = 2  # below the header line


def _with_test_part(files: Mapping[str, Path], read, test_column: str | None, normal, anomalies, hint,
                    where: str) -> RawTable:
    """The table and its official test part (a second file, or a 0/1 column or array marking test
    rows), its labels checked against the declared classes."""
    main = [p for k, p in files.items() if not k.startswith(TEST_PREFIX)]
    test = [p for k, p in files.items() if k.startswith(TEST_PREFIX)]
    table = read(Path(main[0]), test_column)
    if test:
        part = read(Path(test[0]), None)
        if part.n_features != table.n_features or (table.feature_names and part.feature_names != table.feature_names):
            raise DataFormatError(f"{test[0]}: the test part has features {part.feature_names or part.X.shape[1:]}; "
                                  f"expected those of {main[0]}: {table.feature_names or table.X.shape[1:]}")
        table = RawTable.concat_official(table, part)
    if normal or anomalies:  # over both parts: a class may occur in one part only (unseen in training)
        check_classes(table.labels, normal, anomalies, Path(main[0]), where, declared=hint)
    return table


def _test_flags(values: np.ndarray, path: Path, name: str) -> np.ndarray:
    flags = _label_strings(np.asarray(values))
    flags = np.char.lower(flags.astype(str))
    ok = np.isin(flags, ["0", "1", "true", "false"])
    if not ok.all():
        first = int(np.argmax(~ok))
        raise DataFormatError(f"{path}: test column {name!r} holds {str(flags[first])!r} (data row {first + 1}); "
                              f"expected 0/1 or true/false (1 = an official test row)")
    is_test = np.isin(flags, ["1", "true"])
    if is_test.all() or not is_test.any():
        raise DataFormatError(f"{path}: test column {name!r} marks {'every' if is_test.all() else 'no'} row as test; "
                              f"expected both training and test rows")
    return is_test


def load_user_csv(files: Mapping[str, Path], label_column: str = "label", drop_columns: tuple = (),
                  normal: Sequence[str] = (), anomalies: Sequence[str] = (), test_column: str | None = None,
                  hint: str | None = None) -> RawTable:
    def read(path: Path, test_col: str | None) -> RawTable:
        return _read_user_csv(path, label_column, drop_columns, test_col)

    return _with_test_part(files, read, test_column, normal, anomalies, hint, f"column {label_column!r}")


def load_user_npz(files: Mapping[str, Path], normal: Sequence[str] = (), anomalies: Sequence[str] = (),
                  test_column: str | None = None, hint: str | None = None) -> RawTable:
    return _with_test_part(files, _read_user_npz, test_column, normal, anomalies, hint, "y")


def _read_user_csv(path: Path, label_column: str, drop_columns: tuple, test_column: str | None) -> RawTable:
    df = _read_csv(Path(path))
    is_test = None
    if test_column is not None:
        if test_column not in df.columns:
            raise DataFormatError(f"{path}: no test column {test_column!r}{_closest(test_column, df.columns)}; "
                                  f"columns are {list(df.columns)}")
        is_test = _test_flags(df.pop(test_column).to_numpy(), path, test_column)
    if label_column not in df.columns:
        raise DataFormatError(f"{path}: no label column {label_column!r}{_closest(label_column, df.columns)}; "
                              f"columns are {list(df.columns)}{_separator_hint(df)}")
    missing = [c for c in drop_columns if c not in df.columns]
    if missing:
        hints = "".join(_closest(c, df.columns) for c in missing)
        raise DataFormatError(f"{path}: columns to drop {missing} are not in the file{hints}; "
                              f"columns are {list(df.columns)}")
    if label_column in drop_columns:
        raise DataFormatError(f"{path}: label column {label_column!r} is also in drop_columns")
    labels = df.pop(label_column)
    empty = labels.isna().to_numpy()
    if empty.any():
        first = int(np.argmax(empty)) + _FIRST_DATA_LINE
        n = int(empty.sum())
        raise DataFormatError(f"{path}: column {label_column!r} has {n} empty label{'s' if n != 1 else ''}, "
                              f"first at line {first}; every row needs a label")
    df = df.drop(columns=list(drop_columns))
    if df.shape[1] == 0:
        raise DataFormatError(f"{path}: no feature columns besides {label_column!r}")
    X = numeric_matrix(df, path, first_line=_FIRST_DATA_LINE)
    _require_finite_csv(X, df, path)
    y = _label_strings(labels.to_numpy())
    return RawTable(X, y, [str(c) for c in df.columns], is_test=is_test)


def _read_user_npz(path: Path, test_column: str | None) -> RawTable:
    X, y, flags = _read_npz(Path(path), test_column)
    if X.ndim < 2:
        raise DataFormatError(f"{path}: X must be 2-D (rows × features) or more; got shape {X.shape}")
    if y.ndim == 0 or (y.ndim > 1 and int(np.prod(y.shape[1:])) != 1):
        raise DataFormatError(f"{path}: y must be 1-D (one label per row of X); got shape {y.shape}")
    y = y.reshape(len(y))
    if len(X) != len(y):
        raise DataFormatError(f"{path}: X has {len(X)} rows but y has {len(y)}; expected one label per row of X")
    if len(X) == 0:
        raise DataFormatError(f"{path}: no data rows (X has shape {X.shape})")
    if int(np.prod(X.shape[1:])) == 0:
        raise DataFormatError(f"{path}: X has no features (shape {X.shape})")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating) or X.dtype == bool):
        raise DataFormatError(f"{path}: X has non-numeric dtype {X.dtype}; expected numbers")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool or y.dtype.kind in "US"):
        raise DataFormatError(f"{path}: y has dtype {y.dtype}; expected numbers or strings")
    if np.issubdtype(y.dtype, np.floating) and np.isnan(y).any():
        bad = np.isnan(y)
        first = int(np.argmax(bad))
        raise DataFormatError(f"{path}: y has {int(bad.sum())} NaN label(s), first at row {first + 1} (y[{first}]); "
                              f"every row needs a label")
    _require_finite_npz(X, path)
    X32 = X.astype(np.float32)
    _require_finite_npz(X32, path, after_cast=True)
    labels = _label_strings(y)
    is_test = None
    if test_column is not None:
        if flags.shape[:1] != (len(X),) or flags.ndim != 1:
            raise DataFormatError(f"{path}: test array {test_column!r} has shape {flags.shape}; expected ({len(X)},)")
        is_test = _test_flags(flags, path, test_column)
    return RawTable(X32, labels, None if X.ndim > 2 else [f"x{i}" for i in range(X.shape[1])], is_test=is_test)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, low_memory=False)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a directory, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: empty file; expected a CSV table with a header line") from None
    except pd.errors.ParserError as err:
        raise DataFormatError(f"{path}: malformed CSV: {str(err).strip()}") from None
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: cannot decode the file as text ({err}); expected a UTF-8 CSV") from None
    if len(df) == 0:
        raise DataFormatError(f"{path}: no data rows (only the header line: columns {list(df.columns)})")
    return df


def _require_finite_csv(X: np.ndarray, df: pd.DataFrame, path: Path) -> None:
    found = first_nonfinite(X)
    if found is None:
        return
    _, row, col = found
    original = df.iloc[row, col]
    try:
        finite_in_file = bool(np.isfinite(float(original)))
    except (TypeError, ValueError):
        finite_in_file = False
    if finite_in_file:  # finite in the file, too large for float32
        raise DataFormatError(
            f"{path}: column {df.columns[col]!r} has value {original!r} (line {row + _FIRST_DATA_LINE}), "
            f"too large for float32 (at most about 3.4e38 in magnitude)")
    require_finite(X, path, [str(c) for c in df.columns], first_line=_FIRST_DATA_LINE)


def _read_npz(path: Path, test_array: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a directory, not an .npz file") from None
    if not magic:
        raise DataFormatError(f"{path}: empty file; expected an .npz archive with arrays X and y")
    if magic == b"\x93NUMPY":
        raise DataFormatError(f"{path}: is a single .npy array, not an .npz archive; save both arrays with "
                              f"numpy.savez(path, X=X, y=y)")
    if not magic.startswith(b"PK"):
        raise DataFormatError(f"{path}: not a zip archive, so not an .npz file; save the arrays with "
                              f"numpy.savez(path, X=X, y=y)")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            missing = [k for k in ("X", "y", *([test_array] if test_array else [])) if k not in names]
            if missing:
                hints = "".join(_closest(k, names) for k in missing)
                raise DataFormatError(f"{path}: missing arrays {missing}{hints}; the archive holds {names}; "
                                      f"expected X (features) and y (labels)")
            return _array(z, "X", path), _array(z, "y", path), _array(z, test_array, path) if test_array else None
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataFormatError(f"{path}: not a valid .npz (zip) archive: {err}") from None


def _array(z, key: str, path: Path) -> np.ndarray:
    try:
        return z[key]
    except ValueError as err:
        if "allow_pickle" in str(err) or "bject arrays" in str(err):
            raise DataFormatError(
                f"{path}: array {key!r} has dtype object; object arrays are not supported (save numbers, "
                f"or for y strings: y.astype(str))") from None
        raise DataFormatError(f"{path}: cannot read array {key!r}: {err}") from None


def _require_finite_npz(X: np.ndarray, path: Path, *, after_cast: bool = False) -> None:
    found = first_nonfinite(X)
    if found is None:
        return
    count, row, col = found
    index = ", ".join(str(i) for i in (row, *np.unravel_index(col, X.shape[1:])))
    if after_cast:
        raise DataFormatError(f"{path}: X has {count} values too large for float32 (at most about 3.4e38 in "
                              f"magnitude), first at row {row + 1} (X[{index}])")
    value = X.reshape(len(X), -1)[row, col]
    text = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    raise DataFormatError(f"{path}: X has value {text} at row {row + 1}, feature {col} (X[{index}]); "
                          f"{count} NaN/inf values in all; expected finite numbers")


def _closest(name: str, known) -> str:
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _separator_hint(df: pd.DataFrame) -> str:
    if df.shape[1] == 1:
        header = str(df.columns[0])
        for sep, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
            if sep in header:
                return f"; the file seems to separate values with {name}, but it must be comma-separated"
    return ""


def _label_strings(y: np.ndarray) -> np.ndarray:
    """Integral floats (1.0) become '1' so that config class lists like [0] match."""
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
        y = y.astype(np.int64)
    if y.dtype.kind == "S":
        return np.char.decode(y, "utf-8", "replace").astype(str)
    return y.astype(str)
