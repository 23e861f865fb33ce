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


# One cell's jobs, each run as the workflow's script runs it (stage function under `logged`) in its
# own fresh interpreter, in the workflow's order (each reads what the one before wrote); each prints
# the heavy packages it loaded. The training jobs are the cheapest of their kind (1 epoch).
STAGE_JOB = r"""
import json, sys
from pathlib import Path
from types import SimpleNamespace
from alarmbench.workflow_log import logged
d, stage = Path(sys.argv[1]), sys.argv[2]
RUN = {"epochs": 1, "device": "cpu", "precision": "tf32", "threads": 1, "options": {}, "checkpoint_every_s": 0}
PARTS = {p: str(d / "features" / p) for p in ("train", "val", "test")}
job = SimpleNamespace(rule=stage, wildcards={}, threads=1, resources={"gpu": 0, "_cores": 1})
with logged(str(d / f"{stage}.log"), job):
    if stage == "fetch":
        from alarmbench.stages.data import fetch_stage
        fetch_stage(dataset="breast_cancer", raw_dir=str(d / "raw"), mirror=None, manifest=str(d / "raw/m.json"))
    elif stage == "prepare":
        from alarmbench.stages.data import prepare_stage
        prepare_stage(dataset="breast_cancer", manifest=str(d / "raw/m.json"), out=str(d / "prepared.npz"))
    elif stage == "split":
        from alarmbench.stages.split import split_stage
        split_stage(prepared=str(d / "prepared.npz"), dataset="breast_cancer", experiment="known", seed=110,
                    n_anomalies=20, pollution=0.0, protocol={}, out_npz=str(d / "split.npz"),
                    out_json=str(d / "split.json"))
    elif stage == "train_target ae":
        from alarmbench.stages.target import train_target_stage
        train_target_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, target="ae", run=RUN,
                           code="test", out=str(d / "targets/ae.pt"))
    elif stage == "extract activations":
        from alarmbench.stages.extract import extract_stage
        extract_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, kind="activations",
                      run=RUN, target=str(d / "targets/ae.pt"), out_dirs=PARTS)
    elif stage.startswith("fit_score"):
        from alarmbench.stages.fit import fit_score_stage
        m = stage.split()[1]
        features = {"activations": PARTS} if m == "a3" else {}
        fit_score_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, method=m, run=RUN,
                        code="test", targets_dir=str(d / "targets"), features=features, work_dir=str(d / "work" / m),
                        out_scores=str(d / m / "scores.npz"), out_info=str(d / m / "fit.json"))
    elif stage == "evaluate":
        from alarmbench.stages.evaluate import cell_record, evaluate_stage
        cell = cell_record(dataset="breast_cancer", experiment="known", n_anomalies=20, pollution=0.0, seed=110,
                           epochs=1)
        ms = ["iforest", "devnet"]
        evaluate_stage(split_npz=str(d / "split.npz"), methods=ms, scores_npz=[str(d / m / "scores.npz") for m in ms],
                       info_json=[str(d / m / "fit.json") for m in ms], cell=cell, max_fpr=0.05,
                       out=str(d / "metrics.json"))
    elif stage == "aggregate":
        from alarmbench.evaluate.aggregate import collect
        collect([str(d / "metrics.json")], out_csv=str(d / "results.csv"), roc_csv=str(d / "roc.csv"))
    else:
        raise ValueError(stage)
HEAVY = ("torch", "torch._dynamo", "sympy", "scipy", "pandas", "sklearn")
print(json.dumps([m for m in HEAVY if m in sys.modules]))
"""
TRAINS_NOTHING = ["fetch", "prepare", "split", "fit_score iforest", "fit_score gbdt", "fit_score gbdt-od", "evaluate",
                  "aggregate"]
TRAINS = ["train_target ae", "extract activations", "fit_score devnet", "fit_score a3"]
ORDER = ["fetch", "prepare", "split", *TRAINS, "fit_score iforest", "fit_score gbdt", "fit_score gbdt-od", "evaluate",
         "aggregate"]
# scikit-learn where it defines the work: the embedded table's loader (prepare), the split
# protocol's train_test_split draws (split), the classical detectors; pandas for results.csv.
SKLEARN = {"prepare", "split", "fit_score iforest", "fit_score gbdt", "fit_score gbdt-od"}
PANDAS = {"aggregate"}


@pytest.fixture(scope="module")
def stage_imports(tmp_path_factory) -> dict[str, list[str]]:
    d = tmp_path_factory.mktemp("cell")
    seen = {}
    for stage in ORDER:
        out = subprocess.run([sys.executable, "-c", STAGE_JOB, str(d), stage], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=d)
        assert out.returncode == 0, f"{stage}: {out.stderr[-3000:]}"
        seen[stage] = json.loads(out.stdout.splitlines()[-1])
    return seen


@pytest.mark.parametrize("stage", TRAINS_NOTHING)
def test_a_job_that_trains_nothing_does_not_import_torch(stage_imports, stage) -> None:
    assert "torch" not in stage_imports[stage], f"{stage}: {stage_imports[stage]}"


@pytest.mark.parametrize("stage", ORDER)
def test_no_job_imports_torch_dynamo(stage_imports, stage) -> None:
    """torch.optim imports torch._dynamo (≈ 1.5 s CPU, with sympy) on its first optimiser call;
    nets/optim.py's classes do not. Not covered: GradCon and the vmap gradient engine (conv targets),
    whose torch.func.grad enters `torch._dynamo.compiled_autograd._disable()` on every call (torch 2.13)."""
    assert "torch._dynamo" not in stage_imports[stage] and "sympy" not in stage_imports[stage], stage_imports[stage]


@pytest.mark.parametrize("stage", ORDER)
def test_scipy_sklearn_and_pandas_only_where_they_do_the_work(stage_imports, stage) -> None:
    loaded = set(stage_imports[stage])
    allowed = ({"sklearn", "scipy", "pandas"} if stage in SKLEARN else set()) | ({"pandas"} if stage in PANDAS else set())
    assert not loaded & {"sklearn", "scipy", "pandas"} - allowed, f"{stage}: {sorted(loaded)}"


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
