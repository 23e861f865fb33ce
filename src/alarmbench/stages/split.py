"""split: one cell's split (or a target group's canonical split) of a prepared table (docs/protocol.md#split)."""

from __future__ import annotations

import logging

from alarmbench.data import registry
from alarmbench.data.pollution import class_counts, pollution_problem
from alarmbench.data.prepare import Prepared
from alarmbench.errors import InputError
from alarmbench.data.splits import SplitParams, make_split
from alarmbench.stagelog import describe_split, shape, timed

log = logging.getLogger(__name__)


def split_stage(*, prepared: str, dataset: str, experiment: str, seed: int, n_anomalies: int | str, pollution: float,
                protocol: dict, out_npz: str, out_json: str, user: dict | None = None,
                grid_n: list | None = None) -> None:
    """`n_anomalies`: the cell's n (already capped by grid.effective_n) or "half"; `grid_n`: the
    config's values that name this cell, recorded in split.json beside the effective n."""
    log.info("split: data set %s, experiment %s, seed %d, %s known anomalies, pollution %g", dataset, experiment,
             seed, n_anomalies, pollution)
    with timed(log, "load prepared table"):
        prep = Prepared.load(prepared)
    log.info("prepared table: %s", shape(prep.X))
    spec = registry.get(dataset, user)
    # The config check's test, for a table that was not there before the first job (a download).
    problem = pollution_problem(dataset, experiment, spec.preset(experiment), class_counts(prep.labels, prep.is_test),
                                pollution)
    if problem:
        raise InputError(f"pollution: {problem}")
    params = SplitParams(spec.preset(experiment), seed=seed, n_train_anomalies=n_anomalies, pollution=pollution,
                         scaling=spec.scaling, **protocol)
    with timed(log, "split"):
        split = make_split(prep, params, experiment=experiment)
    if grid_n is not None:
        split.meta["n_anomalies"]["grid"] = list(grid_n)
    log.info("split: %s", describe_split(split))
    with timed(log, "write split"):
        split.save(out_npz, out_json)
