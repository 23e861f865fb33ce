from pathlib import Path

from alarmbench.report.build import build_reports
from alarmbench.workflow_log import logged

with logged(snakemake.log[0], snakemake):
    build_reports(snakemake.input.csv, Path(snakemake.output.tex).parent, roc_csv=snakemake.input.roc,
                  peers=snakemake.params.peers)
