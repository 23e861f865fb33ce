"""Expanding the workflow config into jobs: cells (data set, experiment, n, pollution, seed) × methods.

A grid applies to every configured data set that has all of its experiments (registry presets);
pollution levels above 0 only to data sets with pollution experiments (SPEC §1.4). Jobs that
several grids share are run once. Shared targets are keyed by their *group*: the first experiment
of the data set with the same normal and anomaly classes (transfer shares the targets of known).
"""

from __future__ import annotations

from dataclasses import dataclass

from alarmbench.data import registry
from alarmbench.data.protocols import A3_PREFIX
from alarmbench.data.spec import DatasetSpec


def fmt_pollution(p: float) -> str:
    return f"{float(p):g}"


@dataclass(frozen=True, order=True)
class Cell:
    dataset: str
    experiment: str
    n_anomalies: int
    pollution: str  # formatted, e.g. "0.025"
    seed: int

    @property
    def path(self) -> str:
        return f"{self.dataset}/{self.experiment}/n{self.n_anomalies}_p{self.pollution}/seed{self.seed}"


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


def effective_n(spec: DatasetSpec, n: int) -> int:
    """The documented rule for tables with few anomalies: at most half of the table's anomalous
    rows are used as known training anomalies, n_eff = min(n, ⌊A / 2⌋) (so n = 100 needs A ≥ 200).

    The rest stays available for the validation and test parts (about a quarter of A ends up in
    them, SPEC §1.1). Applies where the registry knows A (`n_anomalies_total`); n = 0 stays 0.
    """
    total = spec.n_anomalies_total
    return n if total is None else min(n, max(1, total // 2)) if n > 0 else 0


def epochs_for(run: dict, dataset: str) -> int | None:
    """`run.epochs`: one override for every data set (null = the papers' epochs), or a mapping
    per data set with an optional `default` (e.g. fewer epochs for the large tables on a CPU)."""
    epochs = run.get("epochs")
    if isinstance(epochs, dict):
        return epochs.get(dataset, epochs.get("default"))
    return epochs


def expand(config: dict) -> list[Job]:
    user = config.get("user_datasets") or {}
    jobs: set[Job] = set()
    for name, grid in config["grids"].items():
        for dataset in grid.get("datasets") or config["datasets"]:
            if dataset not in config["datasets"]:
                continue
            spec = registry.get(dataset, user)
            if not all(e in spec.presets for e in grid["experiments"]):
                continue
            for experiment in grid["experiments"]:
                for p in grid.get("pollution", [0.0]):
                    if p > 0 and not spec.pollution:
                        continue
                    for n in grid.get("n_anomalies", [100]):
                        for seed in grid.get("seeds") or config["seeds"]:
                            cell = Cell(dataset, experiment, effective_n(spec, int(n)), fmt_pollution(p), int(seed))
                            jobs.update(Job(cell, m) for m in grid["methods"])
    return sorted(jobs)


def loader_modules(spec: DatasetSpec) -> list[str]:
    """The loader modules a data set's sources use (imported by name at run time, so a prepare
    job's code key names them: editing a loader reruns only the data sets it reads)."""
    from alarmbench.data.loaders import LOADERS

    return sorted({f"alarmbench.data.loaders.{LOADERS[s.loader].split(':')[0]}" for s in spec.sources})
