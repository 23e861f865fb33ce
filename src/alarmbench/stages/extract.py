"""extract: cache one cell's real-data features of a shared target (catalog.FEATURES), fp16 by default."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

from tqdm import tqdm

from alarmbench.data.splits import Split
from alarmbench.features.cache import FeatureCacheWriter, checkpoint_sources
from alarmbench.methods.catalog import FEATURES, target_options
from alarmbench.runopts import RunSettings
from alarmbench.stages.context import job_context
from alarmbench.stagelog import timed
from alarmbench.stages.timing import write_feature_seconds

log = logging.getLogger(__name__)


def extract_stage(*, split_npz: str, dataset: str, seed: int, kind: str, run: dict, target: str,
                  out_dirs: dict[str, str], user: dict | None = None) -> None:
    start = time.perf_counter()
    log.info("extract: %s features (%s) of %s, data set %s, seed %d", kind, FEATURES[kind].extractor, target,
             dataset, seed)
    with timed(log, "load split"):
        split = Split.load(split_npz)
    ctx = job_context(split, dataset=dataset, seed=seed, run=run, targets_dir=Path(target).parent, user=user)
    write_features(split, ctx, kind, out_dirs, dtype=RunSettings.from_run(run).feature_dtype, sources=[target])
    write_feature_seconds(out_dirs, kind, time.perf_counter() - start)  # the job's seconds, in each part


def write_features(split: Split, ctx, kind: str, out_dirs: dict[str, str], *, dtype: str,
                   sources: list[str] = ()) -> None:
    """Cache the `kind` features of each split part in `out_dirs` ({part: folder}) as `dtype`:
    the extract job's code, which `alarmbench run` calls too, so that its fits read the same
    (fp16 by default) features as the workflow's."""
    import torch

    module, function = FEATURES[kind].extractor.split(":")
    rows = getattr(importlib.import_module(f"alarmbench.features.{module}"), function)
    with timed(log, "load target"):
        row_shape, names, chunks = rows(split, ctx, **target_options(FEATURES[kind].target, ctx.options))
    for part, out in out_dirs.items():
        x = getattr(split, f"x_{part}")
        began = time.perf_counter()
        # A bar only where stderr is a terminal (tqdm's disable=None): none in the job's log file.
        with FeatureCacheWriter(out, row_shape, dtype=dtype, names=names, sources=checkpoint_sources(sources),
                                expected_rows=len(x), overwrite=True, meta={"part": part, "kind": kind}) as w, \
                tqdm(total=len(x), desc=f"{kind} {part}", unit="row", disable=None, leave=False) as bar:
            for block in chunks(torch.as_tensor(x), out_device="cpu"):
                w.append(block)
                bar.update(len(block))
        seconds = time.perf_counter() - began
        log.info("extract %s %s: %d rows × %s %s in %.2f s (%.0f rows/s) into %s", kind, part, len(x),
                 "×".join(map(str, row_shape)), dtype, seconds, len(x) / max(seconds, 1e-9), out)
