"""The authors' own code run on the same protocol: a second reference beside the published numbers.

A peer file (e.g. `../shared/peers/authors_code_mammography.csv`, see its README) holds one row per
run of their code: `method` (their label, e.g. "R2-AD2 (GAA-3)", or our id), `seed`, `test_auc`,
`test_ap`, optionally `epochs` and the cell (`experiment`, `n_anomalies`, `pollution`; default the
R2-AD2 Table 3 cell: known, 100, 0). The config maps a data set to its file (`peers:`).

Which runs count: a run without metrics (it did not finish) is no run; per method only its longest
schedule (shorter ones are trial runs); per (method, seed) the first run in the file. Their
training is unseeded, so a rerun of a seed differs: keeping one run per seed keeps the sample what
ours is, one value per seed. Our side: the seeds of the same cell at the papers' epochs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alarmbench.errors import InputError
from alarmbench.methods import is_method
from alarmbench.report.peer_files import DEFAULT_PEERS, parse_peers, resolve_peers  # noqa: F401 (re-exported)
from alarmbench.report.stats import two_samples

#: The authors' method labels → our ids.
PEER_LABELS = {"R2-AD2 (GAA-3)": "r2ad2", "A3 (A3v2)": "a3", "AE": "ae", "GradCon": "gradcon",
               "DeepSAD": "deepsad", "DeepSVDD": "deepsvdd", "DevNet": "devnet"}
REQUIRED = ("method", "seed", "test_auc", "test_ap")
CELL_DEFAULTS = {"experiment": "known", "n_anomalies": 100, "pollution": 0.0}
METRICS = ("auc", "ap")
#: Comparison columns added by `peer_columns` (ours − theirs; tests two-sided, over seeds).
PEER_COLUMNS = ["peer_mean", "peer_std", "peer_n", "peer_diff", "welch_p", "mannwhitney_p", "hedges_g", "cles"]
LONG = ["dataset", "experiment", "n_anomalies", "pollution", "method", "seed", "epochs", "metric", "value"]


def _method_id(label: str, path: Path, line: int) -> str:
    label = str(label).strip()
    if label in PEER_LABELS:
        return PEER_LABELS[label]
    if is_method(label):
        return label
    raise InputError(f"{path}: line {line}: method {label!r} is neither one of the authors' labels "
                     f"({', '.join(PEER_LABELS)}) nor a method id")


def read_peer_runs(path: str | os.PathLike, dataset: str) -> pd.DataFrame:
    """The runs of one peer file that count (see the module docstring), in long form: one row per
    run × metric ("auc", "ap") with the columns `LONG`."""
    path = Path(path)
    try:
        raw = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read the peer runs: {err}") from err
    missing = [c for c in REQUIRED if c not in raw]
    if missing:
        raise InputError(f"{path}: lacks column(s) {', '.join(missing)}; a peer file needs {', '.join(REQUIRED)}")
    for col in ("seed", "test_auc", "test_ap", "epochs", "n_anomalies", "pollution"):
        if col in raw and not pd.api.types.is_numeric_dtype(raw[col]):
            bad = raw.loc[pd.to_numeric(raw[col], errors="coerce").isna() & raw[col].notna(), col]
            raise InputError(f"{path}: line {bad.index[0] + 2}: {col} = {bad.iloc[0]!r} is not a number")
    df = raw.assign(method=[_method_id(m, path, i + 2) for i, m in enumerate(raw["method"])], dataset=dataset)
    for col, default in CELL_DEFAULTS.items():
        df[col] = df[col] if col in df else default
    df["epochs"] = df["epochs"] if "epochs" in df else math.nan
    df = df.dropna(subset=["seed", "test_auc", "test_ap"])  # a run that did not finish
    longest = df.groupby("method")["epochs"].transform("max")
    df = df[df["epochs"].isna() | (df["epochs"] == longest)]
    df = df.drop_duplicates(["experiment", "n_anomalies", "pollution", "method", "seed"], keep="first")
    df = df.astype({"seed": int, "n_anomalies": int, "pollution": float})
    long = df.melt(id_vars=[c for c in LONG if c not in ("metric", "value")], value_vars=["test_auc", "test_ap"],
                   var_name="metric", value_name="value")
    long["metric"] = long["metric"].str.removeprefix("test_")
    return long[LONG].reset_index(drop=True)


def load_peers(peers: Mapping[str, str | os.PathLike]) -> pd.DataFrame:
    """Every data set's peer runs (`read_peer_runs`), concatenated; empty with no files."""
    parts = [read_peer_runs(p, d) for d, p in peers.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=LONG)


def peer_columns(cmp: pd.DataFrame, results: pd.DataFrame, peer_runs: pd.DataFrame) -> pd.DataFrame:
    """`cmp` (paper.compare) with `PEER_COLUMNS` added: the peer runs' mean ± std and count, ours −
    theirs, Welch's t-test and Mann–Whitney U p-values, Hedges' g and the common-language effect
    size of our seeds against theirs. Filled for the Table 3/4 rows at the papers' epochs whose
    cell and method the peer runs cover, NaN elsewhere."""
    out = cmp.copy()
    for col in PEER_COLUMNS:
        out[col] = math.nan
    if out.empty or peer_runs.empty:
        return out.astype({"peer_n": "Int64"})
    ours = results[(results["epochs"] == "paper") & results["metric"].isin([f"test_{m}" for m in METRICS])]
    ours = ours.assign(metric=ours["metric"].str.removeprefix("test_"))
    key = ["dataset", "experiment", "n_anomalies", "pollution", "method", "metric"]
    ours_by = {k: g["value"].to_numpy(float) for k, g in ours.groupby(key)}
    theirs_by = {k: g["value"].to_numpy(float) for k, g in peer_runs.groupby(key)}
    for i, r in out.iterrows():
        if r["table"] not in ("table3", "table4") or r["epochs"] != "paper":
            continue
        k = (r["dataset"], r["experiment"], int(r["n_anomalies"]), 0.0, r["method"], r["metric"])
        if k not in theirs_by or k not in ours_by:
            continue
        theirs = theirs_by[k]
        test = two_samples(ours_by[k], theirs)
        std = float(pd.Series(theirs).std())  # sample std, as ours
        out.loc[i, PEER_COLUMNS] = [theirs.mean(), std, len(theirs), r["ours_mean"] - theirs.mean(), test.welch_p,
                                    test.mwu_p, test.hedges_g, test.cles]
    out["peer_n"] = out["peer_n"].astype("Int64")
    return out


__all__ = ["DEFAULT_PEERS", "PEER_COLUMNS", "PEER_LABELS", "load_peers", "parse_peers", "peer_columns",
           "read_peer_runs", "resolve_peers"]
