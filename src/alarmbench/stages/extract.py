"""extract: cache one cell's real-data features of a shared target (catalog.FEATURES), fp16 by default."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from alarmbench.data.splits import Split
from alarmbench.features.cache import FeatureCacheWriter, checkpoint_sources
from alarmbench.methods.catalog import FEATURES
from alarmbench.stages.context import job_context
from alarmbench.stages.timing import write_feature_seconds


def extract_stage(*, split_npz: str, dataset: str, seed: int, kind: str, run: dict, target: str,
                  out_dirs: dict[str, str], user: dict | None = None) -> None:
    import torch

    start = time.perf_counter()
    module, function = FEATURES[kind].extractor.split(":")
    rows = getattr(importlib.import_module(f"alarmbench.features.{module}"), function)
    split = Split.load(split_npz)
    ctx = job_context(split, dataset=dataset, seed=seed, run=run, targets_dir=Path(target).parent, user=user)
    row_shape, names, chunks = rows(split, ctx)
    dtype = run.get("feature_dtype", "float16")
    for part, out in out_dirs.items():
        x = getattr(split, f"x_{part}")
        with FeatureCacheWriter(out, row_shape, dtype=dtype, names=names, sources=checkpoint_sources([target]),
                                expected_rows=len(x), overwrite=True, meta={"part": part, "kind": kind}) as w:
            for block in chunks(torch.as_tensor(x), out_device="cpu"):
                w.append(block)
    write_feature_seconds(out_dirs, kind, time.perf_counter() - start)  # the job's seconds, in each part
