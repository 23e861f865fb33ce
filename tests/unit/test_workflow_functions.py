"""Rule functions' signatures read once (alarmbench.workflow_functions): Snakemake then reads the
attached answer, which is inspect's own, so what each function receives does not change."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

from snakemake.common import get_function_params, get_input_function_aux_params
from snakemake.io import AnnotatedString, IOFile

from alarmbench.workflow_functions import read_signatures_once, rule_function


def by_wildcards(w):
    return [w]


def by_input(w, input):
    return input


def by_anything(w, **job):
    return job


def test_each_rule_function_is_inspected_once_and_answers_as_inspect_does(monkeypatch):
    annotated = AnnotatedString(by_input)  # how Snakemake wraps a flagged input function
    rule = SimpleNamespace(input=[IOFile("a.txt"), annotated], params=[by_anything, "x", 3, lambda w: 1],
                           log=[], resources={"_cores": 1, "gpu": by_wildcards})
    assert rule_function(rule.input[0]) is None and rule_function(annotated) is by_input
    assert read_signatures_once(SimpleNamespace(rules=[rule])) == 4
    assert read_signatures_once(SimpleNamespace(rules=[rule])) == 0  # already attached

    calls = []
    real = inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda f, *a, **k: calls.append(f) or real(f, *a, **k))
    candidates = {"input": ["i"], "output": ["o"], "threads": 1, "resources": {}}
    assert get_input_function_aux_params(by_input, candidates) == {"input": ["i"]}
    assert get_input_function_aux_params(by_anything, candidates) == candidates  # **job: every candidate
    assert get_input_function_aux_params(by_wildcards, candidates) == {}
    assert "input" in get_function_params(by_input) and "input" not in get_function_params(by_anything)
    assert calls == []  # Snakemake's answers came from the attached signatures
