"""How long the jobs a fit reads took: train_target and extract record their own seconds beside
their outputs, fit_score adds them to its record (`target_seconds`, `extract_seconds`,
`total_seconds`), so a method whose networks train in other jobs (AE, GradCon, Deep SVDD) is not
timed at the fraction of a second its fit job spends loading them.

- a target `<stem>.pt` gets `<stem>.seconds.json`: its job's seconds, plus the recorded total of
  the targets it starts from (Deep SVDD from the DeepSVDD-AE), so its `total_seconds` is the whole
  chain;
- an extract job writes `seconds.json` into each feature part's folder (the job's seconds, once
  per job; the cache reader lists its files in header.json and ignores others).
A target shared by several methods counts in each of their totals: it is what each one needed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from alarmbench.fileio import read_json, write_json
from alarmbench.software import installed

log = logging.getLogger(__name__)

FEATURE_FILE = "seconds.json"


def target_record(target_file: str | Path) -> Path:
    return Path(target_file).with_suffix(".seconds.json")


def write_target_seconds(target_file: str | Path, target: str, seconds: float,
                         starts_from: Iterable[str | Path] = ()) -> dict:
    upstream = [read_seconds(target_record(p), remove=(p, target_record(p))) for p in starts_from]
    known = [u for u in upstream if u is not None]
    record = {"job": "train_target", "target": target, "seconds": round(seconds, 3),
              "upstream_seconds": round(sum(known), 3) if len(known) == len(upstream) else None}
    record["total_seconds"] = None if record["upstream_seconds"] is None else round(seconds + sum(known), 3)
    record["versions"] = installed()  # alarmbench.software: compared at DAG build
    write_json(target_record(target_file), record, sealed=True)
    return record


def write_feature_seconds(out_dirs: Mapping[str, str | Path], kind: str, seconds: float) -> None:
    for part, folder in out_dirs.items():
        write_json(Path(folder) / FEATURE_FILE, {"job": "extract", "kind": kind, "seconds": round(seconds, 3),
                                                 "versions": installed()}, sealed=True)


def read_seconds(path: str | Path, remove: Iterable[str | Path] = ()) -> float | None:
    """`total_seconds` (a target) or `seconds` (a feature job) of a record; None where it is missing
    (a target or cache made before these records existed) or holds none. Its digest is checked
    (`remove`: what a damaged one makes the workflow rebuild: the target file or feature folder)."""
    try:
        record = read_json(path, remove=remove)
    except FileNotFoundError:
        return None
    target = record.get("job") == "train_target"
    value = record.get("total_seconds", record.get("seconds")) if target else record.get("seconds")
    return None if value is None else float(value)


def upstream_seconds(target_files: Iterable[str | Path], features: Mapping[str, Mapping[str, str | Path]]) -> dict:
    """`target_seconds` and `extract_seconds` of a fit from the records of the jobs it reads; a
    key is left out where a record is missing (a warning says which)."""
    out: dict[str, float] = {}
    for key, paths in (("target_seconds", [(target_record(t), (t, target_record(t))) for t in target_files]),
                       ("extract_seconds", [(Path(parts["train"]) / FEATURE_FILE, (parts["train"],))
                                            for parts in features.values()])):
        values = [read_seconds(p, remove) for p, remove in paths]
        missing = [str(p) for (p, _), v in zip(paths, values) if v is None]
        if missing:
            log.warning("no timing record %s: %s and total_seconds are left out", ", ".join(missing), key)
        else:
            out[key] = round(sum(values), 3)  # type: ignore[arg-type]
    return out
