"""The plan as text: the `alarmbench plan` table, the workflow's start-up summary, the run's total."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from alarmbench.plan.calibration import DEFAULT_CALIBRATION, Calibration
from alarmbench.plan.costs import job_seconds
from alarmbench.plan.run import Row, plan_run


def human(x: float | None, unit: str = "") -> str:
    """1234567 → "1.2M"; bytes with unit "B" use powers of 1024."""
    if x is None:
        return "-"
    step, names = (1024.0, ("", "Ki", "Mi", "Gi", "Ti")) if unit == "B" else (1000.0, ("", "k", "M", "G", "T", "P"))
    for name in names:
        if abs(x) < step or name == names[-1]:
            return f"{x:.0f}{name}{unit}" if name == "" else f"{x:.1f}{name}{unit}"
        x /= step
    return f"{x}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


COLUMNS = ("dataset", "method", "cells", "target", "alarm", "features", "cache", "ckpt", "steps", "FLOP",
           "CPU/cell", "CPU all", "shapes")


def _shape_note(r: Row) -> str:
    s = r.shapes
    return "" if s is None else (f"{s.n_train}x{s.n_features} " + ("(split)" if s.source.endswith("split.json")
                                                                  else "(documented)" if s.source.startswith("registry")
                                                                  else f"({s.source})"))


def table(rows: Sequence[Row], calib: Calibration = DEFAULT_CALIBRATION) -> str:
    """The plan as a text table: per (data set, method), one cell's figures and all its cells' time;
    "?" where the shapes are unknown, "-" where the method is not modelled (see the notes below it)."""
    lines = [COLUMNS]
    for r in rows:
        e = r.estimate
        if e is None:
            lines.append((r.dataset, r.method, str(r.cells), *(["?"] * 9), "unknown"))
            continue
        if not e.modelled:
            lines.append((r.dataset, r.method, str(r.cells), *(["-"] * 9), _shape_note(r)))
            continue
        sec = e.seconds(calib)
        lines.append((r.dataset, r.method, str(r.cells), human(e.target_params), human(e.alarm_params),
                      human(e.feature_length), human(e.cache_bytes or None, "B"),
                      human(e.checkpoint_bytes or None, "B"), human(e.steps), human(e.flops),
                      duration(sec), duration(sec * r.cells), _shape_note(r)))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(COLUMNS))]
    text = "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in lines)
    return "\n".join([text, *notes(rows)])


def notes(rows: Sequence[Row]) -> list[str]:
    """Why a row shows "?" or "-", and the effective n of "half", once each."""
    out: dict[str, None] = {}
    for r in rows:
        for note in r.notes:
            out[f"{r.dataset}: {note}"] = None
        if r.estimate is None and not r.notes:
            out[f"{r.dataset}: shapes unknown (not prepared, no documented size); --load reads it"] = None
        elif r.estimate is not None and r.estimate.note:
            out[f"{r.method}: {r.estimate.note}"] = None
    return list(out)


def summary_lines(rows: Sequence[Row], calib: Calibration = DEFAULT_CALIBRATION) -> list[str]:
    """One line per (data set, method) for the workflow's start, and a total (shared targets once)."""
    out = []
    unknown = sorted({r.dataset for r in rows if r.estimate is None})
    if unknown:
        out.append(f"{', '.join(unknown)}: shapes unknown until `prepare` has run (`alarmbench plan --load`)")
    for r in rows:
        e = r.estimate
        if e is None or not e.modelled:
            continue
        sec = e.seconds(calib)
        parts = [f"target {human(e.target_params)}" if e.target_params else "",
                 f"alarm {human(e.alarm_params)}" if e.alarm_params else "",
                 f"features {human(e.feature_length)}/row ({human(e.cache_bytes, 'B')})" if e.cache_bytes else "",
                 f"{human(e.steps)} steps", f"{human(e.flops)}FLOP", f"~{duration(sec)}/cell"]
        out.append(f"{r.dataset} {r.method} x{r.cells}: " + ", ".join(p for p in parts if p))
    out += [n for n in notes(rows) if "not modelled" not in n and "shapes unknown" not in n]
    if len(unknown) < len({r.dataset for r in rows}):
        out.append(f"projected CPU time, 1 thread: {duration(run_seconds(rows, calib))} in all "
                   f"(shared targets counted once per cell); `alarmbench plan` for the table")
    return out


def run_seconds(rows: Sequence[Row], calib: Calibration = DEFAULT_CALIBRATION) -> float:
    """All modelled jobs of the run; a target or feature job shared by methods of a data set counts
    once per cell (targets are in fact shared wider, across experiments of a group: an upper bound)."""
    shared: dict[tuple[str, str], tuple[float, int]] = {}
    own = 0.0
    for r in rows:
        if r.estimate is None or not r.estimate.modelled:
            continue
        own += job_seconds(calib) * r.cells  # its fit_score jobs
        for s in r.estimate.stages:
            if s.job.startswith(("train_target", "extract")):
                cells = shared.get((r.dataset, s.job), (0.0, 0))[1]
                shared[(r.dataset, s.job)] = (s.seconds(calib) + job_seconds(calib), max(cells, r.cells))
            else:
                own += s.seconds(calib) * r.cells
    return own + sum(sec * cells for sec, cells in shared.values())


def print_summary(config: Mapping, file=None, totals: Mapping[str, int] | None = None) -> None:
    """The workflow's start-up summary (stderr): the cost estimate, and each grid value of
    n_anomalies that a cap or "half" changes. Reads headers, split.json files, the documented
    sizes and user files only; a failure of the estimate is reported, never stops the run."""
    out = file or sys.stderr
    try:
        lines = summary_lines(plan_run(config, totals=totals))
    except Exception as err:  # noqa: BLE001 - an estimate must not block a run
        print(f"cost estimate: skipped ({type(err).__name__}: {err})", file=out)
        from alarmbench import grid

        for line in grid.n_notes(config, totals):  # the effective n is said even then
            print(line, file=out)
        return
    print("cost estimate (one cell, 1 CPU thread; alarmbench/plan):", file=out)
    for line in lines:
        print(f"  {line}", file=out)
