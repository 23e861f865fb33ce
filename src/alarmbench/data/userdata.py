"""Data sets declared by the user in the config (a CSV with a label column, or an NPZ with X and y).

Config form (under `user_datasets:`):
    my_data:
      path: data/my.csv            # .csv or .npz
      label_column: label          # CSV only (default "label")
      drop_columns: [id]           # CSV only, optional
      normal: [0]
      anomalies: [1, 2]
      transfer_train_anomalies: [1]   # optional: adds the "transfer" experiment
      pollution: true              # optional
"""

from __future__ import annotations

from pathlib import Path

from alarmbench.data.sources import RemoteFile, Source
from alarmbench.data.spec import ClassSetup, DatasetSpec


def user_spec(name: str, cfg: dict) -> DatasetSpec:
    for key in ("path", "normal", "anomalies"):
        if key not in cfg:
            raise ValueError(f"user data set {name!r}: missing field {key!r} in the config")
    path = Path(cfg["path"])
    kind = {".csv": "user_csv", ".npz": "user_npz"}.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"user data set {name!r}: path {path} must end in .csv or .npz")
    options = {"path": str(path)}
    if kind == "user_csv":
        options |= {"label_column": cfg.get("label_column", "label"), "drop_columns": tuple(cfg.get("drop_columns", ()))}
    normal, anomalies = cfg["normal"], cfg["anomalies"]
    presets = {"known": ClassSetup(normal, anomalies)}
    if cfg.get("transfer_train_anomalies"):
        presets["transfer"] = ClassSetup(normal, anomalies, cfg["transfer_train_anomalies"])
    return DatasetSpec(
        name, f"user data {path.name}", (Source((RemoteFile(path.name),), kind),),
        classes=tuple(str(c) for c in [*normal, *anomalies]), presets=presets, hparams=None,
        pollution=bool(cfg.get("pollution", True)), loader_options=options,
    )
