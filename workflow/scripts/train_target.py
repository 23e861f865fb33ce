from alarmbench.worker.client import delegate

delegate(snakemake)  # in this run's warm worker where it has one, else on here (alarmbench.worker)
from alarmbench.runkeys import job_run
from alarmbench.stages.target import train_target_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
# The key's settings, and from the config what changes no result (not a param: a change would rerun the job).
RUN = job_run(snakemake.config["run"], p.run)
with logged(snakemake.log[0], snakemake):
    train_target_stage(split_npz=snakemake.input.split, dataset=w.dataset, seed=int(w.seed), target=p.target,
                       run=dict(RUN, threads=snakemake.threads), code=p.code, out=snakemake.output[0],
                       inputs=list(snakemake.input.pretrained), user=p.user)
