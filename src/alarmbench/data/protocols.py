"""Which split protocol a cell uses: the R2-AD2 code's (docs/protocol.md#split) or the A³ code's (docs/protocol.md#a3-split).

They differ in two places (docs/protocol.md#a3-split):

- test split (data sets without an official test set): R2-AD2 fixes it with seed 42 for every
  experiment seed; the A³ code draws it with the experiment seed;
- min-max scaler: R2-AD2 fits it on the normal training rows (after pollution and the cap); the
  A³ code fits it on every row of the training split (all classes, anomalies and excluded classes
  included), before any filtering.

The A³ experiments (names starting with `A3_PREFIX`, "a3-") use the A³ code's
protocol unless `protocol.a3_split: r2ad2` says otherwise; every other experiment uses R2-AD2's.
Nothing here imports NumPy or scikit-learn: the workflow resolves it at every DAG build.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

R2AD2 = "r2ad2"
A3_CODE = "a3_code"
SPLIT_PROTOCOLS = (R2AD2, A3_CODE)
DEFAULT_A3_SPLIT = A3_CODE  # faithful by default: the A³ experiments as the A³ code split them
A3_PREFIX = "a3-"


def check_split_protocol(value: Any, key: str = "protocol.a3_split") -> str:
    """`value` if it names a split protocol, else a ValueError naming `key` and the choices."""
    if value not in SPLIT_PROTOCOLS:
        raise ValueError(f"{key}: {value!r} is not a split protocol; expected one of {list(SPLIT_PROTOCOLS)}")
    return value


def split_protocol(experiment: str, a3_split: str = DEFAULT_A3_SPLIT, a3_prefix: str = A3_PREFIX) -> str:
    """The split protocol of one experiment: `a3_split` for the A³ experiments, R2-AD2's otherwise."""
    return check_split_protocol(a3_split) if str(experiment).startswith(a3_prefix) else R2AD2


def cell_protocol(protocol: Mapping[str, Any] | None, experiment: str, a3_prefix: str = A3_PREFIX) -> dict[str, Any]:
    """The `SplitParams` switches of one experiment's splits from the config's `protocol` section:
    its switches, with `a3_split` resolved into `split_protocol`. The workflow's split jobs carry
    this as a param, so changing `a3_split` reruns exactly the A³ experiments' splits."""
    switches = dict(protocol or {})
    a3_split = switches.pop("a3_split", DEFAULT_A3_SPLIT)
    return switches | {"split_protocol": split_protocol(experiment, a3_split, a3_prefix)}
