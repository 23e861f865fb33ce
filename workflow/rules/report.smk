# Tables (CSV + booktabs LaTeX), figures, the paper comparison, the DVC metrics and report.tex.
from alarmbench.report.labels import papers_data
from alarmbench.report.peer_files import resolve_peers

REP = config["reports_dir"]
# The authors' code's runs per data set (config `peers:`; unset: ../shared/peers/… where present).
# Checked here, before any job; inputs of the report, and their content hashes key it (timestamps
# trigger nothing), so a changed peer file reruns it.
PEERS = {d: str(p) for d, p in resolve_peers(config.get("peers")).items()}
# A grid of the user's own data sets only has nothing to compare with the papers: no "Paper" page.
PAPER_DATA = papers_data([*config.get("datasets", []), *USER])


# snakemake --lint, "Specify a conda environment": justified, no `conda:` here: this rule runs the one
# installed alarmbench environment that every rule shares (reason in workflow/Snakefile).
rule report:
    localrule: True  # cheap bookkeeping: on the submit host under SLURM
    input:
        csv=rules.aggregate.output.csv,
        roc=rules.aggregate.output.roc,
        peers=list(PEERS.values()),
    output:
        tables=report(directory(f"{REP}/tables"), patterns=["{name}.csv"], caption="../report/tables.rst",
                      category="Tables"),
        figures=report(directory(f"{REP}/figures"), patterns=["{name}.png"], caption="../report/figures.rst",
                       category="Figures"),
        comparison=(report(f"{REP}/paper_comparison.csv", caption="../report/comparison.rst", category="Paper")
                    if PAPER_DATA else f"{REP}/paper_comparison.csv"),
        summary=f"{REP}/summary.csv",
        metrics=f"{REP}/metrics.json",
        dvc_metrics=directory(f"{REP}/metrics"),  # one small file per cell and method: `dvc metrics show`
        tex=f"{REP}/report.tex",
    params:
        code=script_code("report.py"),
        published=package_data("data/paper"),  # the papers' values the comparison reads
        damaged=DAMAGED,
        peers=PEERS,
        peer_sha256={d: _sha256(p) for d, p in PEERS.items()},
    log:
        "logs/report.log",
    script:
        "../scripts/report.py"
