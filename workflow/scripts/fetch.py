from alarmbench.stages import fetch_stage
from alarmbench.workflow_log import logged

with logged(snakemake.log[0]):
    fetch_stage(snakemake.wildcards.dataset, snakemake.params.raw_dir, snakemake.params.mirror,
                snakemake.output.manifest, snakemake.params.user)
