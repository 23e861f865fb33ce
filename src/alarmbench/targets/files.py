"""The file names (stems) of the shared targets whose name depends on how they were trained, in one
place: the catalog names the workflow's files with them and the trainers store under them, so the
two cannot disagree. Torch-free: the catalog is read at every DAG build."""

from __future__ import annotations


def snapshot_chain_tag(*, k: int, per_k: bool, fresh: bool, redraw: bool) -> str:
    """R2-AD2's snapshot chain (`training.snapshot_family`), also the name of its random streams:
    one chain of 4 serves every k unless `per_k` (a chain per k, the original); `_carry` where
    Adam's moments carry over the snapshots (not `fresh`), `_redraw` where the segments train on a
    re-draw of the hold-out."""
    return f"k{k if per_k else 4}{'' if fresh else '_carry'}{'_redraw' if redraw else ''}"


def snapshot_chain_stem(**chain) -> str:
    """The chain's file stem (`snapshot_chain_tag`'s arguments)."""
    return f"gaa_snapshots_{snapshot_chain_tag(**chain)}"


def gradcon_stem(cosine: str) -> str:
    """GradCon's trained target and running gradient, per cosine variant (option `gradcon_cosine`)."""
    return f"gradcon_{cosine}"
