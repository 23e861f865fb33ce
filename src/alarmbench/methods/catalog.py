"""Every method, shared target and cached feature, declared once.

The workflow's rules, the stages, the code keys, option validation and the report's labels all
derive from these declarations, so adding a method means writing its module and one `Method`
entry here (CONTRIBUTING.md walks through it). Nothing here imports torch or a method module:
the workflow reads this at every DAG build.

- `Method`: id, class ("module:Class" under alarmbench.methods), constructor kwargs, the targets
  and cached features it reads, whether it is CPU-only, its display name, whether it is in the
  papers, and its options (name, accepted types, default).
- `Option`: a method option. Its `default` here is the only one: `build_method` passes every
  declared option, defaults filled in (`resolved_options`), to the detector's constructor, whose
  keyword parameters have no defaults of their own (tests/unit/test_method_options.py checks
  that they and these declarations name the same options).
- `Target`: trained once per (data set, class group, pollution, seed) in its own job and read by
  the methods that list it. Its file name is a function of the options that shape it, so methods
  with different shaping options get different files (and jobs) instead of sharing a wrong one;
  its trainer gets those options, defaults filled in, as keyword arguments (`target_options`).
- `Feature`: real-data features of one target, cached per cell by the `extract` job.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from alarmbench.errors import InputError
from alarmbench.targets.files import gradcon_stem, snapshot_chain_stem

PYOD_PREFIX = "pyod:"  # any PyOD detector by class name, e.g. pyod:XGBOD (extra alarmbench[pyod])


class ConfigError(InputError):
    """A configuration value that names nothing or is of the wrong kind (the message says which)."""


@dataclass(frozen=True)
class Option:
    name: str
    types: tuple[type, ...]  # accepted Python types of the value (bool is not accepted as int)
    default: Any  # the one default: the constructor (or target trainer) parameter gets it from here
    help: str = ""
    choices: tuple[Any, ...] | None = None

    def check(self, owner: str, value: Any) -> None:
        ok = any(isinstance(value, t) and not (t in (int, float) and isinstance(value, bool)) for t in self.types)
        if not ok:
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in self.types)
            raise ConfigError(f"method_options.{owner}.{self.name}: {value!r} is not a {kinds}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"method_options.{owner}.{self.name}: {value!r} is not one of {list(self.choices)}")


@dataclass(frozen=True)
class Target:
    name: str
    trainer: str  # "module:function", called as function(split, ctx, **target_options(name, options))
    file: Callable[[Mapping[str, Any]], str]  # its options, defaults filled in -> file name (in the target folder)
    options: tuple[Option, ...] = ()  # the options that change the trained target (also the methods' options)
    starts_from: str | None = None  # a target whose file this one's training reads

    @property
    def shaped_by(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    @property
    def module(self) -> str:
        return self.trainer.split(":")[0]


@dataclass(frozen=True)
class Feature:
    kind: str
    target: str
    extractor: str  # "module:function" under alarmbench.features: (split, ctx) -> FeatureRows


@dataclass(frozen=True)
class Method:
    id: str
    cls: str  # "module:Class" under alarmbench.methods
    display: str
    in_papers: bool
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    targets: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    cpu_only: bool = False
    # Whether run.epochs shapes it (training loops of its own or of its targets): the keys of its
    # jobs hold the epochs only then, and run.method_epochs may name it only then.
    trains: bool = True
    options: tuple[Option, ...] = ()
    workflow_refuses: Mapping[str, str] = field(default_factory=dict)  # option -> why (value true)

    @property
    def module(self) -> str:
        return self.cls.split(":")[0]


_GAA_OPTIONS = (
    Option("fresh_optimizer_at_snapshots", (bool,), True, "fresh Adam at every snapshot segment (the original)"),
    Option("holdout_redraw", (bool,), False, "the segments train on a stored re-draw of the hold-out, not T0's (the original)"),
)
_GRADCON_OPTIONS = (
    Option("gradcon_cosine", (str,), "elementwise", "cosine over elements or per layer",
           choices=("elementwise", "layer")),
)


def _gaa_file(o: Mapping[str, Any]) -> str:
    return snapshot_chain_stem(k=4, per_k=False, fresh=o["fresh_optimizer_at_snapshots"],
                               redraw=o["holdout_redraw"]) + ".pt"


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("ae", "alarmbench.targets.training:trained_ae", lambda o: "ae.pt"),
    Target("gaa", "alarmbench.targets.training:snapshot_chain", _gaa_file, options=_GAA_OPTIONS),
    Target("deepsvdd_ae", "alarmbench.methods.deepsad:pretrained_deepsvdd_ae", lambda o: "deepsvdd_ae.pt"),
    Target("deepsvdd", "alarmbench.methods.deepsad:train_deepsvdd_target", lambda o: "deepsvdd.pt",
           starts_from="deepsvdd_ae"),
    Target("a3_ae", "alarmbench.methods.a3:a3_target", lambda o: "a3_ae.pt"),
    Target("gradcon", "alarmbench.methods.gradcon:train_gradcon_target",
           lambda o: gradcon_stem(o["gradcon_cosine"]) + ".pt", options=_GRADCON_OPTIONS),
)}

FEATURES: dict[str, Feature] = {f.kind: f for f in (
    Feature("gradients", "gaa", "gradients:snapshot_gradient_rows"),
    Feature("activations", "ae", "activations:ae_activation_rows"),
)}

_R2AD2_OPTIONS = (
    *_GAA_OPTIONS,
    Option("snapshots_per_k", (bool,), False, "a snapshot chain per k, as the original (alarmbench run only)"),
)
_GBDT_OPTIONS = (
    Option("gbdt_max_iter", (int,), 100), Option("gbdt_learning_rate", (int, float), 0.1),
    Option("gbdt_max_leaf_nodes", (int, type(None)), 31), Option("gbdt_min_samples_leaf", (int,), 20),
    Option("gbdt_l2_regularization", (int, float), 0.0),
    Option("gbdt_class_weight", (str, dict, type(None)), None),
    Option("gbdt_early_stopping", (str, bool), "auto"),
)


def _a3_2020_options(*, noise: bool, class_weights: bool, shifted_l1: float, dims: list[int]) -> tuple[Option, ...]:
    return (
        Option("a3_noise", (bool,), noise, "train with the N(0.5, 1) counter-examples"),
        Option("a3_class_weights", (bool,), class_weights, "the paper's automatic anomaly class weight"),
        Option("a3_shifted_l1", (bool, int, float), shifted_l1, "λ of the shifted L1 penalty (true: the paper's 0.01)"),
        Option("a3_alarm_dims", (list, tuple), dims, "alarm layer widths"),
    )


def _r2ad2(k: int) -> Method:
    return Method(
        "r2ad2" if k == 3 else f"r2ad2-{k}", "r2ad2:R2AD2", "R2-AD2" if k == 3 else f"R2-AD2-{k}", True,
        kwargs={"k": k}, targets=("gaa",), features=("gradients",), options=_R2AD2_OPTIONS,
        workflow_refuses={"snapshots_per_k": "its per-k chains would be trained inside the fit jobs, outside the "
                                            "shared targets and the gradient cache; use `alarmbench run`"})


METHODS: dict[str, Method] = {m.id: m for m in (
    _r2ad2(3), *(_r2ad2(k) for k in (1, 2, 4)),
    Method("a3", "a3:A3", "A³", True, targets=("ae",), features=("activations",)),
    # A³-2020 as the final code trains it, and as the preprint's Table V did (docs/methods.md#a3-preprint-recipe):
    # one class, the recipe's switches as the options' defaults (their only place).
    Method("a3-2020", "a3:A3_2020", "A³-2020", True, kwargs={"recipe": "final"}, targets=("a3_ae",), options=_a3_2020_options(
        noise=True, class_weights=False, shifted_l1=0.0, dims=[1000, 500, 200, 75])),
    Method("a3-2020-preprint", "a3:A3_2020", "A³ (preprint recipe)", True, kwargs={"recipe": "preprint"},
           targets=("a3_ae",), options=_a3_2020_options(noise=False, class_weights=True, shifted_l1=0.01,
                                                        dims=[500, 200, 75])),
    Method("ae", "ae:AEScore", "AE", True, targets=("ae",)),
    Method("gradcon", "gradcon:GradCon", "GradCon", True, targets=("gradcon",), options=_GRADCON_OPTIONS),
    Method("deepsad", "deepsad:DeepSAD", "DeepSAD", True, targets=("deepsvdd_ae",), options=(
        Option("deepsad_recompute_center", (bool,), True, "score against the centre recomputed after training"),
    )),
    Method("deepsvdd", "deepsad:DeepSVDD", "DeepSVDD", False, targets=("deepsvdd",), options=(
        Option("deepsad_recompute_center", (bool,), True, "score against the centre recomputed after training"),
    )),
    Method("devnet", "devnet:DevNet", "DevNet", True, options=(
        Option("devnet_fixed_reference", (bool,), True, "one reference-score draw for all steps (the original)"),
    )),
    # strong baselines not in the papers
    Method("deepsad-ruff", "deepsad_ruff:DeepSADRuff", "DeepSAD (Ruff)", False, options=(
        Option("deepsad_ruff_pretrain_epochs", (int,), 150, "autoencoder pre-training epochs"),
        Option("deepsad_ruff_epochs", (int,), 150, "Deep SAD training epochs"),
        Option("deepsad_ruff_lr", (int, float), 1e-4, "Adam lr of the Deep SAD training"),
        Option("deepsad_ruff_ae_lr", (int, float), 1e-4, "Adam lr of the pre-training"),
        Option("deepsad_ruff_milestones", (list, tuple), [50], "epochs where the lr is multiplied by 0.1"),
        Option("deepsad_ruff_weight_decay", (int, float), 0.5e-6, "Adam weight decay of the training"),
        Option("deepsad_ruff_ae_weight_decay", (int, float), 0.5e-3, "Adam weight decay of the pre-training"),
        Option("deepsad_ruff_eta", (int, float), 1.0, "η, weight of the known anomalies' term"),
        Option("deepsad_ruff_batch_size", (int,), 128, "mini-batch size of both loops"),
        Option("deepsad_ruff_dims", (list, tuple, type(None)), None,
               "hidden widths and code size (null: the reference's rule by feature count)"),
    )),
    Method("iforest", "classical:IForest", "IForest", False, cpu_only=True, trains=False, options=(
        Option("iforest_random_state", (str,), "substream", choices=("substream", "seed")),
        Option("iforest_n_estimators", (int,), 100), Option("iforest_max_samples", (str, int, float), "auto"),
        Option("iforest_max_features", (int, float), 1.0),
    )),
    Method("gbdt", "classical:GBDT", "GBDT", False, cpu_only=True, trains=False, options=_GBDT_OPTIONS),
    Method("gbdt-od", "classical:GBDTOD", "GBDT-OD", False, cpu_only=True, trains=False, options=(
        *_GBDT_OPTIONS, Option("gbdt_od_k", (list, tuple), [5, 10, 20]),
        Option("gbdt_od_iforest_n_estimators", (int,), 100),
    )),
)}

_PYOD_OPTIONS = (
    Option("pyod_mode", (str,), None, "semi, unsup-normal or unsup-all", choices=("semi", "unsup-normal", "unsup-all")),
    Option("pyod_kwargs", (dict,), {}, "keyword arguments of the PyOD class"),
)


def is_method(name: str) -> bool:
    return name in METHODS or (name.startswith(PYOD_PREFIX) and len(name) > len(PYOD_PREFIX))


def method(name: str) -> Method:
    """The declaration of a method id; `pyod:<Class>` gets one made on the fly."""
    if name in METHODS:
        return METHODS[name]
    if is_method(name):
        return Method(name, "pyod_adapter:PyODDetector", name, False, kwargs={"spec": name}, trains=False,
                      options=_PYOD_OPTIONS)
    raise ConfigError(f"unknown method {name!r}{_closest(name, METHODS)}; known: {', '.join(METHODS)}, pyod:<Class>")


def _closest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_options(name: str, options: Mapping[str, Any], *, workflow: bool = False) -> None:
    """Raise ConfigError for an option the method does not declare, or a value of the wrong type."""
    decl = method(name)
    declared = {o.name: o for o in decl.options}
    for key, value in options.items():
        base = key.split(":", 1)[0] if name.startswith(PYOD_PREFIX) else key  # pyod_mode:<Class>
        if base not in declared:
            accepted = ", ".join(declared) or "none"
            raise ConfigError(f"method_options.{name}: unknown option {key!r}{_closest(key, declared)}; "
                              f"{name} accepts: {accepted}")
        declared[base].check(name, value)
        if workflow and value and key in decl.workflow_refuses:
            raise ConfigError(f"method_options.{name}.{key}: not supported by the workflow: "
                              f"{decl.workflow_refuses[key]}")


def resolved_options(name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every option of method `name`: the declared defaults, overridden by the (checked) `options`
    given; what `build_method` passes to the detector's constructor."""
    options = dict(options or {})
    check_options(name, options)
    return {o.name: o.default for o in method(name).options} | options


def target_options(target: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The options that shape `target`, defaults filled in: its trainer's keyword arguments."""
    options = options or {}
    return {o.name: options.get(o.name, o.default) for o in TARGETS[target].options}


def target_file(target: str, options: Mapping[str, Any] | None = None) -> str:
    """The file `target` is stored in when trained under `options` (only its shaping options count)."""
    return TARGETS[target].file(target_options(target, options))


def shaping_options(target: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The shaping options as configured (no defaults filled in): what a target job's key and
    fingerprint hold."""
    return {k: options[k] for k in TARGETS[target].shaped_by if k in options}


def targets_read(name: str) -> list[str]:
    """The shared targets a method's fit reads (incl. the targets of its cached features)."""
    decl = method(name)
    return list(dict.fromkeys([*decl.targets, *(FEATURES[k].target for k in decl.features)]))

