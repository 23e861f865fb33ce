"""Code keys: a content hash of a job's script and of the `alarmbench` modules it imports.

A rule's `params` carries the key of what its job runs, so editing a module (or the rule's
`workflow/scripts/` file) reruns exactly the jobs that run it (and what depends on them), while
timestamps never trigger a rerun: Snakemake's own `code` trigger, which compares a script's
mtime with its outputs', is off (profiles' `rerun-triggers`, and `workflow_triggers`). The
import graph is read statically (`ast`), once per process: every `import`/`from … import` of an
`alarmbench` module anywhere in a module counts (also those inside functions: they run when the
function does), and so does every package `__init__` on the way (Python runs them on import).
Imports chosen at run time (`importlib`) are not visible; the entry points name those modules
themselves (the method's module from the catalog, a data set's loaders).

Parsing every module costs ≈ 0.3 s CPU in each DAG build (a tenth of a no-op rerun, issue 25): the
import statements found in a file are kept in `.snakemake/alarmbench-imports.json` of the working
directory (where Snakemake keeps its own state; nothing is kept where there is no such folder),
keyed by the file's sha256, its module name and whether it is a package: the same content gives
the same statements, so a cached answer is exact, and an edit is a new key. Which of the names
are modules is decided afresh each time (it depends on the files present, not the content).
"""

from __future__ import annotations

import ast
import atexit
import functools
import hashlib
import json
import os
from pathlib import Path

PACKAGE = "alarmbench"
# The tests point this at an editable copy of the sources.
SRC = Path(os.environ.get("ALARMBENCH_CODE_ROOT", Path(__file__).resolve().parent))


# Packages that decide where a job runs, never what it computes (the warm worker, whose client
# every job script imports): not part of any key, so editing them reruns nothing.
UNKEYED = ("alarmbench.worker",)


def _unkeyed(module: str) -> bool:
    return any(module == u or module.startswith(u + ".") for u in UNKEYED)


def module_file(module: str) -> Path:
    """The source file of `alarmbench.x.y` (a package's `__init__.py`)."""
    rel = Path(*module.split(".")[1:])
    package = SRC / rel / "__init__.py"
    return package if package.exists() else (SRC / rel).with_suffix(".py")


def _is_module(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (SRC / rel / "__init__.py").exists() or (SRC / rel).with_suffix(".py").exists()


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.lru_cache(maxsize=None)
def direct_imports(module: str) -> frozenset[str]:
    """The alarmbench modules `module` imports itself (parent packages included)."""
    return _imports_of(module_file(module), module)


CACHE_FILE = Path(".snakemake") / "alarmbench-imports.json"  # relative to the working directory
_cache: dict[str, list[str]] | None = None
_cache_dirty = False


def _cached_names(source: bytes, path: Path, module: str) -> list[str]:
    """`_import_names` of a file, through the cache in CACHE_FILE (module docstring)."""
    global _cache, _cache_dirty
    if _cache is None:
        try:
            _cache = json.loads(CACHE_FILE.read_text()) if CACHE_FILE.is_file() else {}
        except (OSError, ValueError):  # unreadable or half-written by another process: start afresh
            _cache = {}
    key = f"{hashlib.sha256(source).hexdigest()} {module} {path.name == '__init__.py'}"
    names = _cache.get(key)
    if not isinstance(names, list):
        names = _cache[key] = _import_names(source, path, module)
        if not _cache_dirty and CACHE_FILE.parent.is_dir():
            _cache_dirty = True
            atexit.register(_save_cache)
    return names


def _save_cache() -> None:
    tmp = CACHE_FILE.with_name(f"{CACHE_FILE.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(_cache, sort_keys=True))
        os.replace(tmp, CACHE_FILE)  # whole or not at all: another DAG build may read it meanwhile
    except OSError:
        tmp.unlink(missing_ok=True)


def _imports_of(path: Path, module: str) -> frozenset[str]:
    """The alarmbench modules the file at `path` (module `module`) imports, parents included."""
    found = {name for name in _cached_names(path.read_bytes(), path, module)
             if _is_module(name) and not _unkeyed(name)}
    for name in list(found):
        found.update(_parents(name))
    found.discard(module)
    return frozenset(found)


def _import_names(source: bytes, path: Path, module: str) -> list[str]:
    """Every name of the alarmbench package or under it that a statement of `source` imports
    (`from pkg import x` gives pkg and pkg.x: x may be a submodule), sorted."""
    tree = ast.parse(source, filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base_parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import sub` imports the submodule when there is one
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name == PACKAGE or name.startswith(PACKAGE + "."))
    return sorted(found)


_STATEMENT_NODES = (ast.stmt, ast.excepthandler, ast.match_case)


def _statements(tree: ast.AST):
    """Every statement in `tree`, nested ones included. An import is a statement, and statements
    sit only in other statements' bodies (a function's, an `if`'s, an `except` clause's, a
    `case`'s), never inside an expression: skipping expressions finds every import that
    `ast.walk` finds, at a sixth of its cost (a DAG build with no import cache parses ~120 modules)."""
    todo = [tree]
    while todo:
        for child in ast.iter_child_nodes(todo.pop()):
            if isinstance(child, _STATEMENT_NODES):
                yield child
                todo.append(child)


@functools.lru_cache(maxsize=None)
def closure(roots: tuple[str, ...]) -> tuple[str, ...]:
    """Every alarmbench module that importing `roots` runs, sorted."""
    seen: set[str] = set()
    todo = [m for r in roots for m in (r, *_parents(r))]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(direct_imports(m) - seen)
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=None)
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=None)
def _script_imports(path: Path) -> frozenset[str]:
    return _imports_of(path, "__script__")


def is_script(root: str) -> bool:
    """A root given as a file (a workflow script), not as a module name."""
    return root.endswith(".py")


@functools.lru_cache(maxsize=None)  # once per distinct module set per process: a DAG build asks per job
def code_key(*roots: str) -> str:
    """A short hash of the sources of every module the roots import (module names included).

    A root is a module name (`alarmbench.stages.fit`) or the path of a script (a rule's
    `workflow/scripts/x.py`): its content counts (by its file name, so the key does not depend on
    where the checkout sits) and so does every alarmbench module it imports."""
    scripts = sorted({Path(r) for r in roots if is_script(r)})
    modules = {r for r in roots if not is_script(r)}
    for script in scripts:
        modules |= _script_imports(script)
    h = hashlib.sha256()
    for script in scripts:
        h.update(f"script {script.name}\0{_file_digest(script.resolve())}\n".encode())
    for m in closure(tuple(sorted(modules))):
        h.update(f"{m}\0{_file_digest(module_file(m))}\n".encode())
    return h.hexdigest()[:16]


def package_data(folder: str) -> dict[str, str]:
    """{file name: sha256} of the package data files under `folder` (e.g. `data/paper`, the
    published values the report compares with): a param, so an edited file reruns its reader."""
    return {p.name: _file_digest(p) for p in sorted((SRC / folder).iterdir()) if p.is_file()}
