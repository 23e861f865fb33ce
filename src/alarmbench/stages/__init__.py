"""The workflow's stages as library functions: each Snakemake script calls exactly one of these.

fetch → prepare → split → train_target → extract → fit_score → evaluate (→ aggregate, report).
One module per stage, so that a job's code key (`codekeys`) covers only what its stage imports;
this package runs no code. Everything here is importable and testable without Snakemake, and
`alarmbench run` builds its fit through the same functions (`context`, `fit`, `evaluate`).
"""
