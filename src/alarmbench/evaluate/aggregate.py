"""Aggregation over seeds (SPEC §6.2): metric records → long `results.csv`, seed mean/std per cell.
The tests over data sets (Wilcoxon against R2-AD2 and the rest) are in `alarmbench.report.stats`."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from alarmbench.fileio import atomic_path, read_json

#: Identify one cell × method × seed; `metric`/`value` complete a row of the long format.
KEYS = ("dataset", "experiment", "method", "seed", "n_anomalies", "pollution", "epochs")
#: A summary row: one (cell, method, metric), aggregated over seeds.
GROUP = ("dataset", "experiment", "n_anomalies", "pollution", "epochs", "method", "metric")
#: Scalar record fields kept besides every `val_*` / `test_*` number.
EXTRA_METRICS = ("fit_seconds", "score_seconds", "target_seconds", "extract_seconds", "total_seconds", "threshold")
RESULT_DTYPES = {"dataset": str, "experiment": str, "method": str, "epochs": str, "metric": str}
ROC_COLUMNS = (*KEYS, "split", "point", "fpr", "tpr")
#: Library versions a method reports (e.g. PyOD for `pyod:<Class>`), kept with every result row.
SOFTWARE = ("pyod", "scikit-learn", "xgboost")


def load_records(sources: Iterable[Mapping | str | os.PathLike], *, sealed: bool = False) -> list[dict]:
    """Records from dicts and/or JSON files (each holding one record or a list of them).
    `sealed`: the files are the workflow's metrics.json, whose records carry digests (checked)."""
    records: list[dict] = []
    for src in sources:
        if isinstance(src, Mapping):
            records.append(dict(src))
            continue
        obj = read_json(src) if sealed else json.loads(Path(src).read_text())
        records.extend(obj if isinstance(obj, list) else [obj])
    return records


def _key(rec: Mapping) -> dict:
    missing = [k for k in KEYS if k not in rec and k != "epochs"]
    if missing:
        raise ValueError(f"metric record lacks {missing}: {dict(list(rec.items())[:6])}")
    key = {k: rec.get(k) for k in KEYS}
    # "paper" or an int; stored as text so one column holds both without dtype drift.
    key["epochs"] = "paper" if rec.get("epochs") is None else str(rec["epochs"])
    key["seed"], key["pollution"] = int(rec["seed"]), float(rec["pollution"])
    key["n_anomalies"] = rec["n_anomalies"] if rec["n_anomalies"] == "half" else int(rec["n_anomalies"])  # grid.HALF
    return key


def _is_metric(name: str, value) -> bool:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return numeric and (name.startswith(("val_", "test_")) or name in EXTRA_METRICS) and math.isfinite(value)


def records_to_frame(records: Iterable[Mapping]) -> pd.DataFrame:
    """The long format: one row per cell × method × seed × metric (non-finite values dropped)."""
    rows = [{**_key(rec), "metric": name, "value": float(value), "software": _software(rec)}
            for rec in records for name, value in rec.items() if _is_metric(name, value)]
    df = pd.DataFrame(rows, columns=[*KEYS, "metric", "value", "software"])
    dup = df.duplicated([*KEYS, "metric"], keep=False)
    if dup.any():
        # Two records for one (cell, seed) would silently count as extra seeds: refuse.
        raise ValueError(f"duplicate records for:\n{df.loc[dup, list(KEYS)].drop_duplicates().to_string()}")
    return df.sort_values([*KEYS, "metric"], ignore_index=True)


def _software(rec: Mapping) -> str:
    return ";".join(f"{name}={rec[name]}" for name in SOFTWARE if name in rec)


#: Record keys of ROC curves -> the part they were computed on (roc.csv's `split`).
ROC_KEYS = {"roc_validation": "val"}


def roc_frame(records: Iterable[Mapping]) -> pd.DataFrame:
    """ROC points of every record's `roc_<part>` curves ({fpr, tpr}); a record written before the
    part was named carries `roc`, which always was the validation curve."""
    rows = []
    for rec in records:
        curves = {part: rec[key] for key, part in ROC_KEYS.items() if rec.get(key)}
        if rec.get("roc") and "val" not in curves:
            curves["val"] = rec["roc"]
        for split, curve in curves.items():
            key = {**_key(rec), "split": split}
            rows += [{**key, "point": i, "fpr": f, "tpr": t} for i, (f, t) in enumerate(zip(curve["fpr"], curve["tpr"]))]
    return pd.DataFrame(rows, columns=list(ROC_COLUMNS))


def _write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    with atomic_path(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def collect(records: Iterable[Mapping | str | os.PathLike], out_csv: str | os.PathLike | None = None,
            roc_csv: str | os.PathLike | None = None, *, sealed: bool = False) -> pd.DataFrame:
    """Records (dicts or JSON paths) → long DataFrame; optionally written to `results.csv`.

    ROC curves do not fit the long format, so they go to `roc_csv` (default: `roc.csv` beside
    `out_csv`), written always: with no curve at all (no cell had validation anomalies) it holds
    only its header, and a warning says so; a missing file would make Snakemake delete the results.
    """
    recs = load_records(records, sealed=sealed)
    df = records_to_frame(recs)
    if out_csv is not None:
        roc = roc_frame(recs)
        if not len(roc):
            warnings.warn("no record has a validation ROC (no cell had anomalies in its validation part): "
                          "roc.csv holds only its header, and the ROC figures are skipped", stacklevel=2)
        _write_csv(roc, roc_csv or Path(out_csv).with_name("roc.csv"))
        _write_csv(df, out_csv)
    return df


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """`results.csv` (or `roc.csv`) with stable dtypes (epochs stays text)."""
    df = pd.read_csv(path, dtype=RESULT_DTYPES, keep_default_na=False, na_values=[""])
    if "software" in df:
        df["software"] = df["software"].astype(object).fillna("").astype(str)
    return df


def replace_datasets(base: pd.DataFrame, newer: pd.DataFrame, *, what: str = "results") -> pd.DataFrame:
    """`base` with every row of the data sets `newer` holds replaced by `newer`'s rows.

    For combining runs made at different times or on different machines (e.g. a GPU run of the
    large data sets and a CPU run of the small ones): a data set always comes whole from one run,
    so no cell mixes seeds or code versions of two runs.
    """
    if set(base.columns) != set(newer.columns):
        raise ValueError(f"{what}: the files to combine have different columns: {sorted(base.columns)} vs "
                         f"{sorted(newer.columns)}")
    kept = base[~base["dataset"].isin(set(newer["dataset"]))]
    order = [c for c in (*KEYS, "metric", "split", "point") if c in base.columns]
    return pd.concat([kept, newer[list(base.columns)]], ignore_index=True).sort_values(order, ignore_index=True)


def combine_runs(base_csv: str | os.PathLike, newer_csvs: Iterable[str | os.PathLike],
                 out_dir: str | os.PathLike) -> Path:
    """`results.csv` (and `roc.csv`, from beside each input) of `base_csv` with the data sets of
    each newer run replaced by that run's rows (later files win), written into `out_dir`."""
    base, newer = Path(base_csv), [Path(p) for p in newer_csvs]
    sources = {"results.csv": [base, *newer]}
    if base.with_name("roc.csv").exists():
        sources["roc.csv"] = [p.with_name("roc.csv") for p in (base, *newer)]
    missing = [p for paths in sources.values() for p in paths if not p.exists()]
    if missing:  # checked before anything is written
        raise ValueError(f"{missing[0]} not found: needed to combine runs with {base}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, (first, *later) in sources.items():
        df = read_results(first)
        for path in later:
            df = replace_datasets(df, read_results(path), what=str(path))
        _write_csv(df, out / name)
    return out / "results.csv"


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and seed count per (cell, method, metric)."""
    # pandas' std is the sample std (ddof=1), as in the authors' aggregation script.
    return (df.groupby(list(GROUP), sort=True, dropna=False)["value"]
              .agg(["mean", "std", "count"]).reset_index())


__all__ = ["GROUP", "KEYS", "collect", "load_records", "read_results", "records_to_frame", "roc_frame",
           "summarise"]
