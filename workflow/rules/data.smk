# download → prepare → split (docs/protocol.md#split): one raw folder and one prepared file per data set,
# one split per cell, and a canonical split per target group (its normal rows train the targets).


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule fetch:
    input:
        # a user data set's own file: its content hash (params) reruns fetch and prepare on an edit
        user_file,
    output:
        manifest=f"{config['raw_dir']}/{{dataset}}/manifest.json",
    params:
        mirror=config["mirror"],
        user=USER_ENTRY,
        user_file=user_digest,
        code=script_code("fetch.py"),
    log:
        f"{LOGS}/fetch/{{dataset}}.log",
    resources:
        downloads=1,
    script:
        "../scripts/fetch.py"


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule prepare:
    input:
        # Not ancient(): a fetch that reruns (a user file edited) must rerun prepare too (ancient
        # cuts that link). Timestamps rewritten by `dvc pull`/`checkout` trigger nothing because the
        # profiles leave mtime out of rerun-triggers; the content hashes below decide.
        manifest=rules.fetch.output.manifest,
    output:
        f"{config['prepared_dir']}/{{dataset}}.npz",
    params:
        code=prepare_code,
        damaged=DAMAGED,
        raw_files=raw_digest,
        user_file=user_digest,
        user=USER_ENTRY,
    log:
        f"{LOGS}/prepare/{{dataset}}.log",
    script:
        "../scripts/prepare.py"


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule split:
    input:
        f"{config['prepared_dir']}/{{dataset}}.npz",
    output:
        npz=f"{CELL}/split.npz",
        json=f"{CELL}/split.json",
    params:
        protocol=split_protocol,
        code=script_code("split.py"),
        user=USER_ENTRY,
        damaged=DAMAGED,
        grid_n=lambda w: GRID_N.get(cell_dir(w).removeprefix(f"{RESULTS}/")),
    log:
        f"{LOGS}/split/{{dataset}}/{{experiment}}/n{{n}}_p{{p}}/seed{{seed}}.log",
    script:
        "../scripts/split.py"


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule target_split:
    input:
        f"{config['prepared_dir']}/{{dataset}}.npz",
    output:
        npz=f"{GROUP}/target_split.npz",
        json=f"{GROUP}/target_split.json",
    params:
        protocol=split_protocol,
        code=script_code("split.py"),
        user=USER_ENTRY,
        damaged=DAMAGED,
    log:
        f"{LOGS}/target_split/{{dataset}}/{{group}}_p{{p}}/seed{{seed}}.log",
    script:
        "../scripts/split.py"
