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


def _package(root: Path, files: dict[str, str]) -> dict:
    """An alarmbench package of `files` under root/src, and the environment that keys it."""
    pkg = root / "src" / "alarmbench"
    pkg.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (pkg / name).write_text(text)
    return {"ALARMBENCH_CODE_ROOT": str(pkg), "PYTHONPATH": str(Path(codekeys.__file__).resolve().parents[1])}


PROBE = ("import json; from alarmbench import codekeys as c; "
         "print(json.dumps([c.code_key('alarmbench.a'), sorted(c.closure(('alarmbench.a',)))]))")


def _key(cwd: Path, env: dict) -> tuple[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    key, modules = __import__("json").loads(out.stdout)
    return key, modules


def test_the_import_cache_answers_as_parsing_does_and_an_edit_is_a_new_key(tmp_path) -> None:
    env = _package(tmp_path, {"__init__.py": "", "a.py": "from alarmbench import b\n", "b.py": "X = 1\n",
                              "c.py": "Y = 2\n"})
    (tmp_path / ".snakemake").mkdir()  # a workflow's working directory: the cache is kept
    fresh = _key(tmp_path, env)
    cache = tmp_path / ".snakemake" / "alarmbench-imports.json"
    assert cache.is_file() and _key(tmp_path, env) == fresh
    assert fresh[1] == ["alarmbench", "alarmbench.a", "alarmbench.b"]
    # an edited import statement: the new content is a new cache key, parsed afresh
    (tmp_path / "src" / "alarmbench" / "a.py").write_text("from alarmbench import c\n")
    edited = _key(tmp_path, env)
    assert edited[1] == ["alarmbench", "alarmbench.a", "alarmbench.c"] and edited[0] != fresh[0]
    # the same answers where nothing is cached (no .snakemake folder) and from a damaged cache
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _key(elsewhere, env) == edited and not (elsewhere / ".snakemake").exists()
    cache.write_text("{not json")
    assert _key(tmp_path, env) == edited


def test_a_cached_name_that_stops_being_a_module_is_dropped(tmp_path) -> None:
    # `from alarmbench import b` names module b while b.py exists; removed, b is no module of the key
    env = _package(tmp_path, {"__init__.py": "", "a.py": "from alarmbench import b\n", "b.py": "X = 1\n"})
    (tmp_path / ".snakemake").mkdir()
    assert "alarmbench.b" in _key(tmp_path, env)[1]
    (tmp_path / "src" / "alarmbench" / "b.py").unlink()
    assert _key(tmp_path, env)[1] == ["alarmbench", "alarmbench.a"]


def test_a_warm_cache_parses_nothing(tmp_path, monkeypatch) -> None:
    (tmp_path / ".snakemake").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(codekeys, "_cache", None)
    for f in (codekeys.direct_imports, codekeys.closure, codekeys.code_key):
        f.cache_clear()
    key = codekeys.code_key("alarmbench.stages.split")
    codekeys._save_cache()
    monkeypatch.setattr(codekeys, "_cache", None)
    for f in (codekeys.direct_imports, codekeys.closure, codekeys.code_key):
        f.cache_clear()
    monkeypatch.setattr(codekeys, "_import_names", lambda *a: (_ for _ in ()).throw(AssertionError("parsed")))
    assert codekeys.code_key("alarmbench.stages.split") == key
    for f in (codekeys.direct_imports, codekeys.closure, codekeys.code_key):
        f.cache_clear()


NESTED = '''
import alarmbench.a
def f():
    from alarmbench import b
    class C:
        def g(self):
            import alarmbench.c
async def h():
    async with x:
        from alarmbench.d import y
if x:
    pass
else:
    import alarmbench.e
try:
    import alarmbench.f
except ImportError:
    import alarmbench.g
else:
    import alarmbench.h
finally:
    import alarmbench.i
for _ in x:
    while y:
        with z:
            import alarmbench.j
match x:
    case 1:
        import alarmbench.k
lam = lambda: __import__("alarmbench.not_a_statement")
'''


def _walked(source: str) -> set[str]:
    """The names an import statement anywhere in `source` gives, found by visiting every node."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update([node.module, *(f"{node.module}.{a.name}" for a in node.names)])
    return {n for n in found if n.startswith("alarmbench")}


def test_imports_at_any_depth_are_found_as_a_walk_of_every_node_finds_them() -> None:
    names = codekeys._import_names(NESTED.encode(), Path("m.py"), "alarmbench.m")
    assert set(names) == _walked(NESTED)
    assert {f"alarmbench.{x}" for x in "abcdefghijk"} <= set(names)
    # and in every module of the package as it is (those without relative imports: _walked does not resolve them)
    checked = 0
    for path in sorted(codekeys.SRC.rglob("*.py")):
        source = path.read_text()
        if "from ." not in source:
            assert set(codekeys._import_names(source.encode(), path, "alarmbench.x")) == _walked(source), path
            checked += 1
    assert checked > 50
