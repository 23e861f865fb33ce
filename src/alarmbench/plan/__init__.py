"""What a run will cost, from the data shapes alone, before any job: `alarmbench plan` and the
one-line-per-(data set, method) summary the workflow prints when it builds its DAG.

Per method and cell: the trainable parameters of its target and alarm, the length of the feature
rows it reads (R2-AD2: target parameters × snapshots; A³: the AE's activations), the bytes of the
workflow's feature cache and of one training checkpoint, the optimiser steps of each job it needs
(train_target, extract, fit_score), their FLOPs, and a projected single-thread CPU time.

- `sizes`: the networks' sizes, counted on the real network classes (torch's meta device), and
  the per-row FLOPs and gate values of R2-AD2's alarm step;
- `shapes`: the rows of each split part, from a split.json, a table header, a user file or the
  registry's documented size (`DeclaredShape`);
- `costs`: the cost model, dispatched from the method catalog's declarations;
- `calibration`: the machine constants and the run that measures them;
- `run`, `output`, `config`: a config's rows, the printed table and summary, config reading.

benchmarks/plan_accuracy.py holds the projection against measured CPU time.
"""

from alarmbench.plan.calibration import DEFAULT_CALIBRATION, Calibration, calibrate, calibration_json, load_calibration
from alarmbench.plan.config import read_config
from alarmbench.plan.costs import JOB_STEPS, NOT_MODELLED, STEP_UNITS, Estimate, Stage, estimate, job_seconds
from alarmbench.plan.output import duration, human, print_summary, run_seconds, summary_lines, table
from alarmbench.plan.run import Row, hparams_of, plan_run
from alarmbench.plan.shapes import Shapes

__all__ = [
    "DEFAULT_CALIBRATION", "JOB_STEPS", "NOT_MODELLED", "STEP_UNITS", "Calibration", "Estimate", "Row", "Shapes",
    "Stage", "calibrate", "calibration_json", "duration", "estimate", "hparams_of", "human", "job_seconds", "load_calibration",
    "plan_run", "print_summary", "read_config", "run_seconds", "summary_lines", "table",
]  # fmt: skip
