from pathlib import Path

from alarmbench.stages import extract_stage
from alarmbench.workflow_log import logged

w = snakemake.wildcards
out = {part: getattr(snakemake.output, part) for part in ("train", "val", "test")}
with logged(snakemake.log[0]):
    extract_stage(snakemake.input.split, w.dataset, int(w.seed), w.kind, dict(snakemake.params.run, threads=snakemake.threads),
                  str(Path(snakemake.input.target).parent), out, snakemake.params.user)
