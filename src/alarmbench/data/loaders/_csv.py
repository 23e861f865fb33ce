"""CSV reading shared by the table loaders: errors that name the file, inf -> NaN, checked labels."""


from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alarmbench.data.loaders._checks import DataFormatError, numeric_matrix, require_columns, require_finite


# Spellings of ±inf that CICFlowMeter writes; pandas parses most of them as ±inf, the loaders treat
# every non-finite value as missing.
INF_STRINGS = ("Infinity", "-Infinity", "+Infinity", "inf", "-inf", "+inf")
_CHUNK_ROWS = 200_000


def raw_file(files: Mapping[str, Path], name: str) -> Path:
    """The path given for upstream file `name`; fail naming the expected and the given file names."""
    if name not in files:
        raise DataFormatError(f"raw file {name!r} not given (got {sorted(files)})")
    return Path(files[name])


@contextlib.contextmanager
def _csv_errors(path: Path) -> Iterator[None]:
    """Turn pandas/IO parse failures into DataFormatError naming `path`."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: file is empty; expected a CSV table") from None
    except pd.errors.ParserError as e:
        raise DataFormatError(f"{path}: malformed CSV: {e}") from None
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataFormatError(f"{path}: cannot decode file: {e}") from None


def read_header(path: Path) -> list[str]:
    """Column names of a CSV file (duplicates mangled by pandas as `name.1`)."""
    with _csv_errors(path):
        return list(pd.read_csv(path, nrows=0).columns)


def check_header(path: Path, expected: Sequence[str], optional: Collection[str] = ()) -> list[str]:
    """Read the header of `path`; fail naming missing columns and columns neither expected nor optional."""
    header = read_header(path)
    require_columns(pd.DataFrame(columns=header), expected, path)
    extra = [c for c in header if c not in expected and c not in optional]
    if extra:
        raise DataFormatError(f"{path}: unexpected columns {extra} (expected {len(expected)} columns)")
    return header


def read_csv_checked(path: Path, dtype: Mapping[str, object] | object | None = None, **kwargs) -> pd.DataFrame:
    """`pd.read_csv` whose failures name `path`; fails on a table without data rows.

    `dtype` is the fast path (e.g. float32 columns parsed directly by the C parser). When a value does
    not parse, the file is re-read in chunks as text only to report the offending column, row and value.
    """
    with _csv_errors(path):
        try:
            df = pd.read_csv(path, dtype=dtype, **kwargs)
        except (ValueError, OverflowError) as e:
            if isinstance(e, (pd.errors.ParserError, pd.errors.EmptyDataError)) or dtype is None:
                raise
            _raise_first_bad_value(path, dtype, kwargs)
            raise DataFormatError(f"{path}: cannot parse as numbers: {e}") from None
    if len(df) == 0:
        raise DataFormatError(f"{path}: no data rows")
    return df


def _raise_first_bad_value(path: Path, dtype: object, kwargs: dict) -> None:
    """Re-read `path` as text in chunks and raise on the first non-numeric value of a numeric column."""
    reader = pd.read_csv(path, dtype=str, chunksize=_CHUNK_ROWS, **kwargs)
    with reader:
        for chunk in reader:
            if isinstance(dtype, Mapping):
                cols = [c for c, t in dtype.items() if c in chunk.columns and _is_numeric_dtype(t)]
            else:
                cols = list(chunk.columns) if _is_numeric_dtype(dtype) else []
            numeric_matrix(chunk[cols], path)  # raises naming column, row and value


def _is_numeric_dtype(t: object) -> bool:
    try:
        return pd.api.types.is_numeric_dtype(pd.api.types.pandas_dtype(t))
    except TypeError:
        return False


def nonfinite_to_nan(df: pd.DataFrame) -> pd.DataFrame:
    """Replace ±inf by NaN in every numeric column (column by column, no full-table copy)."""
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col].dtype):
            values = df[col].to_numpy()
            if np.isinf(values).any():
                df[col] = df[col].mask(np.isinf(values))
    return df


def drop_nan_rows(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Drop every row holding a NaN; fail when nothing is left."""
    out = df.dropna(axis=0, how="any")
    if len(out) == 0:
        raise DataFormatError(f"{path}: all {len(df)} rows contain NaN/inf values; no rows left")
    return out


def feature_matrix(df: pd.DataFrame, path: Path) -> np.ndarray:
    """The columns of `df` as a finite float32 matrix; errors name the column, row and value."""
    X = numeric_matrix(df, path)
    require_finite(X, path, [str(c) for c in df.columns])
    return X


def labels_checked(
    values: pd.Series, path: Path, column: str, allowed: Collection[str] | None = None
) -> np.ndarray:
    """Class labels as a str array (whitespace stripped); fail on missing or undeclared labels."""
    missing = values.isna()
    if missing.any():
        raise DataFormatError(f"{path}: column {column!r} has a missing label (row {missing.idxmax()})")
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    names = np.asarray([str(c).strip() for c in cat.cat.categories], dtype=str)
    codes = cat.cat.codes.to_numpy()
    if allowed is not None:
        unknown = sorted({str(n) for n in names[np.unique(codes)]} - set(allowed))
        if unknown:
            raise DataFormatError(
                f"{path}: column {column!r} has unknown classes {unknown}; expected {sorted(allowed)}"
            )
    return names[codes]


def integer_labels(values: pd.Series, path: Path, column: str, allowed: Collection[int]) -> np.ndarray:
    """Integer class codes (also quoted strings such as "'1'") as str labels "0", "1", ..."""
    if not pd.api.types.is_numeric_dtype(values.dtype):
        values = values.astype("str").str.strip().str.strip("'\"").str.strip()
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    bad |= ~np.isin(numbers, np.asarray(sorted(allowed), dtype=np.float64))
    if bad.any():
        row = int(np.argmax(bad))
        value = values.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value
        raise DataFormatError(
            f"{path}: column {column!r} has invalid class {value!r} (row {values.index[row]}); "
            f"expected one of {sorted(allowed)}"
        )
    return numbers.astype(np.int64).astype(str)
