"""Data sets that ship inside scikit-learn: the default suite runs without any download."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alarmbench.data.table import RawTable


def load_digits(files: Mapping[str, Path]) -> RawTable:
    """scikit-learn's 8x8 digits (1,797 images, 64 grey levels 0-16): a small MNIST stand-in."""
    from sklearn.datasets import load_digits as sk_load

    bunch = sk_load()
    return RawTable(bunch.data, bunch.target, list(bunch.feature_names))


def load_breast_cancer(files: Mapping[str, Path]) -> RawTable:
    """Wisconsin diagnostic breast cancer (569 rows, 30 features): benign vs malignant."""
    from sklearn.datasets import load_breast_cancer as sk_load

    bunch = sk_load()
    names = [str(n) for n in bunch.target_names]  # index 0 = malignant, 1 = benign
    return RawTable(bunch.data, [names[t] for t in bunch.target], list(bunch.feature_names))
