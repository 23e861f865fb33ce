from alarmbench.stages.target import train_target_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
# From the config, not a param (a changed param reruns the job): the checkpoint interval changes no result.
CHECKPOINTS = {"checkpoint_every_s": snakemake.config["run"]["checkpoint_every_s"]}
with logged(snakemake.log[0], snakemake):
    train_target_stage(split_npz=snakemake.input.split, dataset=w.dataset, seed=int(w.seed), target=p.target,
                       run=dict(p.run, threads=snakemake.threads, **CHECKPOINTS), code=p.code, out=snakemake.output[0],
                       inputs=list(snakemake.input.pretrained), user=p.user)
