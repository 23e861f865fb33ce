# Shared targets (docs/protocol.md#experiments, methods/catalog.py TARGETS): trained once per (data set, class group,
# pollution, seed) and read by every cell of that group. A target's file name encodes the options
# that shape it. Resumable checkpoints sit beside the file while the job runs, carry the job's
# fingerprint, and are removed when the target is stored.


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule train_target:
    input:
        split=f"{GROUP}/target_split.npz",
        pretrained=pretrained_input,
    output:
        f"{GROUP}/{{tfile}}.pt",
    params:
        target=lambda w: TARGET_FILES[w.tfile][0],
        run=target_run,
        code=target_code,
        user=USER_ENTRY,
        software=target_software,
        damaged=DAMAGED,
    wildcard_constraints:
        tfile="|".join(TARGET_FILES) or "no-target",
    threads: RUN["threads"]
    resources:
        gpu=GPU,
    log:
        f"{LOGS}/targets/{{dataset}}/{{group}}_p{{p}}/seed{{seed}}/{{tfile}}.log",
    benchmark:
        f"{BENCH}/targets/{{dataset}}/{{group}}_p{{p}}/seed{{seed}}/{{tfile}}.tsv"
    script:
        "../scripts/train_target.py"
