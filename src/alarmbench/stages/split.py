"""split: one cell's split (or a target group's canonical split) of a prepared table (SPEC §1.1)."""

from __future__ import annotations

from alarmbench.data import registry
from alarmbench.data.prepare import Prepared
from alarmbench.data.splits import SplitParams, make_split


def split_stage(*, prepared: str, dataset: str, experiment: str, seed: int, n_anomalies: int, pollution: float,
                protocol: dict, out_npz: str, out_json: str, user: dict | None = None) -> None:
    prep = Prepared.load(prepared)
    spec = registry.get(dataset, user)
    params = SplitParams(spec.preset(experiment), seed=seed, n_train_anomalies=n_anomalies, pollution=pollution,
                         scaling=spec.scaling, **protocol)
    make_split(prep, params, experiment=experiment).save(out_npz, out_json)
