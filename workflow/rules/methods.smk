# One job per (cell, method): fit on the split (reading shared targets and cached features, all
# declared inputs), write validation and test scores. Checkpoints live in the job's work folder
# while it runs, carry its fingerprint, and are removed when the fit is done.


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule fit_score:
    input:
        split=f"{CELL}/split.npz",
        targets=target_inputs,
        features=feature_inputs,
    output:
        scores=f"{CELL}/{{method}}/scores.npz",
        info=f"{CELL}/{{method}}/fit.json",
    params:
        run=fit_run,
        code=fit_code,
        software=fit_software,
        targets_dir=targets_dir,
        damaged=DAMAGED,
        features=method_features,
        work_dir=f"{CELL}/{{method}}/work",
        user=USER_ENTRY,
    threads: RUN["threads"]
    resources:
        gpu=(lambda w: 0 if methods.cpu_only(w.method) else GPU) if GPU else 0,
    log:
        f"{LOGS}/fit/{{dataset}}/{{experiment}}/n{{n}}_p{{p}}/seed{{seed}}/{{method}}.log",
    benchmark:
        f"{BENCH}/fit/{{dataset}}/{{experiment}}/n{{n}}_p{{p}}/seed{{seed}}/{{method}}.tsv"
    script:
        "../scripts/fit_score.py"
