"""The split protocol of the R2-AD2 code (docs/protocol.md#split), one cell at a time.

Order: official test set or a fixed seed-42 test split -> 5 % validation split of the rest
(experiment seed) -> pollution (relabelled anomalies) -> cap to n known anomalies ->
val/test class filtering -> min-max scaler fitted on normal training rows -> 75 % hold-out.
The split seeds (42 for test, the experiment seed for val) are those of the original
scikit-learn calls, so test and val rows are identical to the authors'. The other draws come
from named sub-streams of the experiment seed (`rng="substreams"`), or, with `rng="original"`,
from one `default_rng(seed)` consumed in the authors' order.

`split_protocol="a3_code"` switches the two steps where the A³ code differs (docs/protocol.md#a3-split,
`data.protocols`): the test split is drawn with the experiment seed, and the scaler is fitted on
every row of the training split (`_test_seed`, `_scaler_rows`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from alarmbench.data.prepare import Prepared
from alarmbench.data.protocols import A3_CODE, R2AD2, check_split_protocol
from alarmbench.data.spec import ClassSetup
from alarmbench.fileio import load_npz, read_json, sha256_array, write_json, write_npz
from alarmbench.rng import substream


HALF = "half"


class SplitError(ValueError):
    """The requested cell cannot be built from this data (names the data set and the problem)."""


@dataclass(frozen=True)
class SplitParams:
    setup: ClassSetup
    seed: int
    n_train_anomalies: int | str = 100  # a count, or "half": ⌊training anomalies / 2⌋ of this seed's split
    pollution: float = 0.0
    p_test: float = 0.2
    p_val: float = 0.05
    test_seed: int = 42
    holdout_fraction: float = 0.75
    # Faithfulness switch: the original re-draws the hold-out at every use; store that many extra draws.
    holdout_redraws: int = 0
    rng: str = "substreams"  # or "original"
    scaling: str = "minmax"  # or "divide255" (images)
    split_protocol: str = R2AD2  # or "a3_code" (data.protocols): test seed and scaler rows

    def __post_init__(self) -> None:
        try:
            check_split_protocol(self.split_protocol, "split_protocol")
        except ValueError as err:
            raise SplitError(str(err)) from None
        if not 0.0 <= self.pollution < 1.0:
            raise SplitError(f"pollution must be in [0, 1), got {self.pollution}")
        n = self.n_train_anomalies
        if n != HALF and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise SplitError(f"n_train_anomalies must be a count >= 0 or {HALF!r}, got {n!r}")
        if self.rng not in ("substreams", "original"):
            raise SplitError(f"rng must be 'substreams' or 'original', got {self.rng!r}")
        overlap = set(self.setup.normal) & set(self.setup.all_anomalies)
        if overlap:
            raise SplitError(f"classes {sorted(overlap)} are declared both normal and anomalous")
        extra = set(self.setup.train_anomalies) - set(self.setup.test_anomalies)
        if extra:
            raise SplitError(f"train anomaly classes {sorted(extra)} are not among the test anomaly classes")


@dataclass
class Split:
    """One cell's data. Training rows: all normal rows first (`n_normal`), then the known anomalies."""

    x_train: np.ndarray
    y_train: np.ndarray  # class labels after pollution
    a_train: np.ndarray  # 1 = anomaly
    x_val: np.ndarray
    y_val: np.ndarray
    a_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    a_test: np.ndarray
    holdout: np.ndarray  # indices into the normal training rows
    meta: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # polluted mask, source indices, scaler, re-draws

    @property
    def n_normal(self) -> int:
        return int(self.meta["counts"]["n_normal_train"])

    @property
    def train_target(self) -> np.ndarray:
        return self.x_train[: self.n_normal]

    def save(self, npz_path: str | Path, json_path: str | Path) -> None:
        arrays = {k: getattr(self, k) for k in _ARRAYS} | self.extra
        meta = dict(self.meta, arrays={k: sha256_array(v) for k, v in sorted(arrays.items())})
        write_npz(npz_path, **arrays)
        write_json(json_path, meta, sealed=True)

    @classmethod
    def load(cls, npz_path: str | Path, json_path: str | Path | None = None) -> "Split":
        """Both files' digests are checked (`fileio.DamagedFileError`: a damaged one names both to
        remove, as the split job writes them together)."""
        json_path = Path(json_path) if json_path else Path(npz_path).with_suffix(".json")
        both = (npz_path, json_path)
        arrays = load_npz(npz_path, remove=both)  # first: the declared input of the jobs that read it
        meta = read_json(json_path, remove=both)
        return cls(**{k: arrays.pop(k) for k in _ARRAYS}, meta=meta, extra=arrays)


_ARRAYS = ("x_train", "y_train", "a_train", "x_val", "y_val", "a_val", "x_test", "y_test", "a_test", "holdout")


def make_split(prep: Prepared, params: SplitParams, *, experiment: str = "") -> Split:
    from sklearn.model_selection import train_test_split  # imported here: jobs that only load splits skip it

    setup, seed = params.setup, params.seed
    rng_for = _rng_factory(params)
    rest, test_idx = _test_split(prep, params)
    train_idx, val_idx = train_test_split(rest, test_size=params.p_val, random_state=seed)

    train_idx_all = train_idx
    labels = prep.labels[train_idx].copy()
    polluted = _pollute(labels, setup, params.pollution, rng_for("pollution"), prep.name)
    n_known = known_anomaly_count(labels, setup, params.n_train_anomalies)
    keep = _cap_anomalies(labels, setup, n_known, rng_for("anomaly_cap"), prep.name)
    n_normal = int(np.isin(labels[keep], setup.normal).sum())
    if n_normal == 0:
        raise SplitError(f"data set {prep.name}: no normal training rows of classes {list(setup.normal)}")
    train_idx, labels, polluted = train_idx[keep], labels[keep], polluted[keep]
    val_idx = val_idx[np.isin(prep.labels[val_idx], setup.normal + setup.train_anomalies)]
    test_idx = test_idx[np.isin(prep.labels[test_idx], setup.normal + setup.test_anomalies)]

    scale = _scaler(prep.X[_scaler_rows(params, all_train=train_idx_all, kept=train_idx, n_normal=n_normal)],
                    params.scaling)
    holdout_rng = rng_for("holdout")
    n_hold = math.floor(params.holdout_fraction * n_normal)
    draws = [holdout_rng.choice(n_normal, n_hold, replace=False) for _ in range(1 + params.holdout_redraws)]

    def binary(y):
        return np.isin(y, setup.all_anomalies).astype(np.int8)

    y_val, y_test = prep.labels[val_idx], prep.labels[test_idx]
    split = Split(
        scale(prep.X[train_idx]), labels, binary(labels),
        scale(prep.X[val_idx]), y_val, binary(y_val),
        scale(prep.X[test_idx]), y_test, binary(y_test),
        holdout=draws[0].astype(np.int64),
        extra={"polluted": polluted, "idx_train": train_idx.astype(np.int64), "idx_val": val_idx.astype(np.int64),
               "idx_test": test_idx.astype(np.int64), **scale.arrays}
        | ({"holdout_redraws": np.stack(draws[1:]).astype(np.int64)} if params.holdout_redraws else {}),
    )
    split.meta = _describe(prep, params, split, experiment, n_normal)
    split.meta["n_anomalies"] = {"requested": params.n_train_anomalies, "effective": n_known}
    return split


def _rng_factory(params: SplitParams):
    if params.rng == "original":
        shared = np.random.default_rng(params.seed)  # one generator, consumed in the authors' order
        return lambda name: shared
    return lambda name: substream(params.seed, f"split/{name}")


def _test_split(prep: Prepared, params: SplitParams) -> tuple[np.ndarray, np.ndarray]:
    if prep.is_test is not None:
        return np.flatnonzero(~prep.is_test), np.flatnonzero(prep.is_test)
    from sklearn.model_selection import train_test_split

    rest, test = train_test_split(np.arange(len(prep.X)), test_size=params.p_test, random_state=_test_seed(params))
    return rest, test


def _test_seed(params: SplitParams) -> int:
    """R2-AD2: "split and forget", the same test rows for every experiment seed (`test_seed`, 42).
    The A³ code: `random_state = seed`, so the test rows change with the experiment seed."""
    return params.seed if params.split_protocol == A3_CODE else params.test_seed


def _scaler_rows(params: SplitParams, *, all_train: np.ndarray, kept: np.ndarray, n_normal: int) -> np.ndarray:
    """The rows the min-max scaler is fitted on. R2-AD2: the normal training rows after pollution
    and the cap (`kept[:n_normal]`). The A³ code: every row of the training split, all classes
    (anomalies and classes no view uses included), before the cap (`all_train`)."""
    return all_train if params.split_protocol == A3_CODE else kept[:n_normal]


def _pollute(labels: np.ndarray, setup: ClassSetup, p: float, rng: np.random.Generator, name: str) -> np.ndarray:
    """Relabel round(n_norm·p/(1−p)) anomaly rows (any anomaly class) as random normal classes, in place."""
    polluted = np.zeros(len(labels), bool)
    if p <= 0:
        return polluted
    n_norm = int(np.isin(labels, setup.normal).sum())
    n_pollute = round(n_norm * p / (1 - p))
    candidates = np.flatnonzero(np.isin(labels, setup.all_anomalies))
    replace = n_pollute > len(candidates)
    if replace:
        if len(candidates) == 0:
            raise SplitError(f"data set {name}: pollution {p} needs anomaly rows but the training split has none")
        warnings.warn(f"data set {name}: pollution {p} needs {n_pollute} anomaly rows but only "
                      f"{len(candidates)} exist; drawing with replacement as the original does", stacklevel=3)
    drawn = rng.choice(candidates, n_pollute, replace=replace)
    labels[drawn] = rng.choice(np.array(setup.normal), n_pollute)
    polluted[drawn] = True
    return polluted


def known_anomaly_count(labels: np.ndarray, setup: ClassSetup, n: int | str) -> int:
    """The effective n: `n` itself, or for "half" ⌊A_train / 2⌋ with A_train the training rows of
    the train-anomaly classes (after pollution: the pool the cap draws from)."""
    if n == HALF:
        return int(np.isin(labels, setup.train_anomalies).sum()) // 2
    return int(n)


def _cap_anomalies(labels: np.ndarray, setup: ClassSetup, n: int, rng: np.random.Generator, name: str) -> np.ndarray:
    """Row indices to keep: every normal row, then n rows drawn from the train-anomaly classes."""
    idx_norm = np.flatnonzero(np.isin(labels, setup.normal))
    idx_anom = np.flatnonzero(np.isin(labels, setup.train_anomalies))
    if n > len(idx_anom):
        raise SplitError(
            f"data set {name}: n_train_anomalies={n} but the training split has only {len(idx_anom)} "
            f"rows of classes {list(setup.train_anomalies)}")
    return np.concatenate([idx_norm, rng.choice(idx_anom, n, replace=False)]).astype(np.int64)


class _Scale:
    def __init__(self, fn, arrays):
        self.fn, self.arrays = fn, arrays

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.fn(x)


def _scaler(x_normal: np.ndarray, kind: str) -> _Scale:
    if kind == "divide255":
        return _Scale(lambda x: (x / np.float32(255)).astype(np.float32), {})
    if kind != "minmax":
        raise SplitError(f"unknown scaling {kind!r}; expected 'minmax' or 'divide255'")
    from sklearn.preprocessing import MinMaxScaler

    flat = x_normal.reshape(len(x_normal), -1)
    mm = MinMaxScaler().fit(flat)  # constant features get scale 1, as in scikit-learn
    arrays = {"scaler_min": mm.data_min_.astype(np.float32), "scaler_scale": mm.scale_.astype(np.float32)}
    return _Scale(lambda x: mm.transform(x.reshape(len(x), -1)).astype(np.float32).reshape(x.shape), arrays)


def _protocol_record(params: SplitParams, *, official_test: bool) -> dict:
    """What `split_protocol` did to this cell, in words a reader of split.json needs no code for."""
    a3 = params.split_protocol == A3_CODE
    scaler = ("none (images: / 255)" if params.scaling == "divide255" else
              "all training-split rows (every class)" if a3 else "normal training rows")
    return {"name": params.split_protocol, "test_split_seed": None if official_test else _test_seed(params),
            "scaler_fitted_on": scaler}


def _describe(prep: Prepared, params: SplitParams, split: Split, experiment: str, n_normal: int) -> dict:
    def counts(y):
        values, n = np.unique(y, return_counts=True)
        return {str(v): int(c) for v, c in zip(values, n)}

    p = asdict(params)
    setup = p.pop("setup")
    return {
        "dataset": prep.name, "experiment": experiment, "seed": params.seed,
        "normal": list(setup["normal"]), "train_anomalies": list(setup["train_anomalies"]),
        "test_anomalies": list(setup["test_anomalies"]), "protocol": p,
        "split_protocol": _protocol_record(params, official_test=prep.is_test is not None),
        "counts": {
            "n_normal_train": n_normal, "n_known_anomalies": int(split.a_train.sum()),
            "n_polluted": int(split.extra["polluted"].sum()), "n_holdout": int(len(split.holdout)),
            "train": counts(split.y_train), "val": counts(split.y_val), "test": counts(split.y_test),
        },
        "inputs": {"prepared_files": prep.meta.get("files", {}), "prepared_X": sha256_array(prep.X),
                   "prepared_labels": sha256_array(prep.labels), "prepared_rows": int(len(prep.X))},
    }
