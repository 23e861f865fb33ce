from alarmbench.stages import fit_score_stage
from alarmbench.workflow_log import logged

w = snakemake.wildcards
p = snakemake.params
with logged(snakemake.log[0]):
    fit_score_stage(snakemake.input.split, w.dataset, int(w.seed), w.method, dict(p.run, threads=snakemake.threads),
                    p.targets_dir, p.features, p.work_dir, snakemake.output.scores, snakemake.output.info, p.user)
