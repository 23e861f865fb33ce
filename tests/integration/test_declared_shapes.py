"""The registry's documented sizes (`DeclaredShape`, what `alarmbench plan` projects from before
any download) equal what the loaders return, for every registered data set the mirror holds (and
the embedded ones)."""

from collections import Counter

import numpy as np
import pytest

from alarmbench.data.api import prepare_dataset
from alarmbench.data.registry import REGISTRY

pytestmark = pytest.mark.realdata


def _loadable(spec, mirror) -> bool:
    """Embedded, or one source whose every file the mirror holds (by upstream file name)."""
    names = {p.name for p in mirror.rglob("*") if p.is_file()}
    return any(all(f.name in names for f in s.files) for s in spec.sources if s.loader)


def test_every_registered_data_set_declares_its_shape():
    assert not [name for name, spec in REGISTRY.items() if spec.shape is None]


def test_declared_shapes_are_the_loaders(mirror, raw_root):
    checked = []
    for name, spec in sorted(REGISTRY.items()):
        if not _loadable(spec, mirror):
            continue
        shape, prep = spec.shape, prepare_dataset(name, raw_root=raw_root, mirror=mirror)
        got = {"rows": len(prep.X), "sample_shape": tuple(prep.X.shape[1:]),
               "test_rows": None if prep.is_test is None else int(np.sum(prep.is_test)),
               "class_rows": dict(Counter(map(str, prep.labels)))}
        want = {"rows": shape.rows, "sample_shape": shape.sample_shape, "test_rows": shape.test_rows,
                "class_rows": dict(shape.class_rows) if shape.class_rows is not None else got["class_rows"]}
        assert got == want, name
        assert shape.exact, f"{name}: loaded exactly, so declare it exact"
        checked.append(name)
    # the mirror of this project: Mammography, NSL-KDD 20 %, MNIST t10k, 12 ADBench tables, 2 embedded
    assert len(checked) >= 17, checked
