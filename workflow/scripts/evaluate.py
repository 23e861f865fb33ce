from alarmbench.stages import evaluate_stage
from alarmbench.workflow_log import logged

w = snakemake.wildcards
p = snakemake.params
cell = {"dataset": w.dataset, "experiment": w.experiment, "n_anomalies": int(w.n), "pollution": float(w.p),
        "seed": int(w.seed), "epochs": "paper" if p.epochs is None else p.epochs}
with logged(snakemake.log[0]):
    evaluate_stage(snakemake.input.split, p.methods, list(snakemake.input.scores), list(snakemake.input.info), cell,
                   p.max_fpr, snakemake.output[0])
