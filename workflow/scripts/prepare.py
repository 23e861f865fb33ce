from alarmbench.stages import prepare_stage
from alarmbench.workflow_log import logged

with logged(snakemake.log[0]):
    prepare_stage(snakemake.wildcards.dataset, snakemake.input.manifest, snakemake.output[0], snakemake.params.user)
