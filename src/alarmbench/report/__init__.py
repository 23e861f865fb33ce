"""Reports from `results.csv`: the papers' tables (CSV + booktabs LaTeX), seaborn figures, the
comparison with the published numbers, DVC metrics and a standalone `report.tex`.

Entry point: `alarmbench.report.build_reports(results_csv, out_dir)`.
"""

from __future__ import annotations


def __getattr__(name: str):
    # Lazy: importing the package should not pull in seaborn/matplotlib.
    if name == "build_reports":
        from alarmbench.report.build import build_reports

        return build_reports
    raise AttributeError(name)


__all__ = ["build_reports"]
