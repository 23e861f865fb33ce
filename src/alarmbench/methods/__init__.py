"""Anomaly detectors behind one interface (`base.Detector`), looked up by name.

Names follow the papers: `r2ad2` (3 snapshots) and `r2ad2-1` … `r2ad2-4` (the snapshot
ablation), `a3` (A3v2, the baseline of the R2-AD2 paper), `a3-2020` (the original A³),
`ae`, `gradcon`, `deepsad`, `deepsvdd`, `devnet`; baselines not in the papers: `iforest`, `gbdt`,
`gbdt-od` and `pyod:<Class>` (any PyOD detector).
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
    # strong baselines not in the papers
    "iforest": ("classical:IForest", {}),
    "gbdt": ("classical:GBDT", {}),
    "gbdt-od": ("classical:GBDTOD", {}),
}

METHOD_NAMES = tuple(_METHODS)
PYOD_PREFIX = "pyod:"  # any PyOD detector by class name, e.g. pyod:XGBOD (extra alarmbench[pyod])


def is_method(name: str) -> bool:
    return name in _METHODS or (name.startswith(PYOD_PREFIX) and len(name) > len(PYOD_PREFIX))


def cpu_only(name: str) -> bool:
    """Methods that never use a GPU (scikit-learn / XGBoost baselines): their jobs claim none."""
    return name in _METHODS and _METHODS[name][0].startswith("classical:")


def build_method(name: str) -> Detector:
    if name.startswith(PYOD_PREFIX):  # PyOD itself is imported only when the detector is fitted
        from alarmbench.methods.pyod_adapter import PyODDetector

        return PyODDetector(name)
    try:
        target, kwargs = _METHODS[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHOD_NAMES)}, pyod:<Class>") from None
    module, cls = target.split(":")
    detector = getattr(importlib.import_module(f"{__name__}.{module}"), cls)(**kwargs)
    detector.name = name
    return detector


__all__ = ["METHOD_NAMES", "PYOD_PREFIX", "Context", "Detector", "build_method", "cpu_only", "is_method"]
