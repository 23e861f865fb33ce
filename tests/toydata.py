"""Small generated cells for method tests: real-shaped tables that go through the real split protocol."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alarmbench.data.prepare import Prepared
from alarmbench.data.spec import ClassSetup, HyperParams
from alarmbench.data.splits import Split, SplitParams, make_split
from alarmbench.runtime.context import Context


def toy_prepared(n: int = 1500, d: int = 6, *, anomaly_frac: float = 0.1, zero_frac: float = 0.0,
                 separation: float = 3.0, seed: int = 0) -> Prepared:
    """Normal rows from a correlated Gaussian; anomalies shifted by `separation` in every feature.
    `zero_frac` of the normal rows are set to the per-feature minimum, so that min-max scaling
    turns them into exact zero vectors (as 30 % of Mammography's rows become)."""
    rng = np.random.default_rng(seed)
    n_anom = int(n * anomaly_frac)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    normal = rng.normal(size=(n - n_anom, d)) @ mix
    anomalies = rng.normal(size=(n_anom, d)) @ mix + separation
    X = np.vstack([normal, anomalies]).astype(np.float32)
    if zero_frac:
        rows = rng.choice(n - n_anom, int(zero_frac * (n - n_anom)), replace=False)
        X[rows] = normal.min(0)
    labels = np.array(["0"] * (n - n_anom) + ["1"] * n_anom)
    return Prepared("toy", X, labels, labels, None, [f"f{i}" for i in range(d)], {"dataset": "toy"})


def toy_split(n_anomalies: int = 40, seed: int = 110, **kw) -> Split:
    params = SplitParams(ClassSetup(["0"], ["1"]), seed=seed, n_train_anomalies=n_anomalies)
    return make_split(toy_prepared(**kw), params, experiment="known")


def toy_context(seed: int = 110, epochs: int | None = 5, precision: str = "tf32") -> Context:
    hp = HyperParams(encoder=(5, 3, 2), alarm=(32, 16, 8, 4), batch_size=64, a3_target=(5, 3, 2), a3_batch_size=64)
    # A checkpoint every epoch (not every 300 s): the resume tests kill a fit after a given epoch.
    return Context(hparams=hp, seed=seed, epochs=epochs, precision=precision, checkpoint_every_s=0)


def chain_options(**options) -> dict:
    """`snapshot_family`'s options: R2-AD2's, the catalog's defaults filled in."""
    from alarmbench.methods.catalog import resolved_options

    return resolved_options("r2ad2", options)


def toy_image_split(n_normal: int = 48, n_anom: int = 8, seed: int = 0) -> Split:
    """A small 28×28 cell: smooth blobs as normal images, bright noise as anomalies."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]

    def blobs(n):
        cy, cx = rng.uniform(8, 20, (2, n, 1, 1))
        return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 30.0).astype(np.float32)

    def noise(n):
        return rng.uniform(0, 1, (n, 28, 28)).astype(np.float32)

    x_train = np.concatenate([blobs(n_normal), noise(n_anom)])
    a_train = np.r_[np.zeros(n_normal), np.ones(n_anom)].astype(np.int8)
    x_test = np.concatenate([blobs(24), noise(8)])
    a_test = np.r_[np.zeros(24), np.ones(8)].astype(np.int8)
    return Split(x_train=x_train, y_train=a_train.astype(str), a_train=a_train, x_val=x_test, y_val=a_test.astype(str),
                 a_val=a_test, x_test=x_test, y_test=a_test.astype(str), a_test=a_test,
                 holdout=np.arange(n_normal), meta={"counts": {"n_normal_train": n_normal}})


def toy_degenerate(split: Split) -> Split:
    """Two constant columns, half of the normal training rows one repeated row, ten copies of one anomaly."""

    def edit(x):
        x = x.copy()
        x[:, 0], x[:, 1] = 0.0, 0.7
        return x

    x_train, n = edit(split.x_train), split.n_normal
    x_train[: n // 2] = x_train[n // 2]
    x_train[n : n + 10] = x_train[n]
    return dataclasses.replace(split, x_train=x_train, x_val=edit(split.x_val), x_test=edit(split.x_test))


class Killed(Exception):
    """Raised where a killed job would have stopped."""


def fit_killed_after_checkpoint(monkeypatch, fit, name: str, epoch: int):
    """Run `fit()` until the checkpoint whose file name contains `name` is written after `epoch`,
    then stop it there as a kill would; the path of that checkpoint."""
    from alarmbench.runtime import loop

    original, saved = loop._save, []

    def save(checkpoint, state, generator, at):
        original(checkpoint, state, generator, at)
        if name in checkpoint.path.name and at == epoch:
            saved.append(checkpoint.path)
            raise Killed

    monkeypatch.setattr(loop, "_save", save)
    try:
        with pytest.raises(Killed):
            fit()
    finally:
        monkeypatch.setattr(loop, "_save", original)
    return saved[0]
