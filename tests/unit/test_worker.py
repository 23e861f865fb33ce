"""The warm worker without Snakemake (alarmbench.worker): a job handed to it runs with the
client's stdin/stdout/stderr, environment, working directory and arguments, and the client ends
with the job's status; a killed client takes its job with it; the server holds no alarmbench
module and no second thread; without a usable server the script runs in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from alarmbench import codekeys
from alarmbench.worker import ADDRESS, OFF, USAGE_PREFIX, hooks

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the worker is Linux's (pidfd)")

SRC = Path(__file__).resolve().parents[2] / "src"
# Before the client line: what the process had imported when the script began (the worker child's
# are the server's); after it, where the script runs.
HEAD = """import os, sys
BEFORE = sorted(m for m in sys.modules if m.split(".")[0] == "alarmbench")
from alarmbench.worker.client import delegate
{call}
"""


def _wait_for(condition, timeout: float = 120) -> None:
    end = time.time() + timeout
    while not condition():
        assert time.time() < end, "timed out"
        time.sleep(0.05)


def _server(preload: tuple[str, ...] = ()):
    w = hooks.Worker(parent=os.getpid(), env={**os.environ, "PYTHONPATH": str(SRC)}, preload=preload)  # the jobs'
    try:
        assert w.wait_ready(600)
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="module")
def worker():
    """A server that preloads NumPy only (quick to start): a job that finds it loaded ran in the worker."""
    yield from _server(("numpy",))


@pytest.fixture(scope="module")
def full_worker():
    """A server with the workflow's preload (torch, scikit-learn, ...)."""
    yield from _server()


def job(tmp_path: Path, body: str, worker=None, env: dict | None = None, call: str = "delegate()",
        **kw) -> subprocess.Popen:
    """Start `HEAD + body` as a job's script (in `tmp_path`, output into files there)."""
    script = tmp_path / "job.py"
    script.write_text(HEAD.format(call=call) + body)
    environ = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    environ.pop(OFF, None)
    if worker is not None:
        environ[ADDRESS] = worker.address
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        return subprocess.Popen([sys.executable, "job.py", "an argument"], cwd=tmp_path, env=environ,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, **kw)


def finished(tmp_path: Path, *args, **kw) -> tuple[int, str, str, int]:
    p = job(tmp_path, *args, **kw)
    code = p.wait(60)
    return code, (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text(), p.pid


REPORT = """print(json.dumps({"pid": os.getpid(), "cwd": os.getcwd(), "argv": sys.argv, "before": BEFORE,
                  "numpy": "numpy" in sys.modules, "torch": "torch" in sys.modules,
                  "x": os.environ.get("X"), "address": os.environ.get("%s")}))
print("to stderr", file=sys.stderr)
""" % ADDRESS


def test_a_job_runs_in_the_worker_with_its_streams_environment_and_folder(worker, tmp_path):
    code, out, err, client = finished(tmp_path, "import json\n" + REPORT, worker, env={"X": "set for this job"})
    assert code == 0, err
    seen = json.loads(out)
    assert seen["pid"] != client and seen["numpy"]  # a child of the server, which preloaded NumPy
    assert seen["cwd"] == str(tmp_path) and seen["argv"] == ["job.py", "an argument"]
    assert seen["x"] == "set for this job" and seen["address"] is None  # the job's own environment
    assert err == "to stderr\n"


def test_the_server_holds_torch_but_no_alarmbench_module_and_one_thread(full_worker, tmp_path):
    code, out, err, _ = finished(tmp_path, "import json\n" + REPORT, full_worker)
    seen = json.loads(out)
    assert code == 0 and seen["torch"] and seen["before"] == [], (out, err)
    assert len(os.listdir(f"/proc/{full_worker.process.pid}/task")) == 1  # no thread (pool) before a fork


@pytest.mark.parametrize("body, status, message", [
    ("sys.exit(3)\n", 3, ""),
    ("sys.exit('a message')\n", 1, "a message\n"),
    ("raise ValueError('boom')\n", 1, "ValueError: boom"),
])
def test_the_client_ends_with_the_jobs_status(worker, tmp_path, body, status, message):
    code, _, err, _ = finished(tmp_path, body, worker)
    assert code == status and message in err
    if "Traceback" in err:  # as Python prints it: from the script's frame, not runpy's
        assert "runpy" not in err and 'job.py", line 5' in err


def test_a_killed_client_takes_its_job_with_it(worker, tmp_path):
    p = job(tmp_path, "print(os.getpid(), flush=True)\nimport time\ntime.sleep(120)\n", worker)
    _wait_for(lambda: (tmp_path / "out.txt").read_text().strip() != "", 60)
    child = int((tmp_path / "out.txt").read_text())
    assert child != p.pid and Path(f"/proc/{child}").exists()
    p.kill()  # as Snakemake kills a job
    p.wait()
    _wait_for(lambda: not Path(f"/proc/{child}").exists(), 10)


def test_sigint_reaches_the_job(worker, tmp_path):
    p = job(tmp_path, "print(os.getpid(), flush=True)\nimport time\ntime.sleep(120)\n", worker)
    _wait_for(lambda: (tmp_path / "out.txt").read_text().strip() != "", 60)
    p.send_signal(signal.SIGINT)
    assert p.wait(30) == -signal.SIGINT  # Python's way to end on an uncaught KeyboardInterrupt
    assert "KeyboardInterrupt" in (tmp_path / "err.txt").read_text()


def test_the_usage_goes_to_the_jobs_log(worker, tmp_path):
    log = tmp_path / "job.log"
    call = f"delegate(type('Job', (), {{'log': [{str(log)!r}]}})())"
    code, _, err, _ = finished(tmp_path, "sum(range(10**6))\n", worker, call=call)
    assert code == 0, err
    line = log.read_text().splitlines()[-1]
    assert line.startswith(f"{USAGE_PREFIX} cpu ") and "peak memory" in line


@pytest.mark.parametrize("how", ["no server", "another host", "switched off", "another PYTHONPATH"])
def test_without_a_usable_worker_the_script_runs_here(worker, tmp_path, how):
    env = {"no server": {ADDRESS: f"{os.uname().nodename}:{tmp_path / 'none'}"},
           "another host": {ADDRESS: f"not-{os.uname().nodename}:{worker.socket}"},
           "switched off": {ADDRESS: worker.address, OFF: "0"},
           # Python would build another sys.path than the server's: it refuses the job
           "another PYTHONPATH": {ADDRESS: worker.address, "PYTHONPATH": f"{SRC}{os.pathsep}{tmp_path}"}}[how]
    script = tmp_path / "job.py"
    script.write_text(HEAD.format(call="delegate()") + "import json\n" + REPORT)
    p = subprocess.run([sys.executable, "job.py"], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(SRC), **env})  # the server's (the fixture's)
    assert p.returncode == 0, p.stderr
    seen = json.loads(p.stdout)
    assert not seen["numpy"] and seen["before"] == []  # its own fresh process: nothing preloaded


def test_the_server_ends_with_the_run_that_started_it(tmp_path):
    run = subprocess.Popen(["sleep", "600"])
    w = hooks.Worker(parent=run.pid, env={**os.environ, "PYTHONPATH": str(SRC)}, preload=("numpy",))
    try:
        run.kill()
        run.wait()
        w.process.wait(60)
        assert not os.path.exists(w.folder)  # its socket and folder gone with it
    finally:
        w.stop()


def _workflow(plugin="local", dry=False, touch=False, main=True):
    return SimpleNamespace(executor_plugin=SimpleNamespace(name=plugin), dryrun=dry, touch=touch, is_main_process=main)


@pytest.mark.parametrize("flow, env, wanted", [
    (_workflow(), {}, True),
    (_workflow(), {OFF: "0"}, False),
    (_workflow(), {OFF: "1"}, True),
    (_workflow(dry=True), {}, False),
    (_workflow(touch=True), {}, False),
    (_workflow(plugin="slurm"), {}, False),
    (_workflow(main=False), {}, False),
])
def test_a_worker_only_for_a_local_run_that_runs_jobs(monkeypatch, flow, env, wanted):
    monkeypatch.delenv(OFF, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert hooks.wanted(flow) is wanted


def test_the_worker_is_in_no_code_key(tmp_path):
    """Editing it reruns nothing: it decides where a job runs, not what it computes."""
    script = tmp_path / "script.py"
    script.write_text("from alarmbench.worker.client import delegate\nfrom alarmbench.grid import parse_n\n")
    keyed = codekeys._script_imports(script)  # noqa: SLF001
    assert "alarmbench.grid" in keyed and not any(m.startswith("alarmbench.worker") for m in keyed)
