"""The floors of the house: a module imports only from its own floor or the ones below, never one
above (also not inside a function: it runs when the function does). Read statically (`ast`), as
the code keys read imports.

    base      storage, data, networks, devices: errors, fileio, rng, runopts, device, data, nets,
              and the feature cache's storage (features.cache, layer_grads, memory)
    runtime   the Context a run stands on and the epoch loop with checkpoints
    targets   the shared target networks and their training
    features  the extractors of cached features (they read targets)
    methods   the detectors and their catalog
    stages    the workflow's jobs
    runner    `alarmbench run` and the command line
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import alarmbench

SRC = Path(alarmbench.__file__).resolve().parent

FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("errors", "fileio", "rng", "runopts", "device", "data", "nets", "features.cache", "features.layer_grads",
              "features.memory")),
    ("runtime", ("runtime",)),
    ("targets", ("targets",)),
    ("features", ("features",)),
    ("methods", ("methods",)),
    ("stages", ("stages",)),
    ("runner", ("runner", "cli")),
]


def floor_of(module: str) -> int | None:
    """The floor of `alarmbench.x.y` by its longest listed prefix (None: a module on no floor)."""
    name = module.removeprefix("alarmbench.")
    best = None
    for level, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (level, len(prefix))
    return None if best is None else best[0]


def module_name(path: Path, src: Path = SRC) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(("alarmbench", *parts))


def _is_module(name: str) -> bool:
    rel = SRC.joinpath(*name.split(".")[1:])
    return rel.with_suffix(".py").exists() or (rel / "__init__.py").exists()


def imports(path: Path) -> set[str]:
    """The alarmbench modules `path` imports (`from pkg import module` names the module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("alarmbench"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if _is_module(sub) else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("alarmbench.")}
    return found


def violations(src: Path = SRC) -> list[str]:
    bad = []
    for path in sorted(src.rglob("*.py")):
        me = module_name(path, src)
        mine = floor_of(me)
        if mine is None:
            continue
        for other in sorted(imports(path)):
            theirs = floor_of(other)
            if theirs is not None and theirs > mine:
                bad.append(f"{me} ({FLOORS[mine][0]}) imports {other} ({FLOORS[theirs][0]})")
    return bad


def test_no_import_reaches_up_a_floor():
    assert violations() == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    """The old knot: an extractor importing the target training from methods/."""
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "activations.py").write_text(
        "def rows():\n    from alarmbench.methods.target_training import trained_ae\n")
    assert violations(tmp_path) == ["alarmbench.features.activations (features) imports "
                                    "alarmbench.methods.target_training (methods)"]


@pytest.mark.parametrize("module, floor", [("alarmbench.features.cache", "base"),
                                           ("alarmbench.features.gradients", "features"),
                                           ("alarmbench.targets.training", "targets"),
                                           ("alarmbench.runtime.context", "runtime")])
def test_floors(module, floor):
    assert FLOORS[floor_of(module)][0] == floor
