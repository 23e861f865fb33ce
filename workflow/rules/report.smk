# Tables (CSV + booktabs LaTeX), figures, the paper comparison, the DVC metrics and report.tex.
REP = config["reports_dir"]


rule report:
    localrule: True  # cheap bookkeeping: on the submit host under SLURM
    input:
        csv=rules.aggregate.output.csv,
        roc=rules.aggregate.output.roc,
    output:
        tables=report(directory(f"{REP}/tables"), patterns=["{name}.csv"], caption="../report/tables.rst",
                      category="Tables"),
        figures=report(directory(f"{REP}/figures"), patterns=["{name}.png"], caption="../report/figures.rst",
                       category="Figures"),
        comparison=report(f"{REP}/paper_comparison.csv", caption="../report/comparison.rst", category="Paper"),
        summary=f"{REP}/summary.csv",
        metrics=f"{REP}/metrics.json",
        tex=f"{REP}/report.tex",
    params:
        code=code_key("alarmbench.report.build"),
    log:
        "logs/report.log",
    script:
        "../scripts/report.py"
