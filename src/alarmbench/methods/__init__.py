"""Anomaly detectors behind one interface (`base.Detector`), looked up by name.

Names follow the papers: `r2ad2` (3 snapshots) and `r2ad2-1` … `r2ad2-4` (the snapshot
ablation), `a3` (A3v2, the baseline of the R2-AD2 paper), `a3-2020` (the original A³),
`ae`, `gradcon`, `deepsad`, `deepsvdd`, `devnet`.
"""

from __future__ import annotations

import importlib

from alarmbench.methods.base import Context, Detector

_METHODS: dict[str, tuple[str, dict]] = {
    "r2ad2": ("r2ad2:R2AD2", {"k": 3}),
    **{f"r2ad2-{k}": ("r2ad2:R2AD2", {"k": k}) for k in (1, 2, 3, 4)},
    "a3": ("a3:A3v2", {}),
    "a3-2020": ("a3:A3", {}),
    "ae": ("ae:AEScore", {}),
    "gradcon": ("gradcon:GradCon", {}),
    "deepsad": ("deepsad:DeepSAD", {}),
    "deepsvdd": ("deepsad:DeepSVDD", {}),
    "devnet": ("devnet:DevNet", {}),
}

METHOD_NAMES = tuple(_METHODS)


def build_method(name: str) -> Detector:
    try:
        target, kwargs = _METHODS[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHOD_NAMES)}") from None
    module, cls = target.split(":")
    detector = getattr(importlib.import_module(f"{__name__}.{module}"), cls)(**kwargs)
    detector.name = name
    return detector


__all__ = ["METHOD_NAMES", "Context", "Detector", "build_method"]
