"""Every data set a config can name: the built-in ones (`builtin`) and the user's (`userdata`).

This module composes the two so that neither imports the other: a user's variant of a built-in
data set (`user_datasets.<name>.base`) is built from the built-in spec passed down to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from alarmbench.data.builtin import REGISTRY
from alarmbench.data.spec import DatasetSpec
from alarmbench.data.userdata import is_variant, user_spec, variant_spec

__all__ = ["REGISTRY", "get"]


def get(name: str, user: Mapping | None = None) -> DatasetSpec:
    """The spec of a built-in data set, or of a user data set declared in the config (`user_datasets`)."""
    if user and name in user:
        cfg = user[name]
        return variant_spec(name, cfg, REGISTRY) if is_variant(cfg) else user_spec(name, cfg)
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
