"""Anomaly detectors behind one interface (`base.Detector`), looked up by id (`catalog.METHODS`).

Ids follow the papers: `r2ad2` (3 snapshots) and `r2ad2-1` … `r2ad2-4` (the snapshot
ablation), `a3` (A3v2, the baseline of the R2-AD2 paper), `a3-2020` (the original A³; `a3-2020-preprint`:
its preprint recipe), `ae`, `gradcon`, `deepsad`, `deepsvdd`, `devnet`; baselines not in the papers:
`deepsad-ruff` (Deep SAD as Ruff et al.'s reference code runs it, beside the R2-AD2 authors' `deepsad`),
`iforest`, `gbdt`, `gbdt-od` and `pyod:<Class>` (any PyOD detector).
"""

from __future__ import annotations

import importlib

from typing import TYPE_CHECKING

from alarmbench.methods.catalog import METHODS, PYOD_PREFIX, is_method, method, resolved_options

if TYPE_CHECKING:
    from alarmbench.methods.base import Detector
    from alarmbench.runtime.context import Context

METHOD_IDS = tuple(METHODS)


def __getattr__(name: str):
    # Lazy: `base` imports torch, and the Snakefile (which reads the catalog through this package),
    # the scikit-learn baselines' fits and `alarmbench methods` need none of it (issue 25).
    if name in ("Context", "Detector"):
        from alarmbench.methods import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cpu_only(name: str) -> bool:
    """Methods that never use a GPU (scikit-learn / XGBoost baselines): their jobs claim none."""
    return is_method(name) and method(name).cpu_only


def build_method(name: str, **options) -> "Detector":
    """A new detector for a method id, constructed with its options: those given (checked against
    the catalog: an unknown key or a wrong type is a ConfigError naming it), the catalog's defaults
    for the rest. PyOD itself is imported only when the detector is fitted."""
    try:
        decl = method(name)
    except ValueError as err:
        raise KeyError(str(err)) from None
    module, cls = decl.cls.split(":")
    detector = getattr(importlib.import_module(f"{__name__}.{module}"), cls)(**decl.kwargs,
                                                                             **resolved_options(name, options))
    if detector.name != name:
        raise RuntimeError(f"method {name!r}: class {decl.cls} names itself {detector.name!r}; the id and the "
                           f"class's name must agree (its random streams are named after it)")
    return detector


__all__ = ["METHOD_IDS", "PYOD_PREFIX", "Context", "Detector", "build_method", "cpu_only", "is_method"]
