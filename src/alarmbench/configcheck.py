"""Checks of a workflow configuration that its JSON schema cannot express, run before any job.

Each error names the key, the value and what is accepted: a method option nobody declares, a
misspelled method, data set or experiment, a data-set name that cannot be a folder name, a
per-data-set key for a data set that is not configured, a pollution level the table has too few
anomalies for, a grid that yields no job. The schema (workflow/schemas/config.schema.yaml) has
already checked types, ranges and empty lists.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from alarmbench.data import registry
from alarmbench.data.pollution import class_counts, pollution_problem
from alarmbench.data.protocols import check_split_protocol
from alarmbench.evaluate.threshold_source import DEFAULT_RULE, RULES
from alarmbench.methods.catalog import METHODS, ConfigError, check_options, is_method


# Data-set names become folder and file names and the workflow's `dataset` wildcard: no '/', '..',
# spaces or dots (common.smk constrains the wildcard with this very pattern).
DATASET_NAME = r"[A-Za-z0-9_\-]+"


def _closest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(map(str, values)))


def check_config(config: dict) -> None:
    """Raise ConfigError for the first thing in `config` that names nothing or would do nothing."""
    from alarmbench.grid import configured_datasets

    user = config.get("user_datasets") or {}
    check_dataset_names(config)
    known = set(registry.REGISTRY) | set(user)
    if not config.get("datasets") and not user:
        raise ConfigError("datasets: no data set configured; list registered data sets under datasets "
                          "(`alarmbench data list`) or declare your own under user_datasets")
    datasets = configured_datasets(config)
    for name in datasets:
        if name not in known:
            raise ConfigError(f"datasets: unknown data set {name!r}{_closest(name, known)}; registered data sets: "
                              f"`alarmbench data list`, or declare it under user_datasets")
    if user:
        from alarmbench.data.userdata import check_user_config

        for name, entry in user.items():
            check_user_config(name, entry)
    specs = {name: registry.get(name, user) for name in datasets}
    all_presets = {p for spec in [*registry.REGISTRY.values(), *specs.values()] for p in spec.presets}
    check_pollution(config, specs)
    _check_per_dataset("run.epochs", config.get("run", {}).get("epochs"), datasets)
    _check_method_epochs(config.get("run", {}).get("method_epochs") or {}, datasets)
    _check_per_dataset("max_fpr", config.get("max_fpr"), datasets)
    if config.get("a3_threshold", DEFAULT_RULE) not in RULES:
        raise ConfigError(f"a3_threshold: {config['a3_threshold']!r} is not a threshold rule; expected one of "
                          f"{list(RULES)}")
    if "a3_split" in (config.get("protocol") or {}):
        try:
            check_split_protocol(config["protocol"]["a3_split"])
        except ValueError as err:
            raise ConfigError(str(err)) from None
    for method, options in (config.get("method_options") or {}).items():
        if not is_method(method):
            raise ConfigError(f"method_options: unknown method {method!r}{_closest(method, METHODS)}; known: "
                              f"{', '.join(METHODS)}, pyod:<Class>")
        check_options(method, options or {}, workflow=True)
        if (options or {}).get("holdout_redraw") and not config.get("protocol", {}).get("holdout_redraws"):
            raise ConfigError(f"method_options.{method}.holdout_redraw: true needs stored re-draws; set "
                              f"protocol.holdout_redraws: 1 (the re-draw the snapshot segments read)")
    for name, grid in config["grids"].items():
        where = f"grids.{name}"
        for method in grid["methods"]:
            if not is_method(method):
                raise ConfigError(f"{where}.methods: unknown method {method!r}{_closest(method, METHODS)}; known: "
                                  f"{', '.join(METHODS)}, pyod:<Class>")
        _check_n(where, grid.get("n_anomalies"), grid.get("datasets") or datasets)
        for ds in grid.get("datasets") or ():
            if ds not in specs:
                raise ConfigError(f"{where}.datasets: {ds!r} is not one of the configured datasets "
                                  f"({_names(datasets)}){_closest(ds, datasets)}")
        # A grid may skip configured data sets that lack its experiments (the default grids on a
        # subset of data sets), but an experiment that no data set has, or one missing from the
        # grid's own data sets, is a mistake.
        presets = {p for ds in grid.get("datasets") or () for p in specs[ds].presets} or all_presets
        for experiment in grid["experiments"]:
            if experiment not in presets:
                raise ConfigError(f"{where}.experiments: unknown experiment {experiment!r}"
                                  f"{_closest(experiment, presets)}; experiments of "
                                  f"{'its data sets' if grid.get('datasets') else 'the data sets'}: {_names(presets)}")


def check_dataset_names(config: Mapping) -> None:
    """Every data-set name under `datasets` and `user_datasets` matches DATASET_NAME."""
    for key in ("datasets", "user_datasets"):
        for name in config.get(key) or ():
            check_dataset_name(name, key)


def check_dataset_name(name, key: str) -> None:
    if not isinstance(name, str) or not re.fullmatch(DATASET_NAME, name):
        raise ConfigError(f"{key}: data set name {name!r} is not allowed: a name becomes folder and file names "
                          f"of the workflow, so it may hold only letters, digits, '_' and '-' (no '/', '..', "
                          f"dots or spaces)")


def check_pollution(config: Mapping, specs: Mapping) -> None:
    """Every pollution level > 0 of a grid is one its data sets have the anomalies for
    (`data.pollution`), where the table can be read before any job: a prepared table already
    there, a user file, an embedded data set. A table not downloaded yet: the split job checks."""
    counts: dict[str, dict[str, int] | None] = {}
    for grid_name, grid in config["grids"].items():
        levels = [p for p in grid.get("pollution", [0.0]) if p > 0]
        for name in (grid.get("datasets") or specs) if levels else ():
            spec = specs[name]
            if not spec.pollution or not all(e in spec.presets for e in grid["experiments"]):
                continue  # the grid makes no polluted cell of it (grid._cells)
            if name not in counts:
                counts[name] = _class_counts(name, spec, config)
            for experiment in grid["experiments"] if counts[name] is not None else ():
                for p in levels:
                    problem = pollution_problem(name, experiment, spec.preset(experiment), counts[name], p)
                    if problem:
                        raise ConfigError(f"grids.{grid_name}.pollution: {problem}")


def _class_counts(name: str, spec, config: Mapping) -> dict[str, int] | None:
    """Rows per class outside the official test part, where readable before any job; else None."""
    import numpy as np

    from alarmbench.data.prepare import load, local_user_files
    from alarmbench.data.userdata import is_variant

    user = (config.get("user_datasets") or {}).get(name)
    source = spec.sources[0]
    prepared = Path(config.get("prepared_dir", "data/prepared")) / f"{name}.npz"
    if user is not None and not is_variant(user):  # the user's file itself: a prepared copy may be stale
        table = load(spec, source, local_user_files(spec, source))
        return class_counts(table.labels, table.is_test)
    if prepared.is_file():
        with np.load(prepared, allow_pickle=False) as z:  # two small members, not X
            return class_counts(z["labels"], z["is_test"] if len(z["is_test"]) else None)
    if user is None and not any(s.files for s in spec.sources):  # embedded (scikit-learn's tables)
        declared = embedded_class_counts(spec)
        if declared is not None:
            return declared
        table = load(spec, source, {})
        return class_counts(table.labels, table.is_test)
    return None


def embedded_class_counts(spec) -> dict[str, int] | None:
    """An embedded table's rows per class outside its test part, from its exact documented shape:
    loading it imports scikit-learn (≈ 3.5 s CPU in every DAG build, issue 25). The declared counts
    are the loader's (tests/unit/test_configcheck.py loads each embedded table and compares)."""
    shape = spec.shape
    if shape is None or not shape.exact or shape.class_rows is None:
        return None
    if shape.test_rows is not None and shape.test_class_rows is None:
        return None  # a test part whose classes are not documented: load it
    test = shape.test_class_rows or {}
    return {c: n - test.get(c, 0) for c, n in shape.class_rows.items() if n - test.get(c, 0)}


def _check_n(where: str, value, datasets: list[str]) -> None:
    """n_anomalies: a list of counts ≥ 0, "half" or "min(N, A/2)", or a mapping from data sets (or
    `default`) to such lists."""
    from alarmbench.grid import N_SYNTAX, parse_n

    if value is None:
        return
    lists = value.items() if isinstance(value, dict) else [(None, value)]
    if isinstance(value, dict):
        _check_per_dataset(f"{where}.n_anomalies", value, datasets)
    for name, values in lists:
        key = f"{where}.n_anomalies" + (f".{name}" if name is not None else "")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{key}: expected a non-empty list, each value {N_SYNTAX}; got {values!r}")
        for v in values:
            try:
                if not isinstance(v, (int, str)):
                    raise ValueError
                parse_n(v)
            except ValueError:
                raise ConfigError(f"{key}: {v!r} is not {N_SYNTAX}") from None


def _check_per_dataset(key: str, value, datasets: list[str]) -> None:
    if not isinstance(value, dict):
        return
    for name in value:
        if name != "default" and name not in datasets:
            raise ConfigError(f"{key}: {name!r} is not one of the configured datasets ({_names(datasets)}) nor "
                              f"'default'{_closest(name, [*datasets, 'default'])}")


def _check_method_epochs(value: dict, datasets: list[str]) -> None:
    """run.method_epochs: methods that train, each with epochs or a mapping per configured data set."""
    from alarmbench.methods.catalog import method

    for name, epochs in value.items():
        key = f"run.method_epochs.{name}"
        if not is_method(name):
            raise ConfigError(f"run.method_epochs: unknown method {name!r}{_closest(name, METHODS)}; known: "
                              f"{', '.join(METHODS)}")
        if not method(name).trains:
            raise ConfigError(f"{key}: {name} trains no network, so epochs do not apply to it; methods that "
                              f"train: {', '.join(m for m, d in METHODS.items() if d.trains)}")
        if epochs is not None and not isinstance(epochs, dict) and (isinstance(epochs, bool) or
                                                                   not isinstance(epochs, int) or epochs < 1):
            raise ConfigError(f"{key}: {epochs!r} is not a number of epochs ≥ 1, null (the papers') or a mapping "
                              f"per data set")
        _check_per_dataset(key, epochs, datasets)


def check_jobs(jobs: list) -> None:
    """A configuration that yields no job would end in a missing-output error after deleting results."""
    if not jobs:
        raise ConfigError("grids: no grid applies to any configured data set (each grid needs a data set with all "
                          "of its experiments, and pollution > 0 needs a data set with pollution experiments)")
