"""Snakemake's rerun triggers for this workflow: content decides, never a timestamp.

Every rule's `params` carry a code key over its `workflow/scripts/` file and the modules that
file imports, by content (`alarmbench.codekeys`). Snakemake's own `code` trigger adds nothing to
that for `script:` rules but a timestamp comparison (a script newer than a job's outputs reruns
the job, an edit with an older mtime, as `cp -p`, `rsync -a` or `tar x` leave it, does not), so
the profiles leave it out of `rerun-triggers`. A run without a profile (`--workflow-profile
none`) would get Snakemake's default, every trigger: `content_only` turns `code` (and `mtime`,
which Snakemake 9 no longer reads) off for that run too. The workflow calls it from an input
function of `fetch`, a job of every DAG, because the run's settings are attached to the
workflow only after the Snakefile is read and before the DAG decides what to run.
"""

from __future__ import annotations

import sys

TIMESTAMP_TRIGGERS = ("CODE", "MTIME")


def content_only(workflow) -> list[str]:
    """Drop the timestamp triggers from this run's settings; the names dropped (once, then [])."""
    settings = getattr(workflow, "dag_settings", None)
    if settings is None:
        return []
    triggers = set(settings.rerun_triggers)
    dropped = sorted(t.name.lower() for t in triggers if t.name in TIMESTAMP_TRIGGERS)
    if dropped:
        settings.rerun_triggers = frozenset(t for t in triggers if t.name not in TIMESTAMP_TRIGGERS)
        if getattr(workflow, "is_main_process", True):
            print(f"rerun triggers: {', '.join(dropped)} off (scripts and code are keyed by content in each "
                  f"rule's params; timestamps never rerun a job)", file=sys.stderr)
    return dropped
