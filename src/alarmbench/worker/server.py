"""The warm worker's server: `python server.py SOCKET PARENT_PID [MODULE ...]` (started by `hooks`).

It imports the third-party libraries the jobs spend their start-up on (PRELOAD, or the MODULEs
given: the tests' lighter server), then listens on
the Unix socket SOCKET. Each connection is one job (`client.delegate`): the client sends its
script's argv, working directory and environment with its stdin/stdout/stderr descriptors; the
server forks a child that takes them over and runs the script as `python SCRIPT` would, and
answers the child's exit status and resource use when it ends.

Run as a script and never as `alarmbench.worker.server`, and it imports no alarmbench module: a
job imports the project's code afresh in its child, so an edit between (or during) runs is what
runs, as it is what the code keys describe. Nothing here starts a thread or a thread pool before a
fork: the server is one thread (a selector loop), and the native libraries are loaded with one
thread each (the environment Snakemake gives a one-thread job); a child with more `threads` sets
its limits itself.

A child ends when its job does; it is killed (its process group, SIGKILL) when its client's
connection closes first (Snakemake killed the job) and receives the signals its client forwards
(SIGINT, SIGTERM). The server ends on SIGTERM or when PARENT_PID (the Snakemake run) is gone,
and takes its children with it.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import runpy
import select
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback

# What the delegated jobs import that costs start-up (issue 25): torch ≈ 1.8 s CPU, scikit-learn's
# estimators ≈ 1.9 s; Snakemake's script preamble (unpickling the `snakemake` object). Third-party
# only: never an alarmbench module (module docstring). One missing is left out (optional packages).
PRELOAD = ("numpy", "torch", "torch.nn.functional", "torch.func", "torch.optim.lr_scheduler", "scipy.io",
           "scipy.stats", "pandas", "sklearn.datasets", "sklearn.ensemble", "sklearn.model_selection",
           "sklearn.neighbors", "sklearn.preprocessing", "threadpoolctl", "snakemake.iocontainers",
           "snakemake.logging", "snakemake.io")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # as Snakemake sets them per job
MAX_REQUEST = 1 << 22  # bytes: argv, cwd and the environment as JSON
# What Python reads when it starts (sys.path, hashing, flags): a job whose interpreter or these
# differ from the server's would not start as the server did, and is refused (it runs itself).
INTERPRETER_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONUSERBASE",
                         "PYTHONHASHSEED", "PYTHONWARNINGS", "PYTHONOPTIMIZE", "PYTHONDEVMODE", "PYTHONUTF8",
                         "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE", "PYTHONPLATLIBDIR", "PYTHONINTMAXSTRDIGITS")
STARTED_WITH = {name: os.environ.get(name) for name in INTERPRETER_VARIABLES}


class Stop(Exception):
    """SIGTERM: end the server (raised from the signal handler inside the selector's wait)."""


def preload(parent_fd: int, modules=PRELOAD) -> bool:
    """Import `modules`; False as soon as the process of `parent_fd` has ended (the run is over)."""
    for name in modules:
        if select.select([parent_fd], [], [], 0)[0]:
            return False
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    return True


def serve(path: str, parent_fd: int) -> None:
    """Accept jobs on `path` until SIGTERM or until the process of `parent_fd` (a pidfd) ends."""
    sel = selectors.DefaultSelector()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    jobs: dict[int, tuple[socket.socket, int]] = {}  # child pid -> (its client's connection, its pidfd)
    try:
        listener.bind(path + ".new")
        listener.listen(64)
        os.rename(path + ".new", path)  # the path appears listening: a client never finds it refusing
        sel.register(listener, selectors.EVENT_READ, ("accept", None))
        sel.register(parent_fd, selectors.EVENT_READ, ("parent", None))
        while True:
            for key, _ in sel.select():
                what, pid = key.data
                if what == "parent":
                    return
                if what != "accept" and pid not in jobs:  # its child was reaped earlier in this batch
                    continue
                if what == "accept":
                    conn, _ = listener.accept()
                    started = start_job(conn, [listener, sel, parent_fd, *(x for job in jobs.values() for x in job)])
                    if started is None:
                        conn.close()
                        continue
                    jobs[started] = (conn, os.pidfd_open(started))
                    sel.register(conn, selectors.EVENT_READ, ("client", started))
                    sel.register(jobs[started][1], selectors.EVENT_READ, ("child", started))
                elif what == "child":
                    conn, pidfd = jobs.pop(pid)
                    if conn.fileno() in sel.get_map():  # not when the client had gone already
                        sel.unregister(conn)
                    sel.unregister(pidfd)
                    os.close(pidfd)
                    _, status, usage = os.wait4(pid, 0)
                    reply = {"status": os.waitstatus_to_exitcode(status), "utime": usage.ru_utime,
                             "stime": usage.ru_stime, "maxrss_kib": usage.ru_maxrss, "pid": pid}
                    try:
                        conn.send(json.dumps(reply).encode())
                    except OSError:
                        pass  # the client is gone
                    conn.close()
                else:  # the client: a signal to forward, or gone (EOF: Snakemake killed the job)
                    try:
                        data = key.fileobj.recv(4096)
                    except OSError:
                        data = b""
                    sig = json.loads(data).get("signal") if data else signal.SIGKILL
                    if not data:
                        sel.unregister(key.fileobj)  # the child's pidfd still reaps it
                    _kill_group(pid, sig)
    except Stop:
        return
    finally:
        _end_children(list(jobs))
        listener.close()


def _end_children(pids: list[int], grace: float = 5) -> None:
    """SIGTERM (as a job's own process gets when its Snakemake dies), SIGKILL after `grace` s; reaped."""
    for pid in pids:
        _kill_group(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while pids:
        pids = [pid for pid in pids if os.waitpid(pid, os.WNOHANG)[0] == 0]
        if pids and time.monotonic() > end:
            for pid in pids:
                _kill_group(pid, signal.SIGKILL)
            end = float("inf")
        time.sleep(0.05)


def start_job(conn: socket.socket, closing: list) -> int | None:
    """Read a job's request from `conn` and fork its child; the child's pid (None: no valid request)."""
    uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
    if uid != os.getuid():  # the socket's folder is private already; never run another user's script
        return None
    try:
        msg, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 3)
        request = json.loads(msg)
    except (OSError, ValueError):
        return None
    same = (request.get("executable") == sys.executable
            and all(request["env"].get(k) == v for k, v in STARTED_WITH.items()))
    if len(fds) != 3 or not same:
        for fd in fds:
            os.close(fd)
        return None
    pid = os.fork()
    if pid == 0:
        run_child(request, fds, [conn, *closing])  # never returns
    for fd in fds:
        os.close(fd)
    try:
        os.setpgid(pid, pid)  # also done by the child: whichever runs first, a kill finds the group
    except OSError:
        pass
    try:
        conn.send(json.dumps({"started": pid}).encode())
    except OSError:
        _kill_group(pid, signal.SIGKILL)
    return pid


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except OSError:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def run_child(request: dict, fds: list[int], closing: list) -> None:
    """In the forked child: become the job's process and run its script; exit with its status."""
    code = 1
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for thing in closing:  # the server's: the listener, other jobs' connections, pidfds
            os.close(thing) if isinstance(thing, int) else thing.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            if fd > 2:
                os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        _standard_streams()
        sys.argv = list(request["argv"])
        script = sys.argv[0]  # as given (relative to cwd): runpy sets sys.argv[0] to it, as Python does
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))  # as `python SCRIPT` has it
        _limit_threads(request["env"])
        code = _run(script)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _standard_streams() -> None:
    """New sys.stdin/stdout/stderr on descriptors 0-2 (now the job's), buffered as Python's own."""
    enc, errors = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = sys.__stdin__ = open(0, "r", encoding=sys.stdin.encoding, closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding=enc, errors=errors, closefd=False,
                                       buffering=1 if os.isatty(1) else -1)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding=enc, errors="backslashreplace", closefd=False, buffering=1)


def _limit_threads(env: dict) -> None:
    """The job's thread count where it is not the server's one (a job's `threads`)."""
    try:
        n = int(env.get("OMP_NUM_THREADS", "1"))
    except ValueError:
        return
    if n == 1:
        return
    if "threadpoolctl" in sys.modules:
        sys.modules["threadpoolctl"].threadpool_limits(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def _run(script: str) -> int:
    """Run `script` as __main__; its exit status as `python SCRIPT` would give it."""
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as e:
        code = _exit_code(e.code)
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:  # runpy's own frames out
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb or e.__traceback__)
        code = -signal.SIGINT if isinstance(e, KeyboardInterrupt) else 1
    threading._shutdown()  # noqa: SLF001 (as the interpreter ends: wait for non-daemon threads, then atexit)
    atexit._run_exitfuncs()  # noqa: SLF001
    if code < 0:  # Python ends an uncaught KeyboardInterrupt by SIGINT
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def _exit_code(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    path, parent = argv[0], int(argv[1])
    for name in THREAD_VARIABLES:  # one thread each, no pool started: the forks stay safe
        os.environ[name] = "1"
    del sys.path[0]  # this file's folder: a job's child puts its script's folder first
    signal.signal(signal.SIGTERM, _stop)
    try:
        parent_fd = os.pidfd_open(parent)
        if preload(parent_fd, argv[2:] or PRELOAD):
            serve(path, parent_fd)
    except (ProcessLookupError, Stop):  # the run was over already, or stopped before the server was ready
        pass
    finally:  # the socket and its private folder (hooks made it for this server alone) go with it
        for name in (path, path + ".new"):
            if os.path.exists(name):
                os.unlink(name)
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass
    return 0


def _stop(signum, frame):
    raise Stop


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown of torch & co. (seconds on a loaded machine): the run waits for it
