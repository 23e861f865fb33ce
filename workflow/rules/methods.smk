# One job per (cell, method): fit on the split (reading shared targets and cached features),
# write validation and test scores.


rule fit_score:
    input:
        split=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/split.npz",
        targets=target_inputs,
        features=feature_inputs,
    output:
        scores=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{method}/scores.npz",
        info=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{method}/fit.json",
    params:
        run=lambda w: run_params(w, method_options(w.method)),
        code=lambda w: code_hash(method_code(w.method)),
        targets_dir=group_dir,
        features=lambda w: {kind: feature_dirs(w, kind) for kind in stages.features_for(w.method)},
        work_dir=lambda w: f"{cell_dir(w)}/{w.method}/work",
        user=USER,
    threads: RUN["threads"]
    resources:
        gpu=lambda w: 0 if methods.cpu_only(w.method) else GPU,
    log:
        "logs/fit/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{method}.log",
    benchmark:
        "benchmarks/out/fit/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/{method}.tsv"
    script:
        "../scripts/fit_score.py"
