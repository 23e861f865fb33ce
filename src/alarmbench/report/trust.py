"""Which reproduced numbers may stand next to the papers' ones.

A row whose runs did not use the papers' epochs (a CPU run: `run.epochs` 1 for the large data
sets) measures that the pipeline runs, not how the method compares: .508 after one epoch is no
reproduction of a published .97. The paper comparison therefore shows such a row as "needs a GPU
run" rather than as ours vs paper; its number stays in the CSV (`ours_reduced_mean`, `_std`).
Every result row carries the epochs it ran at ("paper" = the papers' schedules), so the report
knows which rows these are.
"""

from __future__ import annotations

import math

import pandas as pd

NEEDS_GPU = "needs a GPU run"


def needs_gpu_note(epochs: str) -> str:
    return f"{NEEDS_GPU}: ran {epochs} epoch(s) per training loop, not the papers' schedules"


def withhold_reduced_epochs(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison rows with `epochs` other than "paper": their own numbers moved to
    `ours_reduced_mean`/`ours_reduced_std`, `ours_*`, `diff` and `within` left empty, and the note
    saying that the row needs a GPU run (kept after any other reason, e.g. "variant data set")."""
    df = comparison.copy()
    reduced = df["epochs"].astype(str) != "paper"
    df["ours_reduced_mean"] = df["ours_mean"].where(reduced)
    df["ours_reduced_std"] = df["ours_std"].where(reduced)
    df.loc[reduced, ["ours_mean", "ours_std", "diff"]] = math.nan
    df["within"] = df["within"].astype("boolean").mask(reduced, pd.NA)
    df["note"] = [_note(e, n) if r else n for r, e, n in zip(reduced, df["epochs"], df["note"])]
    return df


def _note(epochs: str, note) -> str:
    """"needs a GPU run: …", then the row's other reasons (its epochs note replaced)."""
    others = [part for part in (note if isinstance(note, str) else "").split("; ") if part and "epoch" not in part]
    return "; ".join([needs_gpu_note(epochs), *others])
