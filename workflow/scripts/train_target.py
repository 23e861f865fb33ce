from alarmbench.stages import train_target_stage
from alarmbench.workflow_log import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    train_target_stage(snakemake.input.split, w.dataset, int(w.seed), snakemake.params.target,
                       dict(snakemake.params.run, threads=snakemake.threads), snakemake.output[0],
                       snakemake.params.user)
