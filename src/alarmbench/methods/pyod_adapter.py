"""Any PyOD detector under the benchmark's protocol: method names ``pyod:<ClassName>``.

``pyod:IForest``, ``pyod:ECOD``, ``pyod:XGBOD``, ``pyod:DevNet`` … The class is looked up in
``pyod.models.<classname lower-cased>``, then ``pyod.models.<snake_case>``
(``FeatureBagging`` → ``feature_bagging``, ``DeepSVDD`` → ``deep_svdd``); an explicit module is
written ``pyod:<module>.<Class>`` (e.g. ``pyod:auto_encoder.AutoEncoder``). PyOD is imported
only when a detector is fitted; without it `PyODNotInstalledError` (an ImportError) names the
install command ``pip install 'alarmbench[pyod]'`` (PyOD and XGBoost, which XGBOD imports).

Modes (option ``pyod_mode``):

* ``semi``: ``fit(train_alarm, a_train)`` — all training rows with their 0/1 labels. The default
  for the detectors whose ``fit(X, y)`` requires labels (XGBOD, DevNet); asking it of a detector
  that ignores labels is an error (its fit would silently be unsupervised).
* ``unsup-normal``: ``fit(train_target)`` — the normal training rows only (the default otherwise,
  as the A³ code's Isolation Forest).
* ``unsup-all``: ``fit(train_alarm)`` — all training rows, labels ignored.

Options: ``pyod_kwargs`` (dict, constructor arguments of every PyOD method of the run) updated by
``pyod_kwargs:<Class>`` (that class only); ``pyod_mode`` overridden by ``pyod_mode:<Class>``.
When the constructor takes ``random_state`` (or ``random_seed``, as PyOD's DevNet) and the
kwargs do not set it, it gets ``substream_seed(seed, "pyod/<Class>") % 2**32``; the global NumPy
and torch generators are seeded from that stream too (PyOD's deep models draw from them), so the
same seed gives the same scores. A ``device`` constructor argument gets ``ctx.device``.

Caveat: PyOD 3.6.7's ``DevNet`` compares (B, 1) network outputs with (B,) labels in its deviation
loss; broadcasting gives every row the same label-mixed loss, so the labels have no effect (AUC
0.0 on the toy split's separated anomalies). Use this package's ``devnet`` (docs/methods.md#devnet) instead.

Images are flattened; inputs are float64. Score = ``decision_function`` (PyOD: higher = more
anomalous). Non-finite scores raise `NonFiniteScoresError` naming the detector. After fit
``versions`` holds {"pyod": ..., "scikit-learn": ...} (and "xgboost" once it is imported) for
the result records.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from typing import Any

import numpy as np

from alarmbench.data.splits import Split
from alarmbench.methods.base import Detector
from alarmbench.runtime.context import Context
from alarmbench.rng import substream_seed

__all__ = ["MODES", "PREFIX", "NonFiniteScoresError", "PyODDetector", "PyODNotInstalledError", "needs_labels",
           "resolve_class"]

PREFIX = "pyod:"
MODES = ("semi", "unsup-normal", "unsup-all")
INSTALL = "pip install 'alarmbench[pyod]'"


class PyODNotInstalledError(ImportError):
    """PyOD (or a package the requested detector imports, e.g. xgboost for XGBOD) is missing."""


class NonFiniteScoresError(FloatingPointError):
    """A PyOD detector returned inf/NaN scores."""


def _import(module: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError as e:  # ModuleNotFoundError included; a None entry in sys.modules too
        missing = getattr(e, "name", None) or module
        raise PyODNotInstalledError(
            f"{what} needs the Python package {missing.split('.')[0]!r}, which cannot be imported ({e}); "
            f"install the PyOD extra: {INSTALL}") from e


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def resolve_class(spec: str) -> type:
    """The PyOD detector class for ``<Class>`` or ``<module>.<Class>`` (the part after ``pyod:``)."""
    what = f"{PREFIX}{spec}"
    _import("pyod", what)
    module, _, cls = spec.rpartition(".")
    candidates = [module] if module else list(dict.fromkeys([cls.lower(), _snake(cls)]))
    for name in candidates:
        try:
            mod = importlib.import_module(f"pyod.models.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"pyod.models.{name}":
                continue  # no such module: try the next spelling
            raise PyODNotInstalledError(f"{what} needs the Python package {e.name.split('.')[0]!r}, which is "
                                        f"not installed; install the PyOD extra: {INSTALL}") from e
        except ImportError as e:
            raise PyODNotInstalledError(f"{what}: importing pyod.models.{name} failed ({e}); {INSTALL}") from e
        if isinstance(getattr(mod, cls, None), type):
            return getattr(mod, cls)
    raise KeyError(f"unknown PyOD detector {what!r}: no class {cls!r} in "
                   f"{', '.join(f'pyod.models.{n}' for n in candidates)}; write pyod:<module>.<Class>")


def needs_labels(cls: type) -> bool:
    """True when ``cls.fit(X, y)`` requires y (PyOD's unsupervised detectors take ``y=None``, ignored)."""
    params = inspect.signature(cls.fit).parameters
    return "y" in params and params["y"].default is inspect.Parameter.empty


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float64)


class PyODDetector(Detector):
    """Adapter for one PyOD detector class; `build_method("pyod:<Class>")` creates it."""

    def __init__(self, spec: str, *, pyod_mode: str | None, pyod_kwargs: dict, **per_class) -> None:
        """`pyod_mode` (None: semi-supervised for a class that needs labels, else unsup-normal) and
        `pyod_kwargs`, each overridden for this class by `pyod_mode:<Class>` / `pyod_kwargs:<Class>`
        in `per_class` (the options of other classes are ignored: a config may list several)."""
        spec = spec.removeprefix(PREFIX)
        if not re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*", spec):
            raise KeyError(f"bad PyOD method name {PREFIX}{spec!r}: expected pyod:<Class> or pyod:<module>.<Class>")
        self.spec = spec
        self.class_name = spec.rpartition(".")[2]
        self.name = f"{PREFIX}{spec}"
        self.mode_option = per_class.get(f"pyod_mode:{self.class_name}", pyod_mode)
        self.kwargs_option = {**(pyod_kwargs or {}), **(per_class.get(f"pyod_kwargs:{self.class_name}") or {})}

    def fit(self, split: Split, ctx: Context) -> PyODDetector:
        cls = resolve_class(self.spec)
        labelled = needs_labels(cls)
        mode = self.mode_option or ("semi" if labelled else "unsup-normal")
        if mode not in MODES:
            raise ValueError(f"{self.name}: pyod_mode must be one of {MODES}, got {mode!r}")
        if labelled and mode != "semi":
            raise ValueError(f"{self.name}: {cls.__name__}.fit requires labels; pyod_mode must be 'semi', got {mode!r}")
        if mode == "semi" and not labelled:
            raise ValueError(f"{self.name}: {cls.__name__} ignores labels, so pyod_mode 'semi' would silently be "
                             f"unsupervised; use 'unsup-normal' or 'unsup-all'")

        kwargs: dict[str, Any] = dict(self.kwargs_option)
        seed = substream_seed(ctx.seed, f"pyod/{self.class_name}") % 2**32
        init = inspect.signature(cls.__init__).parameters
        for key in ("random_state", "random_seed"):
            if key in init and key not in kwargs:
                kwargs[key] = seed
        if "device" in init and "device" not in kwargs:
            kwargs["device"] = str(ctx.device)
        np.random.seed(seed)
        ctx.seed_torch(f"pyod/{self.class_name}")

        if mode == "semi":
            y = np.asarray(split.a_train).astype(np.int64)
            if not y.any() or y.all():
                raise ValueError(f"{self.name}: mode 'semi' needs both normal and anomalous training rows "
                                 f"({int(y.sum())} of {len(y)} are anomalies)")
            args = (_flat(split.x_train), y)
        elif mode == "unsup-normal":
            args = (_flat(split.train_target),)
        else:
            args = (_flat(split.x_train),)

        self.mode, self.kwargs = mode, kwargs
        self.model = cls(**kwargs)
        self.model.fit(*args)
        self.n_fit_rows_ = len(args[0])

        import pyod
        import sklearn

        self.versions = {"pyod": pyod.__version__, "scikit-learn": sklearn.__version__}
        if "xgboost" in sys.modules:
            self.versions["xgboost"] = sys.modules["xgboost"].__version__
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        scores = np.asarray(self.model.decision_function(_flat(x)), dtype=np.float64).reshape(-1)
        if len(scores) != len(x):
            raise ValueError(f"{self.name}: decision_function returned {len(scores)} scores for {len(x)} rows")
        bad = ~np.isfinite(scores)
        if bad.any():
            raise NonFiniteScoresError(
                f"{self.name} ({self.mode}) produced {int(bad.sum())} non-finite scores of {len(scores)} "
                f"(first at row {int(np.flatnonzero(bad)[0])}); PyOD {self.versions.get('pyod')}, "
                f"kwargs {self.kwargs}")
        return scores
