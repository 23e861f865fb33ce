"""Job logs that say what ran (issue 16): one cell's jobs, fetch to fit, run through the stage
functions under `workflow_log.logged` as the workflow's scripts run them, and what their log files hold."""

from __future__ import annotations

import io
import os
import re
import warnings
from types import SimpleNamespace

import pytest
import torch

from alarmbench.runtime.loop import fit_epochs
from alarmbench.stages.data import fetch_stage, prepare_stage
from alarmbench.stages.extract import extract_stage
from alarmbench.stages.fit import fit_score_stage
from alarmbench.stages.split import split_stage
from alarmbench.stages.target import train_target_stage
from alarmbench.workflow_log import logged, to_console

EPOCHS = 2
RUN = {"epochs": EPOCHS, "device": "cpu", "precision": "tf32", "threads": 1, "options": {}, "checkpoint_every_s": 0}
TIME = r"\d+\.\d\d s"
BAR = re.compile(r"\r|\d+it/s|row/s\]|\|[#█▏▎▍▌▋▊▉ ]+\|")  # tqdm's carriage returns, rates and bar


def job(rule: str, **wildcards) -> SimpleNamespace:
    """What `logged` reads of a script's `snakemake` object."""
    return SimpleNamespace(rule=rule, wildcards=wildcards, threads=1, resources={"gpu": 0, "_cores": 1})


@pytest.fixture(scope="module")
def cell_logs(tmp_path_factory) -> dict[str, str]:
    """Log text of each job of one breast_cancer cell: fetch, prepare, split, train_target (AE),
    extract (activations), fit_score (A³), with EPOCHS epochs per training loop."""
    d = tmp_path_factory.mktemp("cell")
    logs = d / "logs"
    cell = {"dataset": "breast_cancer", "seed": "110"}
    with logged(str(logs / "fetch.log"), job("fetch", dataset="breast_cancer")):
        fetch_stage(dataset="breast_cancer", raw_dir=str(d / "raw"), mirror=None, manifest=str(d / "raw/m.json"))
    with logged(str(logs / "prepare.log"), job("prepare", dataset="breast_cancer")):
        prepare_stage(dataset="breast_cancer", manifest=str(d / "raw/m.json"), out=str(d / "prepared.npz"))
    with logged(str(logs / "split.log"), job("split", **cell)):
        split_stage(prepared=str(d / "prepared.npz"), dataset="breast_cancer", experiment="known", seed=110,
                    n_anomalies=20, pollution=0.0, protocol={}, out_npz=str(d / "split.npz"),
                    out_json=str(d / "split.json"))
    with logged(str(logs / "target.log"), job("train_target", **cell, tfile="ae")):
        # what a job's own code and its libraries may emit: a warning, print, a C library's write
        warnings.warn("planted warning inside the job", UserWarning)
        print("planted print inside the job")
        os.write(2, b"planted write to file descriptor 2\n")
        train_target_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, target="ae", run=RUN,
                           code="test", out=str(d / "targets/ae.pt"))
    parts = {p: str(d / "features" / p) for p in ("train", "val", "test")}
    with logged(str(logs / "extract.log"), job("extract", **cell, kind="activations")):
        extract_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, kind="activations", run=RUN,
                      target=str(d / "targets/ae.pt"), out_dirs=parts)
    with logged(str(logs / "fit.log"), job("fit_score", **cell, method="a3")):
        fit_score_stage(split_npz=str(d / "split.npz"), dataset="breast_cancer", seed=110, method="a3", run=RUN,
                        code="test", targets_dir=str(d / "targets"), features={"activations": parts},
                        work_dir=str(d / "work"), out_scores=str(d / "scores.npz"), out_info=str(d / "info.json"),
                        inputs=[str(d / "targets/ae.pt"), *parts.values()])
    return {p.stem: p.read_text() for p in logs.iterdir()}


def test_every_job_log_names_its_job_and_ends_with_its_time_and_memory(cell_logs):
    for name, rule in [("fetch", "fetch"), ("prepare", "prepare"), ("split", "split"), ("target", "train_target"),
                       ("extract", "extract"), ("fit", "fit_score")]:
        text = cell_logs[name]
        assert re.search(rf"job: rule {rule} \[.*dataset=breast_cancer", text), name
        assert re.search(r"host \S+, pid \d+", text), name
        assert re.search(rf"done after {TIME}, peak memory \d+ MiB\n$", text), name
        assert not BAR.search(text), f"progress bar text in the {name} log"


def test_training_job_logs_device_shapes_epochs_timings_and_what_the_job_printed(cell_logs):
    text = cell_logs["target"]
    assert "rule train_target [dataset=breast_cancer, seed=110, tfile=ae]" in text
    assert "device cpu, precision tf32, torch threads 1, epochs 2" in text
    # breast_cancer: 569 rows × 30 features; test 20 %, validation 5 % of the rest, 20 known anomalies
    assert re.search(r"split: train \d+×30 \(\d+ normal, 20 anomalous\), val \d+×30, test 114×30, target \d+×30",
                     text)
    losses = re.findall(rf"target/ae epoch (\d+)/{EPOCHS}: loss (\S+), {TIME}", text)
    assert [int(e) for e, _ in losses] == list(range(1, EPOCHS + 1))
    assert all(float(v) > 0 for _, v in losses)
    assert re.search(rf"checkpoint \S+ae\.ckpt at epoch 1: \d+\.\d\d MB in {TIME}", text)  # every 0 s
    assert re.search(rf"train and store ae: {TIME}", text) and re.search(rf"load split: {TIME}", text)
    assert re.search(r"WARNING py\.warnings: .*UserWarning: planted warning inside the job", text)
    assert "planted print inside the job\n" in text
    assert "planted write to file descriptor 2\n" in text


def test_split_extract_and_fit_logs_give_their_shapes_and_stage_timings(cell_logs):
    assert "prepared table: 569×30" in cell_logs["prepare"] and "prepared table: 569×30" in cell_logs["split"]
    assert re.search(rf"write split: {TIME}", cell_logs["split"])
    extract = cell_logs["extract"]
    for part in ("train", "val", "test"):
        assert re.search(rf"extract activations {part}: \d+ rows × \d+ float16 in {TIME} \(\d+ rows/s\)", extract)
    fit = cell_logs["fit"]
    assert "fit_score: method a3, data set breast_cancer, seed 110" in fit
    assert re.search(r"features activations: train \d+×\d+ float16, val \d+×\d+ float16, test 114×\d+ float16", fit)
    assert re.search(r"target ae: read \S+ae\.pt \(\d+\.\d\d MB\)", fit)
    assert [int(e) for e in re.findall(rf"\ba3 epoch (\d+)/{EPOCHS}: loss \S+, {TIME}", fit)] == [1, 2]
    for stage in ("load split", "fit a3", r"score a3 \(val, test\)", "write scores and record"):
        assert re.search(rf"{stage}: {TIME}", fit), stage


def test_a_failing_job_logs_its_traceback_after_what_it_said(tmp_path, capsys):
    log = tmp_path / "job.log"
    with pytest.raises(ZeroDivisionError):
        with logged(str(log), job("fit_score", method="ae")):
            print("before the error")
            1 / 0
    text = log.read_text()
    assert text.index("before the error") < text.index("failed after") < text.index("Traceback")
    assert "ZeroDivisionError" in capsys.readouterr().err  # the console gets it too
    print("after the job")  # stdout and stderr are the process's own again
    assert "after the job" in capsys.readouterr().out and "after the job" not in log.read_text()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _loop(progress: bool) -> None:
    fit_epochs(lambda idx: torch.tensor(1.0), 10, batch_size=4, epochs=3, generator=torch.Generator().manual_seed(0),
               desc="toy", progress=progress)


def test_the_training_bar_draws_on_a_terminal_only(monkeypatch, tmp_path):
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    _loop(progress=True)
    assert BAR.search(term.getvalue()) and "toy" in term.getvalue()
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a file: tqdm's own check turns the bar off
    _loop(progress=True)
    assert not BAR.search(__import__("sys").stderr.getvalue())
    monkeypatch.setattr("sys.stderr", term := Terminal())
    _loop(progress=False)  # --quiet
    assert term.getvalue() == ""


def test_cli_logs_on_stderr_unless_quiet(monkeypatch):
    import logging

    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    root = logging.getLogger()
    for quiet, shown in ((False, True), (True, False)):
        handler = to_console(quiet=quiet)
        try:
            _loop(progress=False)
            with warnings.catch_warnings():
                warnings.simplefilter("always")  # shown the second time too
                warnings.warn("visible either way", UserWarning)
        finally:
            root.removeHandler(handler)
            logging.captureWarnings(False)
        text = err.getvalue()
        err.seek(0)
        err.truncate(0)
        assert ("toy epoch 3/3: loss 1" in text) is shown
        assert "UserWarning: visible either way" in text


def test_console_logging_is_configured_once_and_follows_stderr(monkeypatch, tmp_path):
    import logging

    from alarmbench.cli import main

    def console():
        return [h for h in logging.getLogger().handlers if type(h).__name__ == "_Stderr"]

    main(["run", "--dataset", "digits", "--method", "devnet", "--seed", "1", "--option", "devnet_fixd=1",
          "--out", "x.json"])
    assert console() == []  # `alarmbench run` leaves no handler behind (several calls in one process)
    to_console()
    to_console(quiet=True)
    assert len(console()) == 1 and console()[0].level == logging.WARNING
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    logging.getLogger("alarmbench.test").warning("to the stderr of now")
    assert "WARNING alarmbench.test: to the stderr of now" in err.getvalue()
    with logged(str(tmp_path / "job.log")):  # a job's log file is the only place its lines go
        logging.getLogger("alarmbench.test").warning("into the log only")
    assert "into the log only" in (tmp_path / "job.log").read_text() and "into the log only" not in err.getvalue()
    assert len(console()) == 1  # back after the job
    logging.getLogger().removeHandler(console()[0])
