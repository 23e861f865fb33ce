# One script for both split rules: a cell's split, or a target group's canonical split (n = 0).
from alarmbench.worker.client import delegate

delegate(snakemake)  # in this run's warm worker where it has one, else on here (alarmbench.worker)
from alarmbench.grid import parse_n
from alarmbench.stages.split import split_stage
from alarmbench.workflow_log import logged

w = snakemake.wildcards
with logged(snakemake.log[0], snakemake):
    split_stage(prepared=snakemake.input[0], dataset=w.dataset, experiment=w.get("experiment") or w.group,
                seed=int(w.seed), n_anomalies=parse_n(w.get("n", "0")), pollution=float(w.p),
                protocol=snakemake.params.protocol, out_npz=snakemake.output.npz, out_json=snakemake.output.json,
                user=snakemake.params.user, grid_n=snakemake.params.get("grid_n"))
