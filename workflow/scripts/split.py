# One script for both split rules: a cell's split, or a target group's canonical split (n = 0).
from alarmbench.stages import split_stage
from alarmbench.workflow_log import logged

w = snakemake.wildcards
experiment = w.get("experiment") or w.group
n = int(w.get("n", 0))
with logged(snakemake.log[0]):
    split_stage(snakemake.input[0], w.dataset, experiment, int(w.seed), n, float(w.p), snakemake.params.protocol,
                snakemake.output.npz, snakemake.output.json, snakemake.params.user)
