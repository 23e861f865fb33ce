"""The data layer's entry points, shared by the CLI and the workflow scripts."""

from __future__ import annotations

from pathlib import Path

from alarmbench.data import download, registry
from alarmbench.data.prepare import Prepared, fetch, load
from alarmbench.data.protocols import split_protocol
from alarmbench.data.splits import Split, SplitParams, make_split

DEFAULT_RAW = Path("data/raw")


def lock_for(raw_root: Path) -> download.HashLock:
    return download.HashLock(Path(raw_root) / "checksums.lock.json")


def prepare_dataset(name: str, *, raw_root: str | Path = DEFAULT_RAW, mirror: str | Path | None = None,
                    user: dict | None = None) -> Prepared:
    """Fetch (mirror first, then upstream) and load one data set."""
    spec = registry.get(name, user)
    raw_root = Path(raw_root)
    source, files = fetch(spec, raw_root / name, mirror=mirror, lock=lock_for(raw_root))
    return load(spec, source, files)


def split_cell(prep: Prepared, *, experiment: str, seed: int, n_anomalies: int = 100, pollution: float = 0.0,
               user: dict | None = None, **protocol) -> Split:
    """One cell's split. Without `split_protocol` the experiment's default applies (the A³ code's
    for the A³ experiments, R2-AD2's otherwise; `data.protocols`), as in the workflow."""
    spec = registry.get(prep.name, user)
    protocol.setdefault("split_protocol", split_protocol(experiment))
    params = SplitParams(spec.preset(experiment), seed=seed, n_train_anomalies=n_anomalies, pollution=pollution,
                         scaling=spec.scaling, **protocol)
    return make_split(prep, params, experiment=experiment)
