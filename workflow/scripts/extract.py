from alarmbench.worker.client import delegate

delegate(snakemake)  # in this run's warm worker where it has one, else on here (alarmbench.worker)
from alarmbench.runkeys import job_run
from alarmbench.stages.extract import extract_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
# The key's settings, and from the config what changes no result (not a param: a change would rerun the job).
RUN = job_run(snakemake.config["run"], p.run)
with logged(snakemake.log[0], snakemake):
    extract_stage(split_npz=snakemake.input.split, dataset=w.dataset, seed=int(w.seed), kind=w.kind,
                  run=dict(RUN, threads=snakemake.threads), target=snakemake.input.target,
                  out_dirs={part: getattr(snakemake.output, part) for part in ("train", "val", "test")}, user=p.user)
