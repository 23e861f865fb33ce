# download → prepare → split (SPEC §1): one raw folder and one prepared file per data set,
# one split per cell, and a canonical split per target group (its normal rows train the targets).


rule fetch:
    output:
        manifest=config["raw_dir"] + "/{dataset}/manifest.json",
    params:
        mirror=config["mirror"],
        raw_dir=config["raw_dir"],
        user=USER,
    log:
        "logs/fetch/{dataset}.log",
    resources:
        downloads=1,
    script:
        "../scripts/fetch.py"


rule prepare:
    input:
        # ancient: `dvc pull`/`checkout` rewrites the raw files' timestamps; their content hashes
        # (raw_files below) decide instead whether the prepared data is stale.
        manifest=ancient(rules.fetch.output.manifest),
    output:
        config["prepared_dir"] + "/{dataset}.npz",
    params:
        loader_code=lambda w: code_hash(loader_source(w)),
        raw_files=lambda w: raw_digest(w),
        user=USER,
    log:
        "logs/prepare/{dataset}.log",
    script:
        "../scripts/prepare.py"


rule split:
    input:
        config["prepared_dir"] + "/{dataset}.npz",
    output:
        npz=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/split.npz",
        json=RESULTS + "/{dataset}/{experiment}/n{n}_p{p}/seed{seed}/split.json",
    params:
        protocol=config["protocol"],
        user=USER,
    log:
        "logs/split/{dataset}/{experiment}/n{n}_p{p}/seed{seed}.log",
    script:
        "../scripts/split.py"


rule target_split:
    input:
        config["prepared_dir"] + "/{dataset}.npz",
    output:
        npz=RESULTS + "/{dataset}/_targets/{group}_p{p}/seed{seed}/target_split.npz",
        json=RESULTS + "/{dataset}/_targets/{group}_p{p}/seed{seed}/target_split.json",
    params:
        protocol=config["protocol"],
        user=USER,
    log:
        "logs/target_split/{dataset}/{group}_p{p}/seed{seed}.log",
    script:
        "../scripts/split.py"
