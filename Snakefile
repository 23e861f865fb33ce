# Entry point at the repository root, so that `snakemake --cores all` works from here.
# The target rule lives here: Snakemake takes the default target only from the main Snakefile.
include: "workflow/Snakefile"


rule all:
    localrule: True
    input:
        final_outputs(),
    default_target: True
