from pathlib import Path

from alarmbench.stages.data import fetch_stage
from alarmbench.workflow_log import logged

manifest = snakemake.output.manifest  # <raw_dir>/<dataset>/manifest.json
with logged(snakemake.log[0], snakemake):
    fetch_stage(dataset=snakemake.wildcards.dataset, raw_dir=str(Path(manifest).parents[1]),
                mirror=snakemake.params.mirror, manifest=manifest, user=snakemake.params.user)
