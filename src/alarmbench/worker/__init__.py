"""A warm worker for a local Snakemake run's short jobs (issue 25: most of a short job's CPU was
starting Python and importing torch or scikit-learn, ≈ 2 s, again in every one of ~300 jobs).

`hooks` starts one server per local run (`server.py`, a plain script: it imports torch, NumPy,
scikit-learn and Snakemake's script support once, and never an alarmbench module, so that every
job runs the code on disk now); a job script's first line (`client.delegate`) hands the job to it,
and the server forks a child that runs the job's script with the job's own stdin/stdout/stderr,
environment and working directory. Without a server (switched off, a dry run, a cluster
executor, another host, before it is ready) the job runs in its own process as before. The
results are the same either way (tests/integration/test_warm_worker.py compares them bit for bit).

ADDRESS names the run's server to its jobs (`<host>:<socket path>`, inherited through the
environment); OFF switches the worker off (`ALARMBENCH_WARM_WORKER=0`, docs/operations.md).
"""

ADDRESS = "ALARMBENCH_WORKER"
OFF = "ALARMBENCH_WARM_WORKER"
# The line the client appends to a delegated job's log: the worker child's own CPU and memory,
# which Snakemake's benchmark files (the client's process tree) do not see; benchmarks/suite_time.py
# adds them to the job's benchmark row.
USAGE_PREFIX = "alarmbench worker child:"


def switched_off(environ) -> bool:
    """ALARMBENCH_WARM_WORKER set to 0/no/false/off (any case)."""
    return environ.get(OFF, "").strip().lower() in ("0", "no", "false", "off")
