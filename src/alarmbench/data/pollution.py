"""Whether a table has the anomalies a pollution level needs (docs/protocol.md#pollution, `splits._pollute`).

Pollution p relabels round(n_normal·p/(1−p)) training rows of the anomaly classes as normal. The
training split takes the same share of every class of the rows outside the official test part,
so the check runs on those rows' class counts: before any job where the table can be read
(`configcheck`), else in the split job itself, with the same message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from alarmbench.data.spec import ClassSetup


def class_counts(labels: np.ndarray, is_test: np.ndarray | None) -> dict[str, int]:
    """Rows per class outside the official test part."""
    values, n = np.unique(labels if is_test is None else labels[~is_test], return_counts=True)
    return {str(v): int(c) for v, c in zip(values, n)}


def pollution_problem(dataset: str, experiment: str, setup: ClassSetup, counts: Mapping[str, int],
                      p: float) -> str | None:
    """Why pollution `p` is impossible for the table with `counts` (naming what is possible), or None.
    The text follows the key that holds `p` (e.g. "grids.sweep.pollution: ")."""
    if p <= 0:
        return None
    normal = sum(counts.get(c, 0) for c in setup.normal)
    anomalies = sum(counts.get(c, 0) for c in setup.all_anomalies)
    needed = round(normal * p / (1 - p))
    if needed <= anomalies:
        return None
    most = math.floor(1000 * anomalies / max(normal + anomalies, 1)) / 1000  # p/(1−p)·normal ≤ anomalies
    return (f"{p} needs more anomalies than data set {dataset!r} has (experiment {experiment}): "
            f"pollution relabels round(n_normal·p/(1−p)) anomaly rows as normal, {needed} for its {normal} normal "
            f"rows, but it has {anomalies} rows of the anomaly classes {list(setup.all_anomalies)}; pollution can "
            f"be at most {most} there")
