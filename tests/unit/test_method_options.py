"""Method options are constructor parameters with one default, the catalog's (methods/catalog.py):
`build_method(id, **options)` passes every declared option to the detector's constructor, whose
keyword parameters have no defaults of their own; the target trainers get their target's options
the same way. So the declarations and the signatures must name the same options, and changing a
declared default must change what a fit computes."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import numpy as np
import pytest

from alarmbench.methods import build_method, catalog
from alarmbench.methods.catalog import METHODS, TARGETS, ConfigError
from alarmbench.runtime.context import Context
from toydata import toy_context, toy_split


def _keyword_options(fn) -> dict[str, inspect.Parameter]:
    """The keyword-only parameters of a function, or of a class's constructor, following its
    `**kwargs` into the base classes' constructors."""
    if not inspect.isclass(fn):
        return {n: p for n, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}
    found = {}
    for cls in fn.__mro__[:-1]:  # not object's
        if "__init__" in vars(cls):
            params = inspect.signature(vars(cls)["__init__"]).parameters
            found |= {n: p for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                break
    return found


def _resolve(path: str, default_package: str = "alarmbench.methods"):
    module, name = path.split(":")
    return getattr(importlib.import_module(module if "." in module else f"{default_package}.{module}"), name)


@pytest.mark.parametrize("method", [*METHODS, "pyod:IForest"])
def test_constructor_parameters_are_the_declared_options(method):
    decl = catalog.method(method)
    params = _keyword_options(_resolve(decl.cls))
    assert set(params) == {o.name for o in decl.options}, f"{decl.cls}: constructor vs catalog options"
    with_default = [n for n, p in params.items() if p.default is not p.empty]
    assert not with_default, f"{decl.cls}: {with_default} default in the constructor too (the catalog holds it)"


@pytest.mark.parametrize("target", list(TARGETS))
def test_trainer_parameters_are_the_target_options(target):
    """Its options are required keywords (the catalog fills them); a keyword with a default is a
    paper constant the stage never passes (trained_ae's 100 epochs)."""
    params = _keyword_options(_resolve(TARGETS[target].trainer))
    assert {n for n, p in params.items() if p.default is p.empty} == set(TARGETS[target].shaped_by)


def test_every_declared_default_reaches_the_constructor():
    for method, decl in METHODS.items():
        detector = build_method(method)
        expected = {o.name: o.default for o in decl.options}
        assert catalog.resolved_options(method) == expected
        assert detector.name == method


def test_the_options_are_not_read_from_the_context():
    """The context carries the options as configured (fingerprints, records), never for a fit to read."""
    assert not hasattr(Context, "option")


def test_target_file_names_of_the_defaults():
    """The default options' file names, which stored targets already carry (one naming function)."""
    assert catalog.target_file("gaa") == "gaa_snapshots_k4.pt"
    assert catalog.target_file("gaa", {"fresh_optimizer_at_snapshots": False, "holdout_redraw": True}) == \
        "gaa_snapshots_k4_carry_redraw.pt"
    assert catalog.target_file("gradcon") == "gradcon_elementwise.pt"
    assert catalog.target_file("gradcon", {"gradcon_cosine": "layer"}) == "gradcon_layer.pt"


def test_build_method_checks_the_options():
    with pytest.raises(ConfigError, match="unknown option 'iforest_trees'"):
        build_method("iforest", iforest_trees=3)
    with pytest.raises(ConfigError, match="iforest_n_estimators: '7' is not a int"):
        build_method("iforest", iforest_n_estimators="7")


def _with_default(monkeypatch, method: str, option: str, value) -> None:
    decl = METHODS[method]
    options = tuple(dataclasses.replace(o, default=value) if o.name == option else o for o in decl.options)
    monkeypatch.setitem(METHODS, method, dataclasses.replace(decl, options=options))


@pytest.fixture(scope="module")
def split():
    return toy_split()


def test_changing_a_catalog_default_changes_the_fit(monkeypatch, split):
    """The catalog's default is the one that counts: editing it changes a fitted score."""
    before = build_method("iforest").fit(split, toy_context()).score(split.x_test)
    _with_default(monkeypatch, "iforest", "iforest_n_estimators", 7)
    changed = build_method("iforest").fit(split, toy_context())
    assert changed.model.n_estimators == 7
    assert not np.array_equal(changed.score(split.x_test), before)


def test_changing_a_torch_method_default_changes_the_fit(monkeypatch, split):
    before = build_method("deepsad").fit(split, toy_context(epochs=2)).score(split.x_test)
    _with_default(monkeypatch, "deepsad", "deepsad_recompute_center", False)
    after = build_method("deepsad").fit(split, toy_context(epochs=2)).score(split.x_test)
    assert not np.array_equal(after, before)


def test_fit_and_score_passes_the_configured_options(split):
    """The fit stage (workflow jobs and `alarmbench run`) constructs the detector with ctx.options."""
    from alarmbench.stages.fit import fit_and_score

    ctx = toy_context()
    ctx.options = {"iforest_n_estimators": 7}
    scores, info = fit_and_score(split, "iforest", ctx)
    direct = build_method("iforest", iforest_n_estimators=7).fit(split, toy_context())
    np.testing.assert_array_equal(scores["test"], direct.score(split.x_test))
    assert info["options"] == {"iforest_n_estimators": 7}  # the record holds the options as configured
