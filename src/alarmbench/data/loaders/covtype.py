"""CoverType (docs/protocol.md#data-covtype): UCI ``covtype.data.gz`` (no header) or Kaggle ``covtype.csv`` (header).

Both hold the same 581 012 rows in the same (UCI) order: 54 features (10 numeric, 4 wilderness and
40 soil one-hot columns, used as they are) and `Cover_Type` 1–7. No NaN handling: a missing value is
an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alarmbench.data.loaders._checks import DataFormatError
from alarmbench.data.loaders._csv import check_header, feature_matrix, integer_labels, raw_file, read_csv_checked
from alarmbench.data.table import RawTable

COVTYPE_FEATURES = (
    "Elevation",
    "Aspect",
    "Slope",
    "Horizontal_Distance_To_Hydrology",
    "Vertical_Distance_To_Hydrology",
    "Horizontal_Distance_To_Roadways",
    "Hillshade_9am",
    "Hillshade_Noon",
    "Hillshade_3pm",
    "Horizontal_Distance_To_Fire_Points",
    *(f"Wilderness_Area{i}" for i in range(1, 5)),
    *(f"Soil_Type{i}" for i in range(1, 41)),
)
COVTYPE_LABEL = "Cover_Type"
COVTYPE_COLUMNS = (*COVTYPE_FEATURES, COVTYPE_LABEL)


def load_covtype(files: Mapping[str, Path]) -> RawTable:
    """54 float32 features and labels "1".."7"."""
    if "covtype.csv" in files:
        path = raw_file(files, "covtype.csv")
        check_header(path, COVTYPE_COLUMNS)
        df = read_csv_checked(path, dtype=np.float32)
    elif "covtype.data.gz" in files:
        path = raw_file(files, "covtype.data.gz")
        df = read_csv_checked(path, dtype=np.float32, header=None)
        if df.shape[1] != len(COVTYPE_COLUMNS):
            raise DataFormatError(
                f"{path}: {df.shape[1]} fields per row; expected {len(COVTYPE_COLUMNS)} "
                f"(54 features + {COVTYPE_LABEL}, no header row)"
            )
        df.columns = list(COVTYPE_COLUMNS)
    else:
        raise DataFormatError(f"raw file 'covtype.csv' or 'covtype.data.gz' not given (got {sorted(files)})")
    labels = integer_labels(df[COVTYPE_LABEL], path, COVTYPE_LABEL, range(1, 8))
    X = feature_matrix(df[list(COVTYPE_FEATURES)], path)
    return RawTable(X=X, labels=labels, feature_names=list(COVTYPE_FEATURES))
