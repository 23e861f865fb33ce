"""Code keys: a content hash of the `alarmbench` modules a job's entry point imports.

A rule's `params` carries the key of what its job runs, so editing a module reruns exactly the
jobs that import it (and what depends on them), while timestamps never trigger a rerun. The
import graph is read statically (`ast`), once per process: every `import`/`from … import` of an
`alarmbench` module anywhere in a module counts (also those inside functions: they run when the
function does), and so does every package `__init__` on the way (Python runs them on import).
Imports chosen at run time (`importlib`) are not visible; the entry points name those modules
themselves (the method's module from the catalog, a data set's loaders).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
from pathlib import Path

PACKAGE = "alarmbench"
# The tests point this at an editable copy of the sources.
SRC = Path(os.environ.get("ALARMBENCH_CODE_ROOT", Path(__file__).resolve().parent))


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
    path = module_file(module)
    tree = ast.parse(path.read_bytes(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
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
        for name in names:
            if (name == PACKAGE or name.startswith(PACKAGE + ".")) and _is_module(name):
                found.add(name)
    for name in list(found):
        found.update(_parents(name))
    found.discard(module)
    return frozenset(found)


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


@functools.lru_cache(maxsize=None)  # once per distinct module set per process: a DAG build asks per job
def code_key(*roots: str) -> str:
    """A short hash of the sources of every module the roots import (module names included)."""
    h = hashlib.sha256()
    for m in closure(tuple(sorted(set(roots)))):
        h.update(f"{m}\0{_file_digest(module_file(m))}\n".encode())
    return h.hexdigest()[:16]
