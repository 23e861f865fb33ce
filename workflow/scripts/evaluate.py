from alarmbench.stages import evaluate_stage
from alarmbench.workflow_log import logged

w = snakemake.wildcards
cell = {"dataset": w.dataset, "experiment": w.experiment, "n_anomalies": int(w.n), "pollution": float(w.p),
        "seed": int(w.seed), "method": w.method,
        "epochs": "paper" if snakemake.params.epochs is None else snakemake.params.epochs}
with logged(snakemake.log[0]):
    evaluate_stage(snakemake.input.split, snakemake.input.scores, snakemake.input.info, cell,
                   snakemake.params.max_fpr, snakemake.output[0])
