# Grid expansion and input functions shared by the rules (the logic lives in alarmbench.grid).
import json
from pathlib import Path

from alarmbench import device, grid, methods, stages
from alarmbench.data import registry

USER = config.get("user_datasets") or {}
RESULTS = config["results_dir"]
JOBS = grid.expand(config)
grid.validate_methods(JOBS)
CELLS = sorted({j.cell for j in JOBS})
RUN = config["run"]
GPU = device.gpu_claim(RUN["device"])  # each training job's `resources: gpu`
TARGET_OF_FILE = {}  # file stem -> target name (the file depends on method options)


def method_options(method):
    return config["method_options"].get(method, {})


def run_params(w, options):
    """What a training job needs to know (epochs resolved for its data set); part of `params`,
    so a change reruns exactly its jobs."""
    return dict(RUN, epochs=grid.epochs_for(RUN, w.dataset), options=options)


def target_options(target):
    """Options that shape a shared target: those of the methods that use it (they must agree)."""
    users = [m for m in stages.TARGETS[target][1] if m in config["method_options"]]
    return method_options(users[0]) if users else {}


def target_stem(target):
    stem = stages.target_file(target, target_options(target))[: -len(".pt")]
    TARGET_OF_FILE[stem] = target
    return stem


for _t in stages.TARGETS:
    target_stem(_t)


def spec(dataset):
    return registry.get(dataset, USER)


def cell_dir(w):
    return f"{RESULTS}/{w.dataset}/{w.experiment}/n{w.n}_p{w.p}/seed{w.seed}"


def group_dir(w):
    group = grid.target_group(spec(w.dataset), w.experiment)
    return f"{RESULTS}/{w.dataset}/_targets/{group}_p{w.p}/seed{w.seed}"


def target_inputs(w):
    return [f"{group_dir(w)}/{target_stem(t)}.pt" for t in stages.targets_for(w.method)]


def feature_dirs(w, kind):
    return {part: f"{cell_dir(w)}/features/{kind}/{part}" for part in ("train", "val", "test")}


def feature_inputs(w):
    return [d for kind in stages.features_for(w.method) for d in feature_dirs(w, kind).values()]


def max_fpr(w):
    if not w.experiment.startswith(config["a3_experiments_only"]):
        return None
    return config["max_fpr"].get(w.dataset, config["max_fpr"].get("default", 0.05))


def raw_digest(w):
    """The sha256 of each raw file, once fetched (a param: changed content reruns `prepare`)."""
    manifest = Path(config["raw_dir"]) / w.dataset / "manifest.json"
    if not manifest.exists():
        return {}
    return {name: f["sha256"] for name, f in json.loads(manifest.read_text())["files"].items()}


def loader_source(w):
    return grid.loader_sources(spec(w.dataset))


code_hash = grid.code_hash
method_code = grid.method_sources


def target_code(target):
    """Code hash of a target's trainer: its method module plus the shared target code."""
    method = stages.TARGETS[target][1][0]
    return code_hash([str(grid.SRC / "methods" / "targets.py")] + method_code(method))


CELL_METHODS = {}  # cell path -> its methods, sorted
for _j in JOBS:
    CELL_METHODS.setdefault(_j.cell.path, []).append(_j.method)


def cell_methods(w):
    return sorted(CELL_METHODS[f"{w.dataset}/{w.experiment}/n{w.n}_p{w.p}/seed{w.seed}"])


def metrics_files():
    return [f"{RESULTS}/{cell.path}/metrics.json" for cell in CELLS]


def final_outputs():
    rep = config["reports_dir"]
    return [f"{rep}/results.csv", f"{rep}/metrics.json", f"{rep}/report.tex"]


wildcard_constraints:
    dataset="[A-Za-z0-9_\-]+",
    experiment="[A-Za-z0-9\-]+",
    n="[0-9]+",
    p="[0-9.e\-]+",
    seed="[0-9]+",
    method="[A-Za-z0-9\-:]+",
    group="[A-Za-z0-9\-]+",
