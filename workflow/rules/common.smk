# Grid expansion, path patterns, code keys and input functions shared by the rules. What a method
# or target needs is declared once in alarmbench.methods.catalog; everything here derives from it.
import json
import sys
from functools import lru_cache
from pathlib import Path

from alarmbench import configcheck, device, grid, methods, plan, repairs, runkeys, slurm_profile, software, workflow_triggers
from alarmbench.codekeys import code_key, package_data
from alarmbench.data import protocols, registry
from alarmbench.evaluate.threshold_source import threshold_sources
from alarmbench.fileio import sha256_file
from alarmbench.methods import catalog
from alarmbench.worker import hooks as warm_worker
from alarmbench.workflow_functions import per_wildcards

configcheck.check_config(config)  # before any job: names the key, the value and what is accepted
slurm_profile.guard(workflow)  # SLURM runs: checked before the first submission; a lost job ends the run
warm_worker.register(workflow)  # a local run's jobs skip the Python start-up (alarmbench.worker)

USER = config.get("user_datasets") or {}
RESULTS = config["results_dir"]
TOTALS = grid.anomaly_totals(config)  # user files read once here: the cap rule before any job
JOBS = grid.expand(config, TOTALS)
GRID_N = grid.requested_n(config, TOTALS)  # cell path -> the config's n values (recorded in split.json)
configcheck.check_jobs(JOBS)
CELLS = sorted({j.cell for j in JOBS})
if workflow.is_main_process:  # the cost estimate, once per run (not again inside each job)
    plan.print_summary(config, totals=TOTALS)  # with the effective n where a cap changes a grid's value
RUN = config["run"]
# run.device resolved once ("auto" asks the CUDA driver): the job keys below read this copy, not a
# driver call per job (runkeys.device_kind gives "cuda" or "cpu" the same key as the setting they stand for)
KEY_RUN = {**RUN, "device": runkeys.device_kind(RUN.get("device"))}
SOFTWARE_RERUN = software.switch(config["software_rerun"])  # alarmbench.software: rerun results made with other versions
GPU = device.gpu_claim(RUN["device"])  # each training job's `resources: gpu`

# Path patterns, defined once: a cell, and a target group's shared folder.
CELL = f"{RESULTS}/{{dataset}}/{{experiment}}/n{{n}}_p{{p}}/seed{{seed}}"
GROUP = f"{RESULTS}/{{dataset}}/_targets/{{group}}_p{{p}}/seed{{seed}}"
LOGS = "logs"
BENCH = "benchmarks/out"


def method_options(method):
    return config["method_options"].get(method, {})


# Shared target files: stem -> (target, the options that shaped it). A method's targets are named
# by its own shaping options, so methods whose options differ read different files (and jobs), and
# by its epochs where they are not the data set's run.epochs (run.method_epochs): then they sit in
# a folder of their own, `e<k>/` or `epaper/` (the trainers store `<targets dir>/<file>`).
TARGET_FILES = {}


# The helpers below with plain arguments are cached (lru_cache): each is a function of its arguments
# and the configuration, and a DAG build asks the same question for many jobs (issue 25). Rule
# functions that depend on a few of their job's wildcards are `per_wildcards` (one call per
# combination of those, alarmbench.workflow_functions).
@lru_cache(maxsize=None)
def epochs_folder(method, dataset):
    """'' where `method` trains at the data set's run.epochs, else its own folder for its targets."""
    epochs = grid.epochs_for(RUN, dataset, method)
    if epochs == grid.epochs_for(RUN, dataset):
        return ""
    return f"e{'paper' if epochs is None else epochs}"


def stem_epochs(stem, dataset):
    """The epochs a target file's job trains for: its folder's, else the data set's run.epochs."""
    folder = Path(stem).parent.name.removeprefix("e")
    if not folder:
        return grid.epochs_for(RUN, dataset)
    return None if folder == "paper" else int(folder)


@lru_cache(maxsize=None)  # the check below runs on the first call of each combination, as before
def target_stem(target, method, dataset):
    shaping = catalog.shaping_options(target, method_options(method))
    stem = str(Path(epochs_folder(method, dataset), catalog.target_file(target, shaping).removesuffix(".pt")))
    if TARGET_FILES.setdefault(stem, (target, shaping)) != (target, shaping):
        raise ValueError(f"target file {stem}.pt would hold two different targets: {TARGET_FILES[stem]} and "
                         f"{(target, shaping)}; give them distinct names in methods/catalog.py")
    return stem


@lru_cache(maxsize=None)
def method_target_stems(method, dataset):
    """The target files a method's fit reads (its own targets and those of its cached features)."""
    return tuple(target_stem(t, method, dataset) for t in catalog.targets_read(method))


for _job in JOBS:  # every file known before any job, for the train_target rule's wildcard
    for _t in catalog.targets_read(_job.method):
        target_stem(_t, _job.method, _job.cell.dataset)
        if catalog.TARGETS[_t].starts_from:
            target_stem(catalog.TARGETS[_t].starts_from, _job.method, _job.cell.dataset)


# Each job's run settings (alarmbench.runkeys): only those that can change its output, canonical.
# The scripts add what a job reads as configured (runkeys.job_run), so changing that reruns nothing.
@per_wildcards("tfile", "dataset")
def target_run(w):
    return runkeys.job_key(KEY_RUN, epochs=stem_epochs(w.tfile, w.dataset), trains=True,
                           options=TARGET_FILES[w.tfile][1])


@per_wildcards("tfile")
def extract_run(w):
    return runkeys.job_key(KEY_RUN, reads_features=True, options=TARGET_FILES[w.tfile][1])


@per_wildcards("dataset", "method")
def fit_run(w):
    decl = catalog.method(w.method)
    return runkeys.job_key(KEY_RUN, epochs=grid.epochs_for(RUN, w.dataset, w.method), trains=decl.trains,
                           reads_features=bool(decl.features), cpu_only=methods.cpu_only(w.method),
                           autocasts=decl.trains, options=method_options(w.method))


def cell_epochs(w):
    """Method -> the epochs its training loops ran in this cell (recorded in each metrics record)."""
    return {m: grid.epochs_for(RUN, w.dataset, m) for m in cell_methods(w)}


def user_entry(w):
    """The user data set's own entry (a param: another data set's entry reruns nothing here)."""
    return runkeys.canonical({w.dataset: USER[w.dataset]}) if w.dataset in USER else {}


# Where no user data set is configured every job's `user` param is {}: a value, not a function
# (Snakemake calls a param function once per job; the recorded param is the same value).
USER_ENTRY = user_entry if USER else {}


def damaged_inputs(w, **job):
    """The records of this job's inputs that a job removed, found damaged or as its own outputs
    when it failed on one (alarmbench.repairs; None for nearly every job): a param, so that the
    jobs which read such a file rerun, and with them its producer, although the results
    downstream of it are still present. `**job` and not `input`: Snakemake leaves a param whose
    function names `input` out of the params it compares (it would follow the input's content);
    this one depends on the input's paths only, which the wildcards fix."""
    return repairs.history(job["input"])


# Where no removal is recorded (nearly always) every job's value of damaged_inputs is None: then
# the value itself, not the function (Snakemake calls a param function once per job, and `**job`
# makes it compute the job's resources for it). Any record file, even one cut short, keeps the
# function; records are read once per process either way (repairs._records), so both give every
# job the same value.
DAMAGED = damaged_inputs if any(repairs.FOLDER.glob("*.json")) else None


def split_protocol(w):
    """The split switches of a cell's (or a target group's) experiment, `protocol.a3_split`
    resolved (a param of both split rules: changing it reruns exactly the A³ experiments' splits)."""
    return protocols.cell_protocol(config["protocol"], w.get("experiment") or w.group, config["a3_experiments_only"])


def spec(dataset):
    return registry.get(dataset, USER)


def cell_dir(w):
    return CELL.format(**dict(w.items()))


@lru_cache(maxsize=None)
def target_group(dataset, experiment):
    return grid.target_group(spec(dataset), experiment)


def group_dir(w):
    return GROUP.format(dataset=w.dataset, group=target_group(w.dataset, w.experiment), p=w.p, seed=w.seed)


def target_inputs(w):
    return [f"{group_dir(w)}/{stem}.pt" for stem in method_target_stems(w.method, w.dataset)]


def targets_dir(w):
    """Where a fit's targets sit: the group's folder, or its epochs folder in it."""
    return str(Path(group_dir(w), epochs_folder(w.method, w.dataset)))


def pretrained_input(w):
    """The file a target starts from (Deep SVDD from the DeepSVDD-AE), a declared input (in the
    same epochs folder)."""
    target, shaping = TARGET_FILES[w.tfile]
    start = catalog.TARGETS[target].starts_from
    if not start:
        return []
    return [str(Path(GROUP.format(**dict(w.items())), Path(w.tfile).parent, catalog.target_file(start, shaping)))]


def feature_target(w):
    """The target file an extract job reads."""
    return f"{group_dir(w)}/{w.tfile}.pt"


def feature_dirs(w, kind):
    stem = target_stem(catalog.FEATURES[kind].target, w.method, w.dataset)
    return {part: f"{cell_dir(w)}/features/{kind}/{stem}/{part}" for part in ("train", "val", "test")}


def method_features(w):
    return {kind: feature_dirs(w, kind) for kind in catalog.method(w.method).features}


def feature_inputs(w):
    return [d for parts in method_features(w).values() for d in parts.values()]


def max_fpr(w):
    if not w.experiment.startswith(config["a3_experiments_only"]):
        return None
    return config["max_fpr"].get(w.dataset, config["max_fpr"].get("default", 0.05))


# Where each A³ threshold is chosen (docs/protocol.md#a3-threshold, `a3_threshold`): cell path -> method -> the
# metrics.json of the cell whose validation part chooses it (the largest n of the known-anomaly
# experiment), or None where the cell chooses its own.
def _is_a3(cell):
    return cell.experiment.startswith(config["a3_experiments_only"])


THRESHOLD_FROM = {}
for _job, _src in threshold_sources(JOBS, spec, applies=_is_a3, rule=config["a3_threshold"]).items():
    THRESHOLD_FROM.setdefault(_job.cell.path, {})[_job.method] = (
        None if _src == _job.cell else f"{RESULTS}/{_src.path}/metrics.json")


def threshold_from(w):
    """Method -> the metrics.json its threshold is read from (a param: a change reruns the cell)."""
    return THRESHOLD_FROM.get(f"{w.dataset}/{w.experiment}/n{w.n}_p{w.p}/seed{w.seed}", {})


def threshold_inputs(w):
    return sorted({f for f in threshold_from(w).values() if f})


# ------------------------------------------------------------------------------ data contents
_sha256 = lru_cache(maxsize=None)(sha256_file)  # once per DAG build: fetch and prepare both ask


def user_file(w):
    """A user data set's files (inputs of fetch; missing, it is an error before any job). Also
    where the run's rerun triggers become content-only (workflow_triggers: an input function of
    fetch runs in every DAG build, after the run's settings arrive and before anything is decided)."""
    from alarmbench.data.userdata import user_files

    workflow_triggers.content_only(workflow)
    return user_files(USER[w.dataset]) if w.dataset in USER else []


def user_digest(w):
    """The content hash of a user data set's files (a param: an edit reruns fetch and prepare)."""
    if w.dataset not in USER:
        return None
    digests = [_sha256(f) for f in user_file(w)]
    return digests[0] if len(digests) == 1 else digests  # one file: the same param as before test parts


def raw_digest(w):
    """The sha256 of each raw file, once fetched (a param: changed content reruns `prepare`)."""
    manifest = Path(config["raw_dir"]) / w.dataset / "manifest.json"
    if not manifest.exists():
        return {}
    return {name: f["sha256"] for name, f in json.loads(manifest.read_text())["files"].items()}


# ------------------------------------------------------------------------------ code keys
# Each job's key covers its workflow/scripts file by content, the alarmbench modules that file
# imports, and those its method/target/feature/loaders import at run time (alarmbench.codekeys).
# Snakemake's own `code` trigger (script timestamps) is off (workflow_triggers).
SCRIPTS = Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parent / "scripts"


@lru_cache(maxsize=None)
def script_code(script, *modules):
    return code_key(str(SCRIPTS / script), *modules)


@per_wildcards("dataset")
def prepare_code(w):
    return script_code("prepare.py", *grid.loader_modules(spec(w.dataset)))


@per_wildcards("tfile")
def target_code(w):
    return script_code("train_target.py", catalog.TARGETS[TARGET_FILES[w.tfile][0]].module)


@per_wildcards("kind")
def extract_code(w):
    extractor = catalog.FEATURES[w.kind].extractor.split(":")[0]
    return script_code("extract.py", f"alarmbench.features.{extractor}")


@per_wildcards("method")
def fit_code(w):
    return script_code("fit_score.py", f"alarmbench.methods.{catalog.method(w.method).module}")


# ------------------------------------------------------------------------------ software versions
def fit_software(w):
    return software.job_param(f"{cell_dir(w)}/{w.method}/fit.json", SOFTWARE_RERUN)


def target_software(w):
    return software.job_param(f"{GROUP.format(**dict(w.items()))}/{w.tfile}.seconds.json", SOFTWARE_RERUN)


def extract_software(w):
    return software.job_param(f"{cell_dir(w)}/features/{w.kind}/{w.tfile}/train/seconds.json", SOFTWARE_RERUN)


if workflow.is_main_process:  # existing results made with other package versions: said once per run
    _stale = software.report([f"{RESULTS}/{j.cell.path}/{j.method}/fit.json" for j in JOBS], SOFTWARE_RERUN)
    if _stale:
        print(_stale, file=sys.stderr)


CELL_METHODS = {}  # cell path -> its methods, sorted
for _j in JOBS:
    CELL_METHODS.setdefault(_j.cell.path, []).append(_j.method)
for _methods in CELL_METHODS.values():
    _methods.sort()


def cell_methods(w):
    return list(CELL_METHODS[f"{w.dataset}/{w.experiment}/n{w.n}_p{w.p}/seed{w.seed}"])


def metrics_files():
    return [f"{RESULTS}/{cell.path}/metrics.json" for cell in CELLS]


def final_outputs():
    rep = config["reports_dir"]
    return [f"{rep}/results.csv", f"{rep}/metrics.json", f"{rep}/report.tex"]


wildcard_constraints:
    dataset=configcheck.DATASET_NAME,
    experiment="[A-Za-z0-9\-]+",
    n="[0-9]+|half",
    p="[0-9.e\-]+",
    seed="[0-9]+",
    method="[A-Za-z0-9\-:]+",
    group="[A-Za-z0-9\-]+",
