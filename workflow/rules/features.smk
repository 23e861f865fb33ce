# Real-data features cached to disk (fp16 by default; methods/catalog.py FEATURES): per-sample
# gradients of the 4-snapshot chain for R2-AD2 (GAA-k reads the first k) and AE activations for
# A3v2, one folder per feature kind and target file. Counter-examples are new every batch and
# are computed inside the training jobs.


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule extract:
    input:
        split=f"{CELL}/split.npz",
        target=feature_target,
    output:
        train=directory(f"{CELL}/features/{{kind}}/{{tfile}}/train"),
        val=directory(f"{CELL}/features/{{kind}}/{{tfile}}/val"),
        test=directory(f"{CELL}/features/{{kind}}/{{tfile}}/test"),
    params:
        run=extract_run,
        code=extract_code,
        user=USER_ENTRY,
        software=extract_software,
        damaged=DAMAGED,
    wildcard_constraints:
        kind="|".join(catalog.FEATURES),
        tfile="|".join(TARGET_FILES) or "no-target",
    threads: RUN["threads"]
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/extract/{{dataset}}/{{experiment}}/n{{n}}_p{{p}}/seed{{seed}}/{{kind}}_{{tfile}}.log",
    benchmark:
        f"{BENCH}/extract/{{dataset}}/{{experiment}}/n{{n}}_p{{p}}/seed{{seed}}/{{kind}}_{{tfile}}.tsv"
    script:
        "../scripts/extract.py"
