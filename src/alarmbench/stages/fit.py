"""fit_score: fit one method on one cell's split (reading shared targets and cached features) and
score its validation and test parts; `alarmbench run` fits through `fit_and_score` too."""

from __future__ import annotations

import logging
import platform
import time

import numpy as np

from alarmbench.data.splits import Split
from alarmbench.fileio import write_json, write_npz
from alarmbench.software import installed
from alarmbench.stages.context import job_context, job_fingerprint
from alarmbench.stages.timing import upstream_seconds
from alarmbench.stagelog import timed

log = logging.getLogger(__name__)


def fit_and_score(split: Split, method: str, ctx, upstream: dict | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """(scores of "val" and "test" as float64, the fit's record: timings, device, versions).

    upstream: `target_seconds` / `extract_seconds` of the workflow jobs this fit reads
    (stages/timing.py); `total_seconds` adds them to `fit_seconds`, and is left out where one is
    unknown. Without it (`alarmbench run`, which trains its targets inside the fit) the total is
    the fit's own seconds."""
    from importlib.metadata import version

    from alarmbench import __version__
    from alarmbench.methods import build_method

    detector = build_method(method, **ctx.options)
    start, cpu = time.perf_counter(), time.process_time()
    detector.fit(split, ctx)
    fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    log.info("fit %s: %.2f s (%.2f s CPU)", method, fit_seconds, fit_cpu)
    start = time.perf_counter()
    scores = {part: np.asarray(detector.score_split(split, part), dtype=np.float64) for part in ("val", "test")}
    score_seconds = time.perf_counter() - start
    log.info("score %s (val, test): %.2f s", method, score_seconds)
    complete = upstream is None or {"target_seconds", "extract_seconds"} <= set(upstream)
    upstream = dict(upstream or {})
    # fit_cpu_seconds: this process' CPU time, what `alarmbench plan` projects (on a shared machine
    # the wall time also holds the waits for a core).
    info = {"fit_seconds": round(fit_seconds, 3), "fit_cpu_seconds": round(fit_cpu, 3),
            "score_seconds": round(score_seconds, 3), **upstream,
            **({"total_seconds": round(fit_seconds + sum(upstream.values()), 3)} if complete else {}),
            "device": str(ctx.device), "precision": ctx.precision, "threads": _torch_threads(ctx),
            "options": dict(ctx.options), "alarmbench": __version__, "torch": version("torch"),
            "python": platform.python_version(), **getattr(detector, "versions", {}),
            "versions": installed()}  # what can change a number (alarmbench.software)
    return scores, info


def _torch_threads(ctx) -> int:
    """torch's thread count where the fit loaded torch; else what job_context would have set (a
    CPU-only baseline's job does not import torch to ask)."""
    import sys

    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    return int(ctx.threads)


def fit_score_stage(*, split_npz: str, dataset: str, seed: int, method: str, run: dict, code: str,
                    targets_dir: str, features: dict, work_dir: str, out_scores: str, out_info: str,
                    inputs: list[str] = (), user: dict | None = None) -> None:
    log.info("fit_score: method %s, data set %s, seed %d, split %s", method, dataset, seed, split_npz)
    with timed(log, "load split"):
        split = Split.load(split_npz)
    ctx = job_context(split, dataset=dataset, seed=seed, run=run, targets_dir=targets_dir, work_dir=work_dir,
                      features=features, user=user, fingerprint=job_fingerprint(code, run, [split_npz, *inputs]),
                      method=method)
    target_files = [p for p in inputs if str(p).endswith(".pt")]
    scores, info = fit_and_score(split, method, ctx, upstream_seconds(target_files, features))
    with timed(log, "write scores and record"):
        write_npz(out_scores, **scores)
        write_json(out_info, info, sealed=True)
