from alarmbench.stages.fit import fit_score_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
with logged(snakemake.log[0]):
    fit_score_stage(split_npz=snakemake.input.split, dataset=w.dataset, seed=int(w.seed), method=w.method,
                    run=dict(p.run, threads=snakemake.threads), code=p.code, targets_dir=p.targets_dir,
                    features=p.features, work_dir=p.work_dir, out_scores=snakemake.output.scores,
                    out_info=snakemake.output.info,
                    inputs=[*snakemake.input.targets, *snakemake.input.features], user=p.user)
