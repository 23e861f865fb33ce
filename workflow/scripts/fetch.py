from alarmbench.stages.data import fetch_stage
from alarmbench.workflow_log import logged

with logged(snakemake.log[0]):
    fetch_stage(dataset=snakemake.wildcards.dataset, raw_dir=snakemake.params.raw_dir, mirror=snakemake.params.mirror,
                manifest=snakemake.output.manifest, user=snakemake.params.user)
