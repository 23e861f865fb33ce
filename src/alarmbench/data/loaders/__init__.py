"""Loaders, one per raw format, looked up by the registry's `Source.loader` key.

Each takes {upstream file name: local path} (plus options) and returns a RawTable.
Imported lazily: reading MNIST should not import the pandas-heavy CSV loaders.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from alarmbench.data.loaders._checks import DataFormatError
from alarmbench.data.table import RawTable

LOADERS: dict[str, str] = {
    "idx_official": "images:load_idx_official",
    "idx_t10k": "images:load_idx_t10k",
    "keras_mnist_npz": "images:load_keras_mnist_npz",
    "mnist_emnist": "images:load_mnist_emnist",
    "nsl_kdd": "nsl_kdd:load_nsl_kdd",
    "nsl_kdd_20": "nsl_kdd:load_nsl_kdd_20",
    "npz_xy": "arrays:load_npz_xy",
    "odds_mat": "arrays:load_odds_mat",
    "creditcard": "creditcard:load_creditcard",
    "covtype": "covtype:load_covtype",
    "url": "cic:load_url",
    "darknet": "cic:load_darknet",
    "doh": "cic:load_doh",
    "ids": "cic:load_ids",
    "digits": "embedded:load_digits",
    "breast_cancer": "embedded:load_breast_cancer",
    "user_csv": "user:load_user_csv",
    "user_npz": "user:load_user_npz",
}


def get_loader(key: str) -> Callable[..., RawTable]:
    try:
        module, func = LOADERS[key].split(":")
    except KeyError:
        raise KeyError(f"unknown loader {key!r}; known: {sorted(LOADERS)}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)


__all__ = ["LOADERS", "DataFormatError", "RawTable", "get_loader"]
