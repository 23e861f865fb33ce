# Real-data features cached to disk (fp16 by default): per-sample gradients of the 4-snapshot
# chain for R2-AD2 (GAA-k reads the first k) and AE activations for A3v2. Counter-examples are
# new every batch and are computed inside the training jobs.


def feature_source(w):
    target = stages.FEATURES[w.kind][0]
    return f"{group_dir(w)}/{target_stem(target)}.pt"


rule extract:
    input:
        split=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/split.npz",
        target=feature_source,
    output:
        train=directory(RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/features/{kind}/train"),
        val=directory(RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/features/{kind}/val"),
        test=directory(RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/features/{kind}/test"),
    params:
        run=lambda w: run_params(w, target_options(stages.FEATURES[w.kind][0])),
        user=USER,
    wildcard_constraints:
        kind="gradients|activations",
    threads: RUN["threads"]
    resources:
        gpu=GPU,
    log:
        "logs/extract/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{kind}.log",
    benchmark:
        "benchmarks/out/extract/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{kind}.tsv"
    script:
        "../scripts/extract.py"
