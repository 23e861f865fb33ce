"""Expanding the workflow config into jobs: cells (data set, experiment, n, pollution, seed) × methods.

A grid applies to every configured data set that has all of its experiments (registry presets);
pollution levels above 0 only to data sets with pollution experiments (docs/protocol.md#experiments). Jobs that
several grids share are run once. Shared targets are keyed by their *group*: the first experiment
of the data set with the same normal and anomaly classes (transfer shares the targets of known).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from alarmbench.data import registry
from alarmbench.data.protocols import A3_PREFIX
from alarmbench.data.spec import DatasetSpec
from alarmbench.data.splits import HALF  # ⌊training anomalies / 2⌋ of each seed's split, resolved by the split


def fmt_pollution(p: float) -> str:
    return f"{float(p):g}"


@dataclass(frozen=True)
class Cell:
    dataset: str
    experiment: str
    n_anomalies: int | str  # a count, or HALF
    pollution: str  # formatted, e.g. "0.025"
    seed: int

    @property
    def path(self) -> str:
        return f"{self.dataset}/{self.experiment}/n{self.n_anomalies}_p{self.pollution}/seed{self.seed}"

    def _key(self) -> tuple:
        n = (0, self.n_anomalies) if isinstance(self.n_anomalies, int) else (1, 0)  # counts before "half"
        return (self.dataset, self.experiment, n, self.pollution, self.seed)

    def __lt__(self, other: "Cell") -> bool:
        return self._key() < other._key()


@dataclass(frozen=True, order=True)
class Job:
    cell: Cell
    method: str


def target_group(spec: DatasetSpec, experiment: str) -> str:
    """Experiments with the same normal and anomaly classes share targets (their normal training
    rows are identical: pollution draws from all anomaly classes, the cap never touches normals).
    A³ and R2-AD2 experiments never share: their split protocols differ (`data.protocols`)."""
    def key(name: str, s) -> tuple:
        return set(s.normal), set(s.all_anomalies), name.startswith(A3_PREFIX)

    mine = key(experiment, spec.preset(experiment))
    return next(name for name, s in spec.presets.items() if key(name, s) == mine)


@dataclass(frozen=True)
class HalfCapped:
    """`min(N, A/2)`: N known anomalies, at most half of the table's anomalous rows A of the
    experiment's training-anomaly classes (the usual protocol, e.g. min(100, ⌊A/2⌋)). Resolved to a
    count before any job, so a cell's path names the count; refused where A is not known then."""

    n: int

    def __str__(self) -> str:
        return f"min({self.n}, A/2)"


_HALF_CAPPED = re.compile(r"^min\(\s*(\d+)\s*,\s*A\s*/\s*2\s*\)$")
N_SYNTAX = f"a count ≥ 0, {HALF!r} (⌊training anomalies / 2⌋ of each seed's split) or 'min(N, A/2)'"


def parse_n(value: object) -> int | str | HalfCapped:
    """A grid's n_anomalies value (or a path's `n` wildcard): a count ≥ 0, "half", or "min(N, A/2)"."""
    if value == HALF or isinstance(value, HalfCapped):
        return value
    if isinstance(value, str) and (m := _HALF_CAPPED.match(value.strip())):
        return HalfCapped(int(m.group(1)))
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise ValueError(f"n_anomalies: expected {N_SYNTAX}; got {value!r}")
    if int(value) < 0:
        raise ValueError(f"n_anomalies: expected {N_SYNTAX}; got {value!r}")
    return int(value)


def anomalous_rows(spec: DatasetSpec, experiment: str | None, total: int | None = None) -> int | None:
    """A of `min(N, A/2)`: the rows of the experiment's training-anomaly classes (the registry's
    documented class counts), else the registry's anomaly total, else `total` (a user file's
    anomalous rows); None if none is known."""
    shape = spec.shape
    if shape is not None and shape.class_rows is not None and shape.exact and experiment in spec.presets:
        return sum(shape.class_rows.get(c, 0) for c in spec.preset(experiment).train_anomalies)
    return spec.n_anomalies_total if spec.n_anomalies_total is not None else total


def effective_n(spec: DatasetSpec, n: int | str | HalfCapped, total: int | None = None,
                experiment: str | None = None) -> int | str:
    """The documented rule for tables with few anomalies: at most half of the table's anomalous
    rows are used as known training anomalies, n_eff = min(n, ⌊A / 2⌋) (so n = 100 needs A ≥ 200).

    The rest stays available for the validation and test parts (about a quarter of A ends up in
    them, docs/protocol.md#split). A is the registry's `n_anomalies_total`, else `total` (a user file's
    anomalous rows, counted before any job: `anomaly_totals`); with neither, n is kept and the
    split refuses an n larger than its training anomalies. n = 0 stays 0; "half" stays "half"
    (⌊A_train / 2⌋ ≤ ⌊A / 2⌋ already; the split resolves it per seed). `min(N, A/2)` always
    applies the cap, with A from `anomalous_rows`, and is refused where A is unknown.
    """
    n = parse_n(n)
    if isinstance(n, HalfCapped):
        a = anomalous_rows(spec, experiment, total)
        if a is None:
            raise ValueError(f"n_anomalies: {n} needs the anomalous rows of data set {spec.name}, which are not known "
                             f"before its data is read; give a count or {HALF!r}")
        return min(n.n, max(1, a // 2)) if n.n else 0
    total = spec.n_anomalies_total if spec.n_anomalies_total is not None else total
    if n == HALF or total is None or n == 0:
        return n
    return min(n, max(1, total // 2))


def n_notes(config: Mapping, totals: Mapping[str, int] | None = None) -> list[str]:
    """One line per (data set, experiment, requested n) whose effective n differs from the grid's
    value, each starting with "<data set>: "."""
    seen: dict[tuple, str] = {}
    user = config.get("user_datasets") or {}
    for cell, n, _ in _cells(dict(config), totals):
        if str(n) == str(cell.n_anomalies):
            continue
        spec = registry.get(cell.dataset, user)
        a = anomalous_rows(spec, cell.experiment, (totals or {}).get(cell.dataset)) if isinstance(n, HalfCapped) else (
            spec.n_anomalies_total if spec.n_anomalies_total is not None else (totals or {}).get(cell.dataset))
        seen[(cell.dataset, cell.experiment, str(n))] = (
            f"{cell.dataset}: n_anomalies {n} -> {cell.n_anomalies} known anomalies in {cell.experiment} "
            f"(at most ⌊A/2⌋, A = {a} anomalous rows)")
    return list(seen.values())


def configured_datasets(config: Mapping) -> list[str]:
    """`datasets`, then every `user_datasets` name not already listed: declaring a user data set
    configures it (listing it in `datasets` as well is allowed, not needed)."""
    listed = list(config.get("datasets") or [])
    return listed + [name for name in (config.get("user_datasets") or {}) if name not in listed]


def n_values(grid: Mapping, dataset: str) -> list[int | str | HalfCapped]:
    """A grid's n_anomalies for one data set: a list for every data set, or a mapping from data
    set names (and an optional `default`) to lists; absent: [100]."""
    values = grid.get("n_anomalies", [100])
    if isinstance(values, Mapping):
        values = values.get(dataset, values.get("default", [100]))
    return [parse_n(v) for v in values]


def anomaly_totals(config: Mapping) -> dict[str, int]:
    """Anomalous rows of each configured user data set (its file read once, before any job), for
    the cap rule of `effective_n`. Registered data sets carry theirs in the registry."""
    from alarmbench.data.userdata import check_user_data, is_variant

    user = config.get("user_datasets") or {}
    return {name: check_user_data(name, entry)["anomaly_rows"] for name, entry in user.items() if not is_variant(entry)}


def epochs_for(run: Mapping, dataset: str, method: str | None = None) -> int | None:
    """The epochs of `method`'s training loops on `dataset` (None: the papers'), the one place
    they are resolved (the workflow's keys and records, `alarmbench plan`).

    `run.method_epochs[method]` first: a value for every data set, or a mapping per data set with
    an optional `default`; a data set it does not name falls back to `run.epochs`: one override for
    every data set (null = the papers' epochs), or a mapping per data set with an optional
    `default` (e.g. fewer epochs for the large tables on a CPU)."""
    per_method = (run.get("method_epochs") or {}).get(method, _UNSET) if method else _UNSET
    if isinstance(per_method, Mapping):
        per_method = per_method.get(dataset, per_method.get("default", _UNSET))
    if per_method is not _UNSET:
        return per_method
    epochs = run.get("epochs")
    if isinstance(epochs, Mapping):
        return epochs.get(dataset, epochs.get("default"))
    return epochs


_UNSET = object()


def _cells(config: dict, totals: Mapping[str, int] | None):
    """(cell, requested n, grid's methods) for every cell of every grid."""
    user = config.get("user_datasets") or {}
    datasets = configured_datasets(config)
    for name, grid in config["grids"].items():
        for dataset in grid.get("datasets") or datasets:
            if dataset not in datasets:
                continue
            spec = registry.get(dataset, user)
            if not all(e in spec.presets for e in grid["experiments"]):
                continue
            for experiment in grid["experiments"]:
                for p in grid.get("pollution", [0.0]):
                    if p > 0 and not spec.pollution:
                        continue
                    for n in n_values(grid, dataset):
                        n_eff = effective_n(spec, n, (totals or {}).get(dataset), experiment)
                        for seed in grid.get("seeds") or config["seeds"]:
                            yield Cell(dataset, experiment, n_eff, fmt_pollution(p), int(seed)), n, grid["methods"]


def expand(config: dict, totals: Mapping[str, int] | None = None) -> list[Job]:
    """Every (cell, method) job; `totals`: anomalous rows of user data sets (`anomaly_totals`)."""
    jobs = {Job(cell, m) for cell, _, methods in _cells(config, totals) for m in methods}
    return sorted(jobs, key=lambda j: (j.cell._key(), j.method))


def requested_n(config: dict, totals: Mapping[str, int] | None = None) -> dict[str, list]:
    """cell path -> the grid values of n_anomalies that name it (several when the cap merges them),
    recorded in the cell's split.json beside the effective n."""
    out: dict[str, set] = {}
    for cell, n, _ in _cells(config, totals):
        out.setdefault(cell.path, set()).add(str(n) if isinstance(n, HalfCapped) else n)
    return {path: sorted(v, key=lambda n: (isinstance(n, str), n if isinstance(n, int) else 0, str(n)))
            for path, v in out.items()}


def loader_modules(spec: DatasetSpec) -> list[str]:
    """The loader modules a data set's sources use (imported by name at run time, so a prepare
    job's code key names them: editing a loader reruns only the data sets it reads)."""
    from alarmbench.data.loaders import LOADERS

    return sorted({f"alarmbench.data.loaders.{LOADERS[s.loader].split(':')[0]}" for s in spec.sources})
