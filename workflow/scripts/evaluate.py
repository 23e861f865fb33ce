from alarmbench.stages.evaluate import evaluate_stage
from alarmbench.workflow_log import logged

w, p = snakemake.wildcards, snakemake.params
cell = {"dataset": w.dataset, "experiment": w.experiment, "n_anomalies": int(w.n), "pollution": float(w.p),
        "seed": int(w.seed), "epochs": "paper" if p.epochs is None else p.epochs}
with logged(snakemake.log[0], snakemake):
    evaluate_stage(split_npz=snakemake.input.split, methods=p.methods, scores_npz=list(snakemake.input.scores),
                   info_json=list(snakemake.input.info), cell=cell, max_fpr=p.max_fpr, out=snakemake.output[0],
                   threshold_from=p.threshold_from)
