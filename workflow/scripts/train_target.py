from alarmbench.stages.target import train_target_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
with logged(snakemake.log[0]):
    train_target_stage(split_npz=snakemake.input.split, dataset=w.dataset, seed=int(w.seed), target=p.target,
                       run=dict(p.run, threads=snakemake.threads), code=p.code, out=snakemake.output[0],
                       inputs=list(snakemake.input.pretrained), user=p.user)
