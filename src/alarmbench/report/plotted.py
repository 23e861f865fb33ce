"""What a figure plots, as data: every figure of a report is first computed as a `Plotted` record
(panels of series: x, y, ± bands, colour, marker, the data sets behind each aggregate point, the
statistic's sample size), then drawn from that record (`plotting.draw_series`). The records are
written beside the figures (`figures/plotted.json`), so what a reader sees can be audited from
data, not pixels (tests/unit/test_report_audit.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from alarmbench.fileio import atomic_path


@dataclass
class Series:
    """One line (or curve) of a panel. `method` is the method id when the series is one method
    (its colour and marker then come from the report's one mapping, `plotting.method_styles`)."""

    label: str
    x: list
    y: list[float]
    colour: str
    marker: str
    method: str = ""
    lo: list[float] | None = None  # the band drawn around y (clipped to the metric's range)
    hi: list[float] | None = None
    datasets: list[list[str]] | None = None  # per point of an aggregate: the data sets averaged
    seeds: list[list[int]] | None = None  # per point: the seeds behind it (for a mean: on every data set)
    note: str = ""  # e.g. "same curve as DevNet" where two series coincide


@dataclass
class Panel:
    title: str
    series: list[Series]
    y_range: tuple[float, float] | None = (0.0, 1.0)  # the metric's range: bands stay inside it
    x_categories: list[str] | None = None  # a categorical x axis (x are indices into it)
    x_label: str = ""
    y_label: str = ""


@dataclass
class Plotted:
    """One figure: its file stem, caption and panels; `statistic` for a figure that shows a test
    ({"test", "n_datasets", "min_datasets"})."""

    name: str
    caption: str
    panels: list[Panel]
    paths: list[Path] = field(default_factory=list)
    statistic: dict | None = None
    rows: int = 1  # panel rows as drawn (a taller figure gets more of the page)
    width: float = 1.0  # fraction of the text width it is printed at in report.tex

    def methods(self) -> set[str]:
        return {s.method for p in self.panels for s in p.series if s.method}


def _clean(value):
    """JSON-safe: NaN → None, paths → their names, tuples → lists."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Path):
        return value.name
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_plotted(records: list[Plotted], path: str | Path) -> Path:
    """Every record as one JSON list (strict JSON: NaN written as null)."""
    path = Path(path)
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps([_clean(asdict(r)) for r in records], indent=1, allow_nan=False) + "\n")
    return path


def read_plotted(path: str | Path) -> list[dict]:
    return json.loads(Path(path).read_text())


__all__ = ["Panel", "Plotted", "Series", "read_plotted", "write_plotted"]
