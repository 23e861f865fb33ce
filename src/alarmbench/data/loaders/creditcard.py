"""CreditCard fraud (Kaggle "mlg-ulb/creditcardfraud", docs/protocol.md#data-creditcard).

``creditcard.csv``: Time, V1–V28, Amount, Class. `Time` is dropped (and may be absent, as in the
OpenML copy, ID 1597); features are V1–V28 + Amount (29); `Class` 0 = normal, 1 = fraud, also
accepted as quoted category strings ('0'/'1'). No NaN handling: a missing value is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alarmbench.data.loaders._csv import check_header, feature_matrix, integer_labels, raw_file, read_csv_checked
from alarmbench.data.table import RawTable

CREDITCARD_FEATURES = (*(f"V{i}" for i in range(1, 29)), "Amount")
CREDITCARD_LABEL = "Class"


def load_creditcard(files: Mapping[str, Path]) -> RawTable:
    """29 float32 features (V1–V28, Amount) and labels "0"/"1"."""
    path = raw_file(files, "creditcard.csv")
    check_header(path, [*CREDITCARD_FEATURES, CREDITCARD_LABEL], optional=["Time"])
    df = read_csv_checked(
        path,
        dtype={**dict.fromkeys(CREDITCARD_FEATURES, np.float32), CREDITCARD_LABEL: str},
        usecols=[*CREDITCARD_FEATURES, CREDITCARD_LABEL],
    )
    labels = integer_labels(df[CREDITCARD_LABEL], path, CREDITCARD_LABEL, (0, 1))
    X = feature_matrix(df[list(CREDITCARD_FEATURES)], path)
    return RawTable(X=X, labels=labels, feature_names=list(CREDITCARD_FEATURES))
