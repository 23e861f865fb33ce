"""Each rule function's signature, read once per DAG build instead of once per job; and rule
functions of fewer wildcards than their jobs have, computed once per combination of those.

For every job, Snakemake asks `inspect.signature` of each of its rule's input, params, log and
resources functions which of `wildcards`, `input`, `output`, `threads`, `resources` it takes
(`snakemake.common.get_function_params`): ≈ 15 % of a 5,000-job dry run's CPU with this
workflow's ~40 rule functions (issue 25). A function's signature does not change, so it is read
here once and attached as the attribute Snakemake's own path helpers attach for the same purpose
(`snakemake.common.overwrite_function_params`, used by `subpath`, `as_py_module`,
`prepend_param`); Snakemake then reads it instead of inspecting the function again. The answers
are inspect's own, so which functions count as input-deriving (and leave the params trigger) and
which parameters each function receives stay what they were.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from snakemake.common import FUNC_OVERWRITE_PARAMS_ATTR, get_function_params, overwrite_function_params
from snakemake.io import AnnotatedString, _IOFile


def rule_function(item):
    """The function behind a rule item, as `Rule.apply_input_function` unwraps it; None for a value."""
    if isinstance(item, _IOFile):
        item = item._file
    if isinstance(item, AnnotatedString):
        return item.callable
    return item if callable(item) else None


def read_signatures_once(workflow) -> int:
    """Attach each rule function's signature (see the module docstring); how many were attached."""
    done = 0
    for rule in workflow.rules:
        for item in (*rule.input, *rule.params, *rule.log, *rule.resources.values()):
            func = rule_function(item)
            if func is None or hasattr(func, FUNC_OVERWRITE_PARAMS_ATTR):
                continue
            try:
                overwrite_function_params(func, get_function_params(func))
            except AttributeError:  # a bound method or builtin takes no attribute: inspected per job as before
                continue
            done += 1
    return done


def per_wildcards(*names: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """A rule function of the wildcards `names` only, computed once per combination of their values.

    Snakemake calls a rule's input and params functions once per job, and many of this workflow's
    depend on a few of a job's wildcards (a fit's run key on the data set and method: the same
    value for every seed, cell and pollution; ≈ 3 of 4 calls of a 5,000-job DAG build repeat one).
    The function receives only those wildcards (reading another one raises AttributeError), so the
    memo's key is everything it can see besides the configuration, which a process does not
    change. Jobs with the same values share the one answer: Snakemake reads a job's inputs and
    params and does not modify them."""

    def wrap(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        memo: dict[tuple, Any] = {}

        @functools.wraps(func)
        def rule_function(wildcards):
            key = tuple(getattr(wildcards, name) for name in names)
            try:
                return memo[key]
            except KeyError:
                value = memo[key] = func(SimpleNamespace(**dict(zip(names, key))))
                return value

        del rule_function.__wrapped__  # Snakemake reads the signature: (wildcards), not func's
        rule_function.memo = memo
        return rule_function

    return wrap
