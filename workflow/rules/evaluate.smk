# Metrics per (cell, method) and the long-format table over everything.


rule evaluate:
    input:
        split=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/split.npz",
        scores=rules.fit_score.output.scores,
        info=rules.fit_score.output.info,
    output:
        RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{method}/metrics.json",
    params:
        max_fpr=max_fpr,
        epochs=lambda w: grid.epochs_for(RUN, w.dataset),
    log:
        "logs/evaluate/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{method}.log",
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
