"""What a process imports before it works (issue 25): the Snakefile parses, and jobs that train
nothing run, without torch (≈ 3 s CPU each time); the Snakefile also without scipy and pandas.

Each check runs its imports in a fresh interpreter and reads its `sys.modules`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = [ROOT / "Snakefile", ROOT / "workflow" / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


def loaded_after(code: str) -> set[str]:
    """The top-level packages in sys.modules after a fresh interpreter runs `code`."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=ROOT)
    return set(json.loads(out.stdout.splitlines()[-1]))


def snakefile_imports() -> list[str]:
    """Every import statement in the Snakefile and its rule files (also those inside functions)."""
    found = []
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            if re.match(r"\s*(import \w|from [\w.]+ import )", line):
                found.append(line.strip())
    return found


def test_the_snakefile_parses_without_torch_scipy_or_pandas() -> None:
    imports = snakefile_imports()
    assert any("alarmbench.methods" in s for s in imports) and any("peer" in s for s in imports)  # the probe sees them
    # gpu_claim("auto") runs at parse time too: it must answer without torch
    loaded = loaded_after("\n".join([*imports, "from alarmbench import device", "device.gpu_claim('auto')"]))
    assert "alarmbench" in loaded
    assert not loaded & {"torch", "scipy", "pandas", "sklearn"}, sorted(loaded & {"torch", "scipy", "pandas", "sklearn"})


# One cell's jobs that train nothing, run as the workflow's scripts run them (stage function under
# `logged`), each followed by the heavy packages loaded so far. torch, once loaded, would stay: the
# order does not hide a stage that imports it, the first one to do so is named.
CELL_JOBS = r'''
import json, sys
from pathlib import Path

import pytest
from types import SimpleNamespace
d = Path(sys.argv[1])
HEAVY = {"torch", "sympy", "scipy", "pandas", "sklearn"}
def loaded():
    return sorted({m.split(".")[0] for m in sys.modules} & HEAVY)
def job(rule):
    return SimpleNamespace(rule=rule, wildcards={}, threads=1, resources={"gpu": 0, "_cores": 1})
RUN = {"epochs": 1, "device": "cpu", "precision": "tf32", "threads": 1, "options": {}, "checkpoint_every_s": 0}
seen = {}
from alarmbench.workflow_log import logged
from alarmbench.stages.data import fetch_stage, prepare_stage
with logged(str(d / "fetch.log"), job("fetch")):
    fetch_stage(dataset="breast_cancer", raw_dir=str(d / "raw"), mirror=None, manifest=str(d / "raw/m.json"))
seen["fetch"] = loaded()
with logged(str(d / "prepare.log"), job("prepare")):
    prepare_stage(dataset="breast_cancer", manifest=str(d / "raw/m.json"), out=str(d / "prepared.npz"))
seen["prepare"] = loaded()
from alarmbench.stages.split import split_stage
with logged(str(d / "split.log"), job("split")):
    split_stage(prepared=str(d / "prepared.npz"), dataset="breast_cancer", experiment="known", seed=110,
                n_anomalies=20, pollution=0.0, protocol={}, out_npz=str(d / "split.npz"), out_json=str(d / "split.json"))
seen["split"] = loaded()
from alarmbench.stages.fit import fit_score_stage
for m in ("iforest", "gbdt", "gbdt-od"):
    with logged(str(d / f"{m}.log"), job("fit_score")):
        fit_score_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, method=m, run=RUN,
                        code="test", targets_dir=str(d / "targets"), features={}, work_dir=str(d / "work" / m),
                        out_scores=str(d / m / "scores.npz"), out_info=str(d / m / "fit.json"))
    seen[f"fit_score {m}"] = loaded()
from alarmbench.stages.evaluate import cell_record, evaluate_stage
cell = cell_record(dataset="breast_cancer", experiment="known", n_anomalies=20, pollution=0.0, seed=110, epochs=1)
ms = ["iforest", "gbdt", "gbdt-od"]
with logged(str(d / "evaluate.log"), job("evaluate")):
    evaluate_stage(split_npz=str(d / "split.npz"), methods=ms, scores_npz=[str(d / m / "scores.npz") for m in ms],
                   info_json=[str(d / m / "fit.json") for m in ms], cell=cell, max_fpr=None, out=str(d / "metrics.json"))
seen["evaluate"] = loaded()
from alarmbench.evaluate.aggregate import collect
with logged(str(d / "aggregate.log"), job("aggregate")):
    collect([str(d / "metrics.json")], out_csv=str(d / "results.csv"), roc_csv=str(d / "roc.csv"))
seen["aggregate"] = loaded()
print(json.dumps(seen))
'''


@pytest.fixture(scope="module")
def stage_imports(tmp_path_factory) -> dict[str, list[str]]:
    d = tmp_path_factory.mktemp("cell")
    out = subprocess.run([sys.executable, "-c", CELL_JOBS, str(d)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=d)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("stage", ["fetch", "prepare", "split", "fit_score iforest", "fit_score gbdt",
                                   "fit_score gbdt-od", "evaluate", "aggregate"])
def test_a_job_that_trains_nothing_does_not_import_torch(stage_imports, stage) -> None:
    assert "torch" not in stage_imports[stage], f"{stage}: {stage_imports[stage]}"


@pytest.mark.slow
def test_a_dry_run_of_the_default_config_imports_no_torch_or_scipy(tmp_path) -> None:
    # The whole parse, not only its import lines: functions it calls may import lazily (the cost
    # estimate printed at the DAG build counts network sizes in closed form, plan/sizes.py).
    from workdirs import copy_workflow

    copy_workflow(tmp_path, config=True)
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--cores", "1"], cwd=tmp_path,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 0, out.stderr[-3000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    # pandas is not checked here: Snakemake's own `validate` imports it (to ask whether the config is
    # a DataFrame), as it does in any workflow that validates its config.
    assert "snakemake" in imported and not imported & {"torch", "scipy"}, sorted(imported & {"torch", "scipy"})
