"""What the registry knows about one data set: sources, classes, experiment presets, hyperparameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from alarmbench.data.sources import Source


def _strs(values) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@dataclass(frozen=True)
class ClassSetup:
    """Which classes are normal, which anomalies are known in training, which appear in test."""

    normal: tuple[str, ...]
    test_anomalies: tuple[str, ...]
    train_anomalies: tuple[str, ...] | None = None  # None: the same as test_anomalies ("known")

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _strs(self.normal))
        object.__setattr__(self, "test_anomalies", _strs(self.test_anomalies))
        train = self.test_anomalies if self.train_anomalies is None else _strs(self.train_anomalies)
        object.__setattr__(self, "train_anomalies", train)

    @property
    def all_anomalies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.test_anomalies + self.train_anomalies))

    @property
    def is_transfer(self) -> bool:
        return set(self.train_anomalies) != set(self.test_anomalies)


@dataclass(frozen=True)
class HyperParams:
    """Per-data-set network sizes of both papers (SPEC §1.4, §2.4)."""

    encoder: tuple[int, ...] | str  # dense AE dims (a, b, c), or "conv" for 28x28 images
    alarm: tuple[int, int, int, int] = (1000, 500, 200, 75)
    batch_size: int = 512
    a3_target: tuple[int, ...] | str = (50, 25, 10, 5)  # A3-2020 target AE
    a3_batch_size: int = 256


def default_hparams(n_features: int, n_samples: int) -> HyperParams:
    """The documented rule for tables the papers did not use (ADBench, user data, embedded).

    Anchored on the papers' choices: Mammography (6 features) got (5, 3, 2) and the small alarm
    (100, 50, 25, 10); wider tables got a first layer of 20-60 units and the large alarm.
    a = min(60, ceil(0.8 D)), b = ceil(a / 2), c = ceil(b / 2); small alarm below 20 features;
    batch 128 below 20k rows, else 512.
    """
    a = max(2, min(60, math.ceil(0.8 * n_features)))
    b = max(2, math.ceil(a / 2))
    c = max(1, math.ceil(b / 2))
    alarm = (100, 50, 25, 10) if n_features < 20 else (1000, 500, 200, 75)
    return HyperParams(encoder=(a, b, c), alarm=alarm, batch_size=128 if n_samples < 20_000 else 512,
                       a3_target=(a, b, c), a3_batch_size=256)


@dataclass(frozen=True)
class DeclaredShape:
    """A table's size from its documentation, known before any download (`alarmbench plan`).

    `rows`: all rows the loader returns (an official test part included); `test_rows`: that part's
    rows (None: the table is re-split, 20 % test); `sample_shape`: one prepared sample (features, or
    H x W); `class_rows`: rows per class (after family mapping), where documented. `exact`: False
    where the loader's cleaning drops an undocumented number of rows or columns (the figures are
    then the raw file's, an upper bound). Checked against the loader on the local mirror by
    tests/integration/test_realdata.py (data sets the mirror holds).
    """

    rows: int
    sample_shape: tuple[int, ...]
    test_rows: int | None = None
    class_rows: Mapping[str, int] | None = None
    test_class_rows: Mapping[str, int] | None = None  # of class_rows, those in the official test part
    exact: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sample_shape", tuple(int(s) for s in self.sample_shape))
        for name, total in (("class_rows", self.rows), ("test_class_rows", self.test_rows)):
            counts = getattr(self, name)
            if counts is not None:
                object.__setattr__(self, name, MappingProxyType({str(k): int(v) for k, v in counts.items()}))
                if self.exact and sum(counts.values()) != total:
                    raise ValueError(f"{name} sum to {sum(counts.values())}, not {total}")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    sources: tuple[Source, ...]
    classes: tuple[str, ...]  # every class the data may contain, after family mapping
    presets: Mapping[str, ClassSetup]
    hparams: HyperParams | None  # None: derived with default_hparams from the data
    families: Mapping[str, str] | None = None  # fine label -> class; None: labels are classes
    scaling: str = "minmax"  # "minmax" (fitted on normal training rows) or "divide255" (images)
    image_shape: tuple[int, ...] | None = None
    pollution: bool = True  # the pollution sweep applies (SPEC §1.4)
    paper_name: str | None = None  # name in the papers' tables (paper_results/)
    citation: str = ""
    notes: str = ""
    loader_options: Mapping[str, object] = field(default_factory=dict)
    n_anomalies_total: int | None = None  # anomalous rows in the whole table, where known (caps n, see grid)
    shape: DeclaredShape | None = None  # documented size (the plan before any download); None: user data

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", _strs(self.classes))
        object.__setattr__(self, "presets", MappingProxyType(dict(self.presets)))
        for key, setup in self.presets.items():
            undeclared = sorted(set(setup.normal + setup.all_anomalies) - set(self.classes))
            if undeclared:
                raise ValueError(f"data set {self.name}: preset {key!r} uses undeclared classes {undeclared}")

    @property
    def has_transfer(self) -> bool:
        return "transfer" in self.presets

    def preset(self, experiment: str) -> ClassSetup:
        try:
            return self.presets[experiment]
        except KeyError:
            raise KeyError(
                f"data set {self.name} has no experiment {experiment!r}; available: {sorted(self.presets)}"
            ) from None
