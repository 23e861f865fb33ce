"""Writes the two small example tables of config/own-data.yaml (deterministic; both are committed).

    python config/own-data/make_example.py      # from the repository root

- sensors.csv: 300 rows, 5 features, a `state` label with classes ok (normal), drift and spike
  (anomalies), and an `official_test` column (0/1) marking a fixed test part.
- blobs.npz: arrays X (300 × 6) and y (0 = normal, 1 = anomaly): binary labels need no class lists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def sensors(rng: np.random.Generator) -> pd.DataFrame:
    n_ok, n_drift, n_spike = 270, 15, 15
    x = rng.normal(size=(n_ok + n_drift + n_spike, 5))
    x[n_ok:n_ok + n_drift, :2] += 2.5  # drift: a shifted mean in two sensors
    x[n_ok + n_drift:, 4] *= 6.0  # spike: a wide fifth sensor
    state = np.array(["ok"] * n_ok + ["drift"] * n_drift + ["spike"] * n_spike)
    order = rng.permutation(len(x))
    frame = pd.DataFrame(np.round(x[order], 2), columns=[f"sensor{i}" for i in range(5)])
    frame["state"] = state[order]
    frame["official_test"] = (np.arange(len(x)) >= 225).astype(int)  # the last 75 rows
    return frame


def blobs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = (np.arange(300) % 10 == 0).astype(np.int8)  # 30 anomalies
    x = rng.normal(size=(300, 6)).astype(np.float32)
    x[y == 1] += rng.choice([-3.0, 3.0], size=(int(y.sum()), 6)).astype(np.float32)
    return np.round(x, 3), y


def main(out: Path = HERE) -> None:
    rng = np.random.default_rng(20260504)
    sensors(rng).to_csv(out / "sensors.csv", index=False)
    x, y = blobs(rng)
    np.savez_compressed(out / "blobs.npz", X=x, y=y)


if __name__ == "__main__":
    main()
