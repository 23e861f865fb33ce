"""split: one cell's split (or a target group's canonical split) of a prepared table (SPEC §1.1)."""

from __future__ import annotations

from alarmbench.data import registry
from alarmbench.data.prepare import Prepared
from alarmbench.data.splits import SplitParams, make_split


def split_stage(*, prepared: str, dataset: str, experiment: str, seed: int, n_anomalies: int | str, pollution: float,
                protocol: dict, out_npz: str, out_json: str, user: dict | None = None,
                grid_n: list | None = None) -> None:
    """`n_anomalies`: the cell's n (already capped by grid.effective_n) or "half"; `grid_n`: the
    config's values that name this cell, recorded in split.json beside the effective n."""
    prep = Prepared.load(prepared)
    spec = registry.get(dataset, user)
    params = SplitParams(spec.preset(experiment), seed=seed, n_train_anomalies=n_anomalies, pollution=pollution,
                         scaling=spec.scaling, **protocol)
    split = make_split(prep, params, experiment=experiment)
    if grid_n is not None:
        split.meta["n_anomalies"]["grid"] = list(grid_n)
    split.save(out_npz, out_json)
