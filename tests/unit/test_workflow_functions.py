"""Rule functions' signatures read once (alarmbench.workflow_functions): Snakemake then reads the
attached answer, which is inspect's own, so what each function receives does not change. Rule
functions of a few wildcards (`per_wildcards`): computed once per combination of those, and
only those visible to them."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from snakemake.common import get_function_params, get_input_function_aux_params
from snakemake.io import AnnotatedString, IOFile

from alarmbench.workflow_functions import per_wildcards, read_signatures_once, rule_function


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


def test_a_per_wildcards_function_is_computed_once_per_combination_of_its_wildcards():
    calls = []

    @per_wildcards("dataset", "method")
    def run_key(w):
        calls.append((w.dataset, w.method))
        return {"key": f"{w.dataset}-{w.method}"}

    def job(**wildcards):
        return SimpleNamespace(dataset="digits", method="ae", seed="1", n="10", **wildcards)

    first = run_key(job())
    assert first == {"key": "digits-ae"}
    # another seed or cell: the same combination, answered from the memo
    assert run_key(SimpleNamespace(dataset="digits", method="ae", seed="2", n="50")) is first
    # another value of a wildcard it reads: computed afresh, never the old answer
    assert run_key(SimpleNamespace(dataset="digits", method="devnet", seed="1", n="10")) == {"key": "digits-devnet"}
    assert run_key(SimpleNamespace(dataset="wine", method="ae", seed="1", n="10")) == {"key": "wine-ae"}
    assert calls == [("digits", "ae"), ("digits", "devnet"), ("wine", "ae")]


def test_a_per_wildcards_function_sees_only_its_wildcards_and_takes_only_wildcards():
    @per_wildcards("method")
    def reads_seed(w):
        return w.seed  # not among its wildcards: the memo would give one seed's answer to every seed

    with pytest.raises(AttributeError):
        reads_seed(SimpleNamespace(method="ae", seed="1"))
    # Snakemake passes it no input/output/resources and compares it as a param (not input-derived)
    assert list(get_function_params(reads_seed)) == ["wildcards"]
    assert get_input_function_aux_params(reads_seed, {"input": ["i"], "resources": {}}) == {}
