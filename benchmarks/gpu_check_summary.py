"""The summary of benchmarks/gpu_check.sh (Markdown, printed and written to DEST/summary.md), and
the check of its workflow step's dry run (--check-plan).

    python benchmarks/gpu_check_summary.py DEST --results results/gpu-check
    python benchmarks/gpu_check_summary.py --check-plan dry_run.txt --methods r2ad2,devnet,a3,ae --gpu 1

DEST holds what the script wrote: environment.txt, steps.tsv (step, budget, wall, rc), logs/<step>.log,
alarm-<precision>.json (benchmarks/alarm_training.py --json) and workflow-results.csv.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from importlib import resources
from pathlib import Path

TARGET_OF_BF16_PEAK = 0.25  # R2-AD2 alarm training at bf16 (issue 18)
PAPER_NAMES = {"r2ad2": "R2-AD2", "ae": "AE", "devnet": "DevNet", "a3": "A3"}  # r2ad2_table3_known.csv
CELL = ("nsl_kdd_20", "known", "110")


def status(rc: str) -> str:
    if rc == "0":
        return "ok"
    if rc in ("124", "137"):
        return "**TIMEOUT**"
    return f"**FAILED** ({rc})"


def read_steps(dest: Path) -> list[dict[str, str]]:
    path = dest / "steps.tsv"
    return list(csv.DictReader(path.open(), delimiter="\t")) if path.exists() else []


def log(dest: Path, step: str) -> str:
    path = dest / "logs" / f"{step}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def pytest_section(text: str) -> list[str]:
    lines = [l for l in text.splitlines() if re.match(r"^(FAILED|ERROR) ", l)]
    final = [l for l in text.splitlines() if re.search(r"\b(passed|failed|error|skipped|deselected)\b.* in [\d.]+s", l)]
    return [f"- {final[-1].strip('= ') if final else 'no pytest summary line (see logs/pytest.log)'}",
            *(f"  - {l}" for l in lines[:20])]


def alarm_section(dest: Path) -> list[str]:
    rows = ["| precision | samples/s | TFLOP/s | of bf16 peak | of TF32 peak | ms/step: counter-example grads, alarm, BN |",
            "| --- | ---: | ---: | ---: | ---: | --- |"]
    verdict, shape = [], []
    for precision in ("tf32", "bf16"):
        path = dest / f"alarm-{precision}.json"
        if not path.exists():
            rows.append(f"| {precision} | (no result: see logs/alarm-{precision}.log) | | | | |")
            continue
        f = json.loads(path.read_text())
        pct = {k: f"{f[f'of_peak_{k}']:.1%}" if f"of_peak_{k}" in f else "?" for k in ("bf16", "tf32")}
        ms = ", ".join(f"{v:.2f}" for v in f["ms_per_step"].values())
        rows.append(f"| {precision} | {f['samples_per_s']:,.0f} | {f['tflops']:.1f} | {pct['bf16']} | {pct['tf32']} | {ms} |")
        if precision == "bf16" and "of_peak_bf16" in f:
            met = f["of_peak_bf16"] >= TARGET_OF_BF16_PEAK
            verdict.append(f"- target ≥ {TARGET_OF_BF16_PEAK:.0%} of the bf16 peak ({f['peak_bf16']:.0f} TFLOP/s, "
                           f"{f['device_name']}): {'met' if met else '**not met**'} ({f['of_peak_bf16']:.1%})")
        shape = [f"- {f['dataset']} shapes: P = {f['n_params']}, k = {f['k']}, batch {f['batch']}, {f['steps']} steps"]
    return shape + rows + verdict


def gradients_section(text: str) -> list[str]:
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("model ")), None)
    if start is None:
        return ["(no table: see logs/gradients.log)"]
    table = [l for l in lines[start:] if l.strip()][:8]
    head = [l for l in lines[:start] if l.startswith("device ")]
    return ["```", *head, *table, "```"]


def paper_values() -> dict[str, tuple[str, str]]:
    text = resources.files("alarmbench").joinpath("data/paper/r2ad2_table3_known.csv").read_text()
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["dataset"] == "KDD"]
    return {r["method"]: (f"{float(r['auc_mean']):.2f} ± {float(r['auc_std']):.2f}",
                          f"{float(r['ap_mean']):.2f} ± {float(r['ap_std']):.2f}") for r in rows}


def workflow_section(dest: Path, results: Path | None) -> list[str]:
    values: dict[str, dict[str, str]] = {}
    csv_path = dest / "workflow-results.csv"
    if csv_path.exists():
        for r in csv.DictReader(csv_path.open()):
            if (r["dataset"], r["experiment"], r["seed"]) == CELL:
                values.setdefault(r["method"], {})[r["metric"]] = r["value"]
    devices = {}
    if results is not None:
        for fit in sorted(results.glob(f"{CELL[0]}/{CELL[1]}/n*/seed{CELL[2]}/*/fit.json")):
            devices[fit.parent.name] = json.loads(fit.read_text())
    paper = paper_values()
    rows = ["| method | test AUC | test AP | paper AUC (KDD) | paper AP | fit s | device, precision |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for m, label in PAPER_NAMES.items():
        v, info = values.get(m, {}), devices.get(m, {})
        auc_paper, ap_paper = paper.get(label, ("?", "?"))
        fit_s = v.get("fit_seconds") or info.get("fit_seconds")
        if fit_s is None:
            rows.append(f"| {m} | — | — | {auc_paper} | {ap_paper} | (not finished) | |")
            continue
        auc, ap_ = (f"{float(v[k]):.3f}" if k in v else "—" for k in ("test_auc", "test_ap"))
        rows.append(f"| {m} | {auc} | {ap_} | {auc_paper} | {ap_paper} | {float(fit_s):.1f} | "
                    f"{info.get('device', '—')}, {info.get('precision', '—')} |")
    return [f"- cell {CELL[0]}/{CELL[1]}, n = 100, seed {CELL[2]}, the papers' epochs (paper: NSL-KDD full "
            "training file, five seeds)", "", *rows, "", *job_seconds(dest)]


def job_seconds(dest: Path, bench: Path = Path("benchmarks/out")) -> list[str]:
    """Wall seconds of every workflow job that finished during this check (Snakemake's benchmark
    files, newer than the step's start): where the time went, also when the step ran out of it."""
    start_file = dest / "workflow.start"
    if not start_file.exists() or not bench.is_dir():
        return []
    start = float(start_file.read_text())
    rows = []
    for tsv in sorted(bench.rglob(f"*{CELL[0]}*/**/*.tsv")) + sorted(bench.glob(f"*/{CELL[0]}/*.tsv")):
        if tsv.stat().st_mtime >= start:
            first = next(csv.DictReader(tsv.open(), delimiter="\t"), None)
            if first is not None:
                rows.append(f"| {tsv.parts[len(bench.parts)]} | {tsv.stem} | {float(first['s']):.1f} | "
                            f"{float(first['max_rss']):,.0f} |")
    if not rows:
        return ["(no workflow job finished during the check)"]
    return ["| rule | job | wall s | max RSS MiB |", "| --- | --- | ---: | ---: |", *dict.fromkeys(rows)]


def summary(dest: Path, results: Path | None) -> str:
    steps = read_steps(dest)
    env = (dest / "environment.txt").read_text().strip() if (dest / "environment.txt").exists() else ""
    total = sum(float(s["wall_s"]) for s in steps)
    out = ["# GPU check", "", "```", env, "```", "",
           "| step | budget s | wall s | status |", "| --- | ---: | ---: | --- |",
           *(f"| {s['step']} | {s['budget_s']} | {s['wall_s']} | {status(s['rc'])} |" for s in steps),
           f"| total | {sum(int(s['budget_s']) for s in steps)} | {total:.1f} | "
           f"{'under 8 min' if total < 480 else '**over 8 min**'} |", ""]
    ran = {s["step"] for s in steps}
    if "pytest" in ran:
        out += ["## pytest -m gpu", "", *pytest_section(log(dest, "pytest")), ""]
    if ran & {"alarm-tf32", "alarm-bf16"}:
        out += ["## R2-AD2 alarm training (benchmarks/alarm_training.py)", "", *alarm_section(dest), ""]
    if "gradients" in ran:
        out += ["## Per-sample gradients (benchmarks/gradients.py -k 3)", "", *gradients_section(log(dest, "gradients")), ""]
    if "workflow" in ran:
        out += ["## Workflow: four jobs sharing the GPU (config/gpu-check.yaml)", "", *workflow_section(dest, results), ""]
    return "\n".join(out)


def check_plan(dry_run: str, methods: list[str], gpu: int) -> list[str]:
    """Problems with a `snakemake -n` output: a method without a fit job, or a fit without its GPU claim."""
    jobs, rule = [], None
    for line in dry_run.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            rule = m.group(1)
            jobs.append({"rule": rule})
        elif rule and (m := re.match(r"^(wildcards|resources): (.*)$", line.strip())):
            jobs[-1][m.group(1)] = m.group(2)
    fits = {re.search(r"method=([^,\s]+)", j.get("wildcards", "")).group(1): j.get("resources", "")
            for j in jobs if j["rule"] == "fit_score"}
    problems = [f"no fit_score job for {m}" for m in methods if m not in fits]
    for m, res in fits.items():
        claim = re.search(r"\bgpu=\d+", res)
        if claim is None or claim.group(0) != f"gpu={gpu}":
            problems.append(f"fit_score {m} claims {claim.group(0) if claim else 'no gpu'}, expected gpu={gpu}")
    print(f"  planned: {len(jobs)} jobs; fit_score for {', '.join(sorted(fits)) or 'nothing'}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", type=Path, nargs="?", help="the GPU check's output folder")
    ap.add_argument("--results", type=Path, default=None, help="the workflow step's results_dir")
    ap.add_argument("--check-plan", type=Path, default=None, help="a `snakemake -n` output to check instead")
    ap.add_argument("--methods", default="r2ad2,devnet,a3,ae", help="methods the dry run must fit (--check-plan)")
    ap.add_argument("--gpu", type=int, default=1, help="the GPU claim every fit must make (--check-plan)")
    args = ap.parse_args(argv)
    if args.check_plan is not None:
        problems = check_plan(args.check_plan.read_text(), args.methods.split(","), args.gpu)
        for p in problems:
            print(f"  MISSING: {p}")
        return 1 if problems else 0
    if args.dest is None:
        ap.error("DEST is required")
    text = summary(args.dest, args.results)
    (args.dest / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
