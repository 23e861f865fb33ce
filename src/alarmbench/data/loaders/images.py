"""Image data sets in their upstream formats: IDX (LeCun, Zalando, NIST) and the Keras mnist.npz."""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alarmbench.data.loaders._checks import DataFormatError
from alarmbench.data.table import RawTable

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped), checking the header against the payload size."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataFormatError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise DataFormatError(f"{path}: header announces {dims} ({expected} bytes) but has {len(raw) - offset}")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(dims)


def _idx_pair(files: Mapping[str, Path], prefix: str, *, images: str = "images-idx3", labels: str = "labels-idx1"):
    img_path = files[f"{prefix}-{images}-ubyte.gz"]
    lab_path = files[f"{prefix}-{labels}-ubyte.gz"]
    x, y = read_idx(img_path), read_idx(lab_path)
    if len(x) != len(y):
        raise DataFormatError(f"{img_path}: {len(x)} images but {lab_path.name} has {len(y)} labels")
    return x, y


def load_idx_official(files: Mapping[str, Path]) -> RawTable:
    """MNIST / Fashion-MNIST as the four IDX files: official train and test sets."""
    train = RawTable(*_idx_pair(files, "train"))
    test = RawTable(*_idx_pair(files, "t10k"))
    return RawTable.concat_official(train, test)


def load_idx_t10k(files: Mapping[str, Path]) -> RawTable:
    """Only the official 10k test images, to be re-split with the generic protocol (`mnist_t10k`)."""
    return RawTable(*_idx_pair(files, "t10k"))


def load_keras_mnist_npz(files: Mapping[str, Path]) -> RawTable:
    """Keras' mnist.npz (x_train, y_train, x_test, y_test)."""
    path = files["mnist.npz"]
    with np.load(path, allow_pickle=False) as z:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(z.files)
        if missing:
            raise DataFormatError(f"{path}: missing arrays {sorted(missing)}")
        return RawTable.concat_official(RawTable(z["x_train"], z["y_train"]), RawTable(z["x_test"], z["y_test"]))


# EMNIST letters a-e (labels 1-5) and v-z (22-26), relabelled +9 as in A3 experiment 3 (docs/protocol.md#data-images).
EMNIST_LETTER_LABELS = (1, 2, 3, 4, 5, 22, 23, 24, 25, 26)


def load_mnist_emnist(files: Mapping[str, Path]) -> RawTable:
    """MNIST plus EMNIST letters a-e and v-z appended to the official train and test parts."""
    mnist = load_idx_official(files)
    parts = []
    for split in ("train", "test"):
        x, y = _idx_pair(files, f"emnist-letters-{split}")
        keep = np.isin(y, EMNIST_LETTER_LABELS)
        # EMNIST images are stored transposed relative to MNIST (the `emnist` package flips them back).
        parts.append(RawTable(np.transpose(x[keep], (0, 2, 1)), y[keep].astype(np.int64) + 9))
    x_tr = np.concatenate([mnist.X[~mnist.is_test], parts[0].X])
    y_tr = np.concatenate([mnist.labels[~mnist.is_test], parts[0].labels])
    x_te = np.concatenate([mnist.X[mnist.is_test], parts[1].X])
    y_te = np.concatenate([mnist.labels[mnist.is_test], parts[1].labels])
    return RawTable.concat_official(RawTable(x_tr, y_tr), RawTable(x_te, y_te))
