"""Code keys are computed once per distinct module set in a process (issue 25: the DAG build asked
for one per job, ≈ 15 % of a large dry run). Each DAG build is a new process, so an edited module
still changes the key of the next build (tests/integration/test_stale_results.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alarmbench import codekeys


def test_a_module_set_is_hashed_once_per_process(monkeypatch) -> None:
    codekeys.code_key.cache_clear()
    key = codekeys.code_key("alarmbench.stages.split")
    monkeypatch.setattr(codekeys, "closure", lambda roots: (_ for _ in ()).throw(AssertionError("recomputed")))
    assert codekeys.code_key("alarmbench.stages.split") == key
    codekeys.code_key.cache_clear()


def test_a_new_process_sees_an_edited_module(tmp_path) -> None:
    src = Path(codekeys.__file__).resolve().parent
    (tmp_path / "alarmbench").mkdir()
    for name in ("__init__.py", "rng.py"):
        (tmp_path / "alarmbench" / name).write_text((src / name).read_text())
    probe = ["-c", "from alarmbench.codekeys import code_key; print(code_key('alarmbench.rng'))"]
    env = {"ALARMBENCH_CODE_ROOT": str(tmp_path / "alarmbench"), "PYTHONPATH": str(src.parent)}

    def key() -> str:
        return subprocess.run([sys.executable, *probe], env=env, capture_output=True, text=True, check=True).stdout

    before = key()
    (tmp_path / "alarmbench" / "rng.py").write_text((src / "rng.py").read_text() + "\n# edited\n")
    assert key() != before
