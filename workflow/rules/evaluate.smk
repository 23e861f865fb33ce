# Metrics per cell (one job evaluates every method of the cell) and the long-format table over
# everything.


rule evaluate:
    input:
        split=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/split.npz",
        scores=lambda w: [f"{cell_dir(w)}/{m}/scores.npz" for m in cell_methods(w)],
        info=lambda w: [f"{cell_dir(w)}/{m}/fit.json" for m in cell_methods(w)],
    output:
        RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/metrics.json",
    params:
        methods=cell_methods,
        max_fpr=max_fpr,
        epochs=lambda w: grid.epochs_for(RUN, w.dataset),
    log:
        "logs/evaluate/{dataset}/{experiment}/n{n}_p{p}/seed{seed}.log",
    script:
        "../scripts/evaluate.py"


rule aggregate:
    input:
        metrics_files(),
    output:
        csv=report(config["reports_dir"] + "/results.csv", caption="../report/results.rst", category="Results"),
        roc=config["reports_dir"] + "/roc.csv",
    log:
        "logs/aggregate.log",
    script:
        "../scripts/aggregate.py"
