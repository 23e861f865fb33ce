"""A workflow config as Snakemake sees it: files merged in order, schema defaults, configcheck."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def merge(base: dict, new: Mapping) -> dict:
    """`new` over `base`, nested mappings recursively (as Snakemake merges --configfile)."""
    for key, value in new.items():
        nested = isinstance(value, Mapping) and isinstance(base.get(key), Mapping)
        base[key] = merge(dict(base[key]), value) if nested else value
    return base


def read_config(paths: Sequence[str | Path]) -> dict:
    """Workflow config files merged in order, with the schema's defaults filled in, checked."""
    import yaml
    from snakemake.utils import validate

    from alarmbench import configcheck

    config: dict = {}
    for path in paths:
        config = merge(config, yaml.safe_load(Path(path).read_text()) or {})
    where = Path("workflow/schemas/config.schema.yaml")  # the checkout being run, else this package's
    for schema in (where, Path(__file__).resolve().parents[3] / where):
        if schema.exists():
            validate(config, str(schema))
            break
    configcheck.check_config(config)
    return config
