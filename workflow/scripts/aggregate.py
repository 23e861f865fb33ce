from alarmbench.evaluate.aggregate import collect
from alarmbench.workflow_log import logged

with logged(snakemake.log[0], snakemake):
    collect(list(snakemake.input), out_csv=snakemake.output.csv, roc_csv=snakemake.output.roc, sealed=True)
