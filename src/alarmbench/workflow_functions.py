"""Each rule function's signature, read once per DAG build instead of once per job.

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
