"""A run's plan: one row per (data set, method) of a config's grid, with the estimate of its
largest cell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alarmbench import grid
from alarmbench.data import registry
from alarmbench.data.spec import HyperParams, default_hparams
from alarmbench.data.splits import HALF
from alarmbench.plan.costs import Estimate, estimate
from alarmbench.plan.shapes import Shapes, cheap_shapes, loaded_shapes


@dataclass
class Row:
    """One (data set, method) of a run: its cells and the estimate of its largest cell."""

    dataset: str
    method: str
    cells: int
    estimate: Estimate | None  # None: shapes unknown
    shapes: Shapes | None = None
    hp: HyperParams | None = None
    notes: list[str] = field(default_factory=list)


def hparams_of(dataset: str, shapes: Shapes, user: Mapping | None = None) -> HyperParams:
    spec = registry.get(dataset, dict(user or {}))
    return spec.hparams or default_hparams(shapes.n_features, shapes.table_rows or shapes.n_rows)


class _ShapeSource:
    """Shapes per (data set, experiment, n), each found once; with `load`, data sets without a
    split or prepared table are loaded to count them exactly, and one that cannot be loaded is
    marked (the documented size stays in use where there is one)."""

    def __init__(self, config: Mapping, load: bool) -> None:
        self.config, self.load = config, load
        self.results = Path(config.get("results_dir", "results"))
        self.cache: dict[tuple, Shapes | None] = {}
        self.failed: dict[str, str] = {}

    def __call__(self, cells: list[grid.Cell]) -> Shapes | None:
        c = cells[0]
        key = (c.dataset, c.experiment, c.n_anomalies)
        if key not in self.cache:
            splits = [self.results / x.path / "split.json" for x in cells]
            shapes = cheap_shapes(c.dataset, c.experiment, self.config, c.n_anomalies, splits)
            if self.load and (shapes is None or not shapes.source.endswith(("split.json", ".npz"))):
                try:
                    shapes = loaded_shapes(c.dataset, c.experiment, self.config, c.n_anomalies)
                except Exception as err:  # noqa: BLE001 - any failure to fetch or read marks the data set
                    self.failed[c.dataset] = f"{type(err).__name__}: {err}"
            self.cache[key] = shapes
        return self.cache[key]


def plan_run(config: Mapping, *, load: bool = False, totals: Mapping[str, int] | None = None) -> list[Row]:
    """A row per (data set, method) of the config's grid. `load`: data sets without a prepared table
    are loaded to count their rows (the CLI); otherwise their declared shapes stand in (the DAG
    build). `totals`: user data sets' anomalous rows (grid.anomaly_totals; read here if None)."""
    totals = grid.anomaly_totals(config) if totals is None else totals
    jobs = grid.expand(dict(config), totals)
    user = config.get("user_datasets") or {}
    run = config.get("run", {})
    groups: dict[tuple[str, str], dict[tuple, list[grid.Cell]]] = {}
    for job in jobs:  # cells of one (data set, method), grouped by what changes their shapes
        c = job.cell
        groups.setdefault((c.dataset, job.method), {}).setdefault((c.experiment, c.n_anomalies, c.pollution), []).append(c)
    source = _ShapeSource(config, load)
    capped: dict[str, list[str]] = {}  # data set -> where a cap changes a grid's n (grid.n_notes)
    for line in grid.n_notes(config, totals):
        name, text = line.split(": ", 1)
        capped.setdefault(name, []).append(text)
    rows = []
    for (dataset, method), by_shape in sorted(groups.items()):
        n_cells = sum(len(cs) for cs in by_shape.values())
        pairs = [(key, source(cs)) for key, cs in by_shape.items()]
        found = [s for _, s in pairs if s is not None]
        notes = [f"not loaded ({source.failed[dataset]})"] if dataset in source.failed else []
        notes += capped.get(dataset, [])
        if not found:
            rows.append(Row(dataset, method, n_cells, None, notes=notes))
            continue
        shapes = max(found, key=lambda s: (s.n_train, s.n_rows))  # the largest cell
        notes += half_notes(pairs)
        hp = hparams_of(dataset, shapes, user)
        est = estimate(method, shapes, hp, epochs=grid.epochs_for(run, dataset, method),
                       options=(config.get("method_options") or {}).get(method, {}),
                       feature_dtype=run.get("feature_dtype", "float16"))
        rows.append(Row(dataset, method, n_cells, est, shapes, hp, notes))
    return rows


def half_notes(pairs: list[tuple[tuple, Shapes | None]]) -> list[str]:
    """"half" resolved on the shapes: ⌊A_train / 2⌋ per experiment (the split draws it per seed)."""
    halves = {(exp, s.n_known) for (exp, n, _), s in pairs if n == HALF and s is not None and s.n_known is not None}
    if not halves:
        return []
    known = ", ".join(f"{n} ({exp})" for exp, n in sorted(halves))
    return [f"n_anomalies half -> {known} known anomalies (⌊A_train/2⌋, per seed)"]
