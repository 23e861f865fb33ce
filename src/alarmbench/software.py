"""The versions of the packages that can change a number, recorded with every result and
compared with the installed ones at every DAG build (config/README.md, "Software versions").

No package keys jobs outright: most upgrades change no number, and a key would discard every
result (days of GPU time for config/paper.yaml) at each `pip install -U`. Instead each
`fit.json` (and so each metrics record), each target's `<stem>.seconds.json` and each feature
cache's `seconds.json` records `versions`; at DAG build the workflow says which packages differ
from those that produced existing results, and for how many (`report`), and the switch
`software_rerun` (true, or a list of package names) reruns exactly those jobs: their `software`
param is the recorded versions (unchanged, so nothing reruns) unless the switch selects a
difference, then the installed ones (changed, so the job reruns and records them).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("torch", "numpy", "scipy", "scikit-learn", "pandas", "pyod")


@functools.cache
def installed() -> dict[str, str]:
    """{package: version} of the PACKAGES installed here (a missing one is left out)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def recorded(record: str | Path) -> dict[str, str] | None:
    """The `versions` a job's record holds; None where there is no record or it has none."""
    versions = _recorded(str(record))
    return None if versions is None else dict(versions)


@functools.lru_cache(maxsize=None)  # a DAG build asks twice per fit (`report`, then its `job_param`)
def _recorded(record: str) -> tuple[tuple[str, str], ...] | None:
    try:
        data = json.loads(Path(record).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    versions = data.get("versions") if isinstance(data, dict) else None
    return tuple(versions.items()) if isinstance(versions, Mapping) else None


def differences(versions: Mapping[str, str], now: Mapping[str, str] | None = None) -> dict[str, tuple[str, str | None]]:
    """package -> (recorded, installed) for every recorded package whose version is not installed."""
    now = installed() if now is None else now
    return {p: (v, now.get(p)) for p, v in sorted(versions.items()) if now.get(p) != v}


def switch(value: bool | str | list[str] | None) -> bool | list[str]:
    """The config's `software_rerun` (true/false, also as text from `--config`, or package names)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return list(value) if isinstance(value, (list, tuple)) else bool(value)


def selected(rerun: bool | Iterable[str] | None, changed: Iterable[str]) -> bool:
    """Whether the switch `software_rerun` asks to rerun a job whose `changed` packages differ."""
    changed = set(changed)
    if not rerun or not changed:
        return False
    return rerun is True or bool(changed & set(rerun))


def job_param(record: str | Path, rerun: bool | Iterable[str] | None = False) -> dict[str, str]:
    """A job's `software` param: its record's versions, or the installed ones where it has no
    record yet or the switch selects one of its differences (module docstring)."""
    versions = recorded(record)
    if versions is None or selected(rerun, differences(versions)):
        return dict(sorted(installed().items()))
    return dict(sorted(versions.items()))


def report(records: Iterable[str | Path], rerun: bool | Iterable[str] | None = False) -> str | None:
    """One message about the existing results made with other versions than those installed
    (None when there are none): which packages, how many results, and what the switch does."""
    versions = [v for v in map(recorded, records) if v is not None]
    per_package: Counter[tuple[str, str, str | None]] = Counter()
    stale = 0
    for v in versions:
        diff = differences(v)
        stale += bool(diff)
        per_package.update((p, old, new) for p, (old, new) in diff.items())
    if not stale:
        return None
    what = "; ".join(f"{p} {old} (installed: {new or 'none'}) in {n}" for (p, old, new), n in sorted(per_package.items()))
    action = ("rerun now (software_rerun)" if rerun else
              "kept; `--config software_rerun=true` (or a list of packages) reruns them")
    return f"software: {stale} of {len(versions)} existing results were made with other package versions: {what}; {action}"
