from alarmbench.worker.client import delegate

delegate(snakemake)  # in this run's warm worker where it has one, else on here (alarmbench.worker)
from alarmbench.runkeys import job_run
from alarmbench.stages.fit import fit_score_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
# The key's settings, and from the config what changes no result (not a param: a change would rerun the job).
RUN = job_run(snakemake.config["run"], p.run)
with logged(snakemake.log[0], snakemake):
    fit_score_stage(split_npz=snakemake.input.split, dataset=w.dataset, seed=int(w.seed), method=w.method,
                    run=dict(RUN, threads=snakemake.threads), code=p.code, targets_dir=p.targets_dir,
                    features=p.features, work_dir=p.work_dir, out_scores=snakemake.output.scores,
                    out_info=snakemake.output.info,
                    inputs=[*snakemake.input.targets, *snakemake.input.features], user=p.user)
