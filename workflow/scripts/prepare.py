from alarmbench.worker.client import delegate

delegate(snakemake)  # in this run's warm worker where it has one, else on here (alarmbench.worker)
from alarmbench.stages.data import prepare_stage
from alarmbench.workflow_log import logged

with logged(snakemake.log[0], snakemake):
    prepare_stage(dataset=snakemake.wildcards.dataset, manifest=snakemake.input.manifest, out=snakemake.output[0],
                  user=snakemake.params.user)
