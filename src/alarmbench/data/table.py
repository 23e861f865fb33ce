"""The in-memory form every loader returns, before the split protocol."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RawTable:
    """Features and original class labels of one data set.

    X: float32, (N, F) for tables or (N, H, W) for images, unscaled.
    labels: str array (N,), the data set's own class names (fine labels, before family mapping).
    feature_names: one name per column (tables) or None (images).
    is_test: bool (N,) marking rows of an official test set, or None when there is none.
    """

    X: np.ndarray
    labels: np.ndarray
    feature_names: list[str] | None = None
    is_test: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        self.labels = np.asarray(self.labels).astype(str)
        if len(self.X) != len(self.labels):
            raise ValueError(f"{len(self.X)} feature rows but {len(self.labels)} labels")
        if self.feature_names is not None and self.X.ndim == 2 and len(self.feature_names) != self.X.shape[1]:
            raise ValueError(f"{self.X.shape[1]} feature columns but {len(self.feature_names)} feature names")
        if self.is_test is not None:
            self.is_test = np.asarray(self.is_test, dtype=bool)
            if self.is_test.shape != self.labels.shape:
                raise ValueError("is_test must have one entry per row")

    @property
    def n_features(self) -> int:
        return int(np.prod(self.X.shape[1:]))

    @classmethod
    def concat_official(cls, train: "RawTable", test: "RawTable") -> "RawTable":
        """Stack an official train and test part, marking the test rows."""
        if train.X.shape[1:] != test.X.shape[1:]:
            raise ValueError(f"train has shape {train.X.shape[1:]} per row, test {test.X.shape[1:]}")
        return cls(
            X=np.concatenate([train.X, test.X]),
            labels=np.concatenate([train.labels, test.labels]),
            feature_names=train.feature_names,
            is_test=np.concatenate([np.zeros(len(train.X), bool), np.ones(len(test.X), bool)]),
        )
