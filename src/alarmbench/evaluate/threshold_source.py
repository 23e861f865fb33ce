"""Which cell's validation data chooses an A³ threshold (docs/protocol.md#a3-threshold).

The preprint chooses one threshold per known-anomaly experiment at the **largest n** and reuses
it for every smaller n and for the paired transfer experiment (2-x ← 1-x, 3-b ← 3-a, 3-d ← 3-c),
for A³ and the baselines alike: rule `largest_n` (the default, `a3_threshold` in the config).
Rule `per_cell` lets every cell choose its own on its own validation part.

The source of a (cell, method) is the cell of the same data set, pollution, seed and method whose
experiment is the known-anomaly counterpart of the cell's (same normal and train-anomaly classes,
test anomalies = train anomalies) at the largest n the grid ran that method at; when the grid has
no such cell, the largest n of the cell's own experiment. Nothing here imports NumPy: the
workflow resolves it at every DAG build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from alarmbench.data.protocols import A3_PREFIX
from alarmbench.data.spec import DatasetSpec
from alarmbench.grid import Cell, Job

RULES = ("largest_n", "per_cell")
DEFAULT_RULE = "largest_n"


def known_counterpart(spec: DatasetSpec, experiment: str) -> str:
    """The known-anomaly experiment a transfer experiment pairs with (itself when it is one, or
    when the data set has none): the first preset with the same normal and train-anomaly classes
    whose test anomalies are its train anomalies, of the same family (A³ or not)."""
    setup = spec.preset(experiment)
    if not setup.is_transfer:
        return experiment
    a3 = experiment.startswith(A3_PREFIX)
    for name, other in spec.presets.items():
        if (name.startswith(A3_PREFIX) == a3 and not other.is_transfer and set(other.normal) == set(setup.normal)
                and set(other.train_anomalies) == set(setup.train_anomalies)):
            return name
    return experiment


def threshold_sources(jobs: Iterable[Job], spec_of: Callable[[str], DatasetSpec], *,
                      applies: Callable[[Cell], bool], rule: str = DEFAULT_RULE) -> dict[Job, Cell]:
    """Job → the cell whose validation part chooses its threshold, for the jobs whose cell gets
    threshold metrics (`applies`); under `per_cell` every job is its own source."""
    if rule not in RULES:
        raise ValueError(f"a3_threshold: {rule!r} is not a threshold rule; expected one of {list(RULES)}")
    jobs = sorted(set(jobs))
    cells_of: dict[tuple, list[Cell]] = {}
    for job in jobs:
        c = job.cell
        cells_of.setdefault((c.dataset, c.experiment, c.pollution, c.seed, job.method), []).append(c)
    out = {}
    for job in jobs:
        c = job.cell
        if not applies(c):
            continue
        if rule == "per_cell":
            out[job] = c
            continue
        pair = known_counterpart(spec_of(c.dataset), c.experiment)
        candidates = (cells_of.get((c.dataset, pair, c.pollution, c.seed, job.method))
                      or cells_of[(c.dataset, c.experiment, c.pollution, c.seed, job.method)])
        out[job] = max(candidates, key=lambda cell: cell.n_anomalies)
    return out
