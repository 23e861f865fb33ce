# Metrics per cell (one job evaluates every method of the cell) and the long-format table over
# everything.


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule evaluate:
    localrule: True  # cheap bookkeeping: on the submit host under SLURM
    input:
        split=f"{CELL}/split.npz",
        scores=lambda w: [f"{cell_dir(w)}/{m}/scores.npz" for m in cell_methods(w)],
        info=lambda w: [f"{cell_dir(w)}/{m}/fit.json" for m in cell_methods(w)],
        # the cells whose validation parts choose this cell's A³ thresholds (docs/protocol.md#a3-threshold)
        thresholds=threshold_inputs,
    output:
        f"{CELL}/metrics.json",
    params:
        methods=cell_methods,
        max_fpr=max_fpr,
        threshold_from=threshold_from,
        epochs=cell_epochs,
        code=script_code("evaluate.py"),
        damaged=DAMAGED,
    log:
        "logs/evaluate/{dataset}/{experiment}/n{n}_p{p}/seed{seed}.log",
    script:
        "../scripts/evaluate.py"


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule aggregate:
    localrule: True  # cheap bookkeeping: on the submit host under SLURM
    input:
        metrics_files(),
    output:
        csv=report(f"{config['reports_dir']}/results.csv", caption="../report/results.rst", category="Results"),
        roc=f"{config['reports_dir']}/roc.csv",
    params:
        code=script_code("aggregate.py"),
        damaged=DAMAGED,
    log:
        "logs/aggregate.log",
    script:
        "../scripts/aggregate.py"
