from alarmbench.stages.fit import fit_score_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
# From the config, not a param (a changed param reruns the job): the checkpoint interval changes no result.
CHECKPOINTS = {"checkpoint_every_s": snakemake.config["run"]["checkpoint_every_s"]}
with logged(snakemake.log[0], snakemake):
    fit_score_stage(split_npz=snakemake.input.split, dataset=w.dataset, seed=int(w.seed), method=w.method,
                    run=dict(p.run, threads=snakemake.threads, **CHECKPOINTS), code=p.code, targets_dir=p.targets_dir,
                    features=p.features, work_dir=p.work_dir, out_scores=snakemake.output.scores,
                    out_info=snakemake.output.info,
                    inputs=[*snakemake.input.targets, *snakemake.input.features], user=p.user)
