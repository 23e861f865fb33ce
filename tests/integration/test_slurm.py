"""The README's SLURM commands on a real single-node SLURM cluster that the test starts.

Installs Debian's slurm-wlm and munge where they are missing, writes a slurm.conf for this
machine (no accounting: slurmctld's job completion log is the scheduler's record), starts
munged, slurmctld and slurmd by hand in a temporary folder and stops them, by PID, at the end.
Skipped, saying why, where that cannot be done (not root, no apt-get, a SLURM already set up).
Every workflow run is bounded: on time-out Snakemake gets SIGINT (it cancels its SLURM jobs),
then is killed. A few minutes on a 2-core machine.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slurm

# The README's SLURM section, verbatim (tests/integration/test_slurm_profile.py checks that it is):
# the placeholders filled in with this cluster's account and partitions, then the run.
ACCOUNT, CPU_PARTITION, GPU_PARTITION = "alarmbench", "cpu", "gpu"
FILL = (f"sed -i -e 's/YOUR_ACCOUNT/{ACCOUNT}/' -e 's/CPU_PARTITION/{CPU_PARTITION}/' "
        f"-e 's/GPU_PARTITION/{GPU_PARTITION}/' profiles/slurm/config.yaml profiles/slurm/partitions.yaml")
TINY_CONFIG = "config/tiny.yaml"  # the tests' tiny run, shown in the README
RUN = f"snakemake --profile profiles/slurm --workflow-profile none --configfile {TINY_CONFIG}"
TINY = yaml.safe_load((ROOT / TINY_CONFIG).read_text())
LOCAL_RULES = {"evaluate", "aggregate", "report", "all"}  # localrule: they run on the submit host
PROFILE = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
SLURM_CONF = Path("/etc/slurm/slurm.conf")  # where the job's own srun looks (the jobstep drops $SLURM_CONF)
PACKAGES = {"slurmctld": "slurm-wlm", "slurmd": "slurm-wlm", "sbatch": "slurm-wlm", "munged": "munge"}
WORKFLOW_TIMEOUT_S = 480


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _sh(*cmd: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def _install_or_skip() -> None:
    missing = sorted({pkg for exe, pkg in PACKAGES.items() if shutil.which(exe) is None})
    if not missing:
        return
    if shutil.which("apt-get") is None:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)} missing) and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "slurm-wlm", "munge"]):
        done = _sh(*cmd, timeout=600, env=env)
        if done.returncode != 0:
            pytest.skip(f"could not install {', '.join(missing)} ({' '.join(cmd)}): {done.stderr[-500:]}")


def _node_line() -> tuple[str, str]:
    """This machine as slurmd sees it: NodeName (hostname -s), CPUs, sockets, cores, RealMemory."""
    line = _sh("slurmd", "-C").stdout.splitlines()[0]
    host = _sh("hostname", "-s").stdout.strip()
    return re.sub(r"^NodeName=\S+", f"NodeName={host}", line), host


def _slurm_conf(d: Path, node: str, host: str) -> str:
    return "\n".join([
        "ClusterName=alarmbench-test",
        f"SlurmctldHost={host}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={d}/munge.socket",
        f"StateSaveLocation={d}/state",
        f"SlurmdSpoolDir={d}/spool",
        f"SlurmctldPidFile={d}/slurmctld.pid",
        f"SlurmdPidFile={d}/slurmd.pid",
        f"SlurmctldLogFile={d}/slurmctld.log",
        f"SlurmdLogFile={d}/slurmd.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",  # memory requests are checked against the node, not shared out
        "MpiDefault=none",
        "ReturnToService=2",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/filetxt",  # the scheduler's record of every job, without slurmdbd
        f"JobCompLoc={d}/jobcomp.txt",
        "MinJobAge=300",
        f"{node} State=UNKNOWN",
        f"PartitionName={CPU_PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        f"PartitionName={GPU_PARTITION} Nodes={host} MaxTime=INFINITE State=UP",
        "",
    ])


class Cluster:
    def __init__(self, root: Path):
        self.dir = root
        self.pids: dict[str, int] = {}
        self.conf = root / "slurm.conf"
        self.jobcomp = root / "jobcomp.txt"
        self.linked = False

    def start_daemon(self, name: str, *cmd: str, pidfile: Path) -> None:
        done = _sh(*cmd, timeout=60)
        for _ in range(100):
            if pidfile.exists() and pidfile.read_text().strip():
                self.pids[name] = int(pidfile.read_text().split()[0])
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start: {done.stdout}{done.stderr}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.dir.glob("*.log")))

    def wait_idle(self, timeout: float = 60) -> None:
        end = time.time() + timeout
        while time.time() < end:
            states = _sh("sinfo", "-h", "-N", "-o", "%T", env=self.env).stdout.split()
            if states and all(s == "idle" for s in states):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the node did not become idle: {states}\n{self.logs()}")

    @property
    def env(self) -> dict:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def restart_controller_without_state(self) -> None:
        """What losing slurmctld's state does: every job it knew is gone."""
        self.stop("slurmctld")
        self.start_daemon("slurmctld", "slurmctld", "-c", "-f", str(self.conf), pidfile=self.dir / "slurmctld.pid")

    def stop(self, name: str) -> None:
        pid = self.pids.pop(name, None)
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def records(self) -> list[dict]:
        """slurmctld's job completion log: one dict per finished job."""
        if not self.jobcomp.exists():
            return []
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in self.jobcomp.read_text().splitlines()]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if sys.platform != "linux":
        pytest.skip("starts SLURM daemons: Linux only")
    if os.geteuid() != 0:
        pytest.skip("starts slurmctld/slurmd as SlurmUser=root: needs root")
    if SLURM_CONF.exists() or SLURM_CONF.is_symlink():
        pytest.skip(f"{SLURM_CONF} exists: this machine has a SLURM set up, which the test leaves alone")
    if shutil.which("slurmctld") and _sh("pgrep", "-x", "slurmctld").returncode == 0:
        pytest.skip("a slurmctld is already running on this machine")
    _install_or_skip()
    d = tmp_path_factory.mktemp("slurm")
    d.chmod(0o755)
    for sub in ("state", "spool"):
        (d / sub).mkdir()
    key = d / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    node, host = _node_line()
    memory = int(re.search(r"RealMemory=(\d+)", node).group(1))
    biggest = max(r.get("mem_mb", 0) for r in [PROFILE["default-resources"], *PROFILE["set-resources"].values()])
    if memory < biggest:
        pytest.skip(f"the profile asks up to {biggest} MB per job; this machine has {memory} MB")
    c = Cluster(d)
    c.conf.write_text(_slurm_conf(d, node, host))
    try:
        c.start_daemon("munged", "munged", "--force", f"--socket={d}/munge.socket", f"--key-file={key}",
                       f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log", f"--seed-file={d}/munged.seed",
                       pidfile=d / "munged.pid")
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.symlink_to(c.conf)
        c.linked = True
        c.start_daemon("slurmctld", "slurmctld", "-f", str(c.conf), pidfile=d / "slurmctld.pid")
        c.start_daemon("slurmd", "slurmd", "-f", str(c.conf), pidfile=d / "slurmd.pid")
        c.wait_idle()
        yield c
    finally:
        if "slurmctld" in c.pids:
            _sh("scancel", "--full", "--user=root", env=c.env)
            end = time.time() + 30
            while time.time() < end and _sh("squeue", "-h", env=c.env).stdout.strip():
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            c.stop(name)
        if c.linked:
            SLURM_CONF.unlink()


def _profile_copy(work: Path, fill: bool = True) -> None:
    shutil.copytree(ROOT / "profiles" / "slurm", work / "profiles" / "slurm")
    if fill:
        done = subprocess.run(FILL, shell=True, cwd=work, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def run_workflow(work: Path, cluster: Cluster, *args: str, timeout: float = WORKFLOW_TIMEOUT_S,
                 env: dict | None = None, watch=None) -> tuple[int, str, float]:
    """The README's command (from `work`, with its config/tiny.yaml), bounded by `timeout`: then
    SIGINT (Snakemake cancels its SLURM jobs), then SIGKILL. `watch(proc)` runs while it does."""
    (work / TINY_CONFIG).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / TINY_CONFIG, work / TINY_CONFIG)
    program, *rest = RUN.split()
    assert program == "snakemake"
    cmd = [sys.executable, "-m", "snakemake", *rest, "-s", str(ROOT / "Snakefile"), *args]
    log = work / "snakemake.out"
    start = time.time()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                env={**cluster.env, **(env or {})})
        try:
            if watch is not None:
                watch(proc)
            rc = proc.wait(timeout=max(1, timeout - (time.time() - start)))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            rc = None
    return rc, log.read_text(), time.time() - start


def _fail(msg: str, output: str, cluster: Cluster):
    pytest.fail(f"{msg}\n--- snakemake (tail)\n{output[-6000:]}\n{cluster.logs()}")


def _guard_wired() -> None:
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    if "slurm_profile.guard(workflow)" not in common:
        pytest.fail("workflow/rules/common.smk does not call alarmbench.slurm_profile.guard(workflow)")


def test_readme_commands_run_every_job_through_slurm(cluster, tmp_path):
    _profile_copy(tmp_path)
    rc, out, wall = run_workflow(tmp_path, cluster)
    if rc != 0:
        _fail(f"the workflow run {'timed out' if rc is None else f'exited {rc}'} after {wall:.0f} s", out, cluster)
    assert (tmp_path / "reports" / "report.tex").stat().st_size > 0

    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:")[1].split("Select jobs")[0], re.M))
    stats = {rule: int(n) for rule, n in stats.items() if rule != "total"}
    # every job of a rule that is not a localrule went to SLURM, alone or in its group job
    top = collections.Counter(re.findall(r"^rule (\w+):", out, re.M))
    members = collections.Counter(re.findall(r"^    rule (\w+):", out, re.M))
    local = collections.Counter(re.findall(r"^localrule (\w+):", out, re.M))
    groups = len(re.findall(r"\] Group job \w+", out))
    assert set(local) == LOCAL_RULES & set(stats)
    assert top + members + local == collections.Counter(stats), (top, members, local, stats)
    assert members == {"split": 1, "target_split": 1} and groups == 1  # grouped by the profile
    submitted = dict(re.findall(r"has been submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/(\w+?)/", out))
    assert len(submitted) == sum(top.values()) + groups

    run_id = re.search(r"SLURM run ID: (\S+)", out).group(1)
    records = {r["JobId"]: r for r in cluster.records() if r.get("Name") == run_id}
    assert set(records) == set(submitted), (records.keys(), submitted)
    defaults = PROFILE["default-resources"]
    for job_id, r in records.items():
        where = submitted[job_id]
        assert r["JobState"] == "COMPLETED", (where, r)
        assert r["Partition"] == CPU_PARTITION and r["Account"] == ACCOUNT, (where, r)  # run.device cpu: no GPU
        rule = where.removeprefix("rule_")
        if where.startswith("group_"):
            limit = sum(PROFILE["set-resources"][m]["runtime"] for m in members)
        else:
            limit = PROFILE["set-resources"].get(rule, {}).get("runtime", defaults["runtime"])
        assert int(r["TimeLimit"]) == limit, (where, r)
        mem = PROFILE["set-resources"].get(rule, {}).get("mem_mb", defaults["mem_mb"])
        assert f"mem={mem}M" in r["Tres"] and "cpu=1," in r["Tres"] and "gres/gpu" not in r["Tres"], (where, r)
    print(f"\nSLURM run {run_id}: {len(records)} SLURM jobs, wall {wall:.0f} s")
    for job_id in sorted(records, key=int):
        r = records[job_id]
        print(f"  {job_id:>4} {submitted[job_id]:<22} {r['JobState']:<10} {r['Partition']}/{r['Account']} "
              f"{r['StartTime']} → {r['EndTime']}  limit {r['TimeLimit']} min  {r['Tres']}")


def test_a_placeholder_left_in_stops_the_run_before_any_submission(cluster, tmp_path):
    _guard_wired()
    _profile_copy(tmp_path, fill=False)
    before = len(cluster.records())
    rc, out, _ = run_workflow(tmp_path, cluster, timeout=180)
    assert rc not in (0, None) and "YOUR_ACCOUNT" in out and "Nothing was submitted" in out, out[-3000:]
    cfg = tmp_path / "profiles" / "slurm" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("YOUR_ACCOUNT", ACCOUNT))
    rc, out, _ = run_workflow(tmp_path, cluster, timeout=180)
    assert rc not in (0, None) and "CPU_PARTITION (" in out and "GPU_PARTITION (" in out, out[-3000:]
    assert "has been submitted" not in out and len(cluster.records()) == before
    assert not _sh("squeue", "-h", env=cluster.env).stdout.strip()


def test_a_job_the_scheduler_loses_ends_the_run_with_an_error(cluster, tmp_path):
    """slurmctld restarted without its state while a job runs: the plugin would poll for ever."""
    _guard_wired()
    _profile_copy(tmp_path)

    def lose_the_first_running_job(proc):
        end = time.time() + 120
        while time.time() < end and proc.poll() is None:
            if _sh("squeue", "-h", "-t", "RUNNING", "-o", "%i", env=cluster.env).stdout.strip():
                cluster.restart_controller_without_state()
                cluster.wait_idle()
                return
            time.sleep(0.3)

    rc, out, wall = run_workflow(tmp_path, cluster, timeout=240, env={"ALARMBENCH_SLURM_LOST_AFTER": "20"},
                                 watch=lose_the_first_running_job)
    if rc is None or rc == 0 or "lost SLURM job" not in out:
        _fail(f"expected the run to end with a lost-job error (rc {rc}, {wall:.0f} s)", out, cluster)
    assert re.search(r"lost SLURM job after 20 s: fetch \(dataset=breast_cancer\): SLURM no longer knows", out), \
        out[-3000:]
    print(f"\nlost job reported, run ended after {wall:.0f} s")
