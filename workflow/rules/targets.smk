# Shared targets (SPEC §1.4): trained once per (data set, class group, pollution, seed) and read
# by every cell of that group. Resumable checkpoints sit beside them, undeclared, so that a
# restarted job continues where it stopped (Snakemake deletes declared outputs before a rerun).


def target_inputs_of_target(w):
    # Deep SVDD starts from the DeepSVDD-AE: reuse the shared pretraining.
    target = TARGET_OF_FILE[w.tfile]
    if target == "deepsvdd":
        return [RESULTS + f"/{w.dataset}/_targets/{w.group}_p{w.p}/seed{w.seed}/{target_stem('deepsvdd_ae')}.pt"]
    return []


rule train_target:
    input:
        split=RESULTS + "/{dataset}/_targets/{group}_p{p}/seed{seed}/target_split.npz",
        pretrained=target_inputs_of_target,
    output:
        RESULTS + "/{dataset}/_targets/{group}_p{p}/seed{seed}/{tfile}.pt",
    params:
        target=lambda w: TARGET_OF_FILE[w.tfile],
        run=lambda w: run_params(w, target_options(TARGET_OF_FILE[w.tfile])),
        code=lambda w: target_code(TARGET_OF_FILE[w.tfile]),
        user=USER,
    wildcard_constraints:
        tfile="|".join(TARGET_OF_FILE),
    threads: RUN["threads"]
    resources:
        gpu=GPU,
    log:
        "logs/targets/{dataset}/{group}_p{p}/seed{seed}/{tfile}.log",
    benchmark:
        "benchmarks/out/targets/{dataset}/{group}_p{p}/seed{seed}/{tfile}.tsv"
    script:
        "../scripts/train_target.py"
