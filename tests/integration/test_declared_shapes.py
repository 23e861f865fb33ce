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
        labels = np.asarray(prep.labels).astype(str)
        test = None if prep.is_test is None else np.asarray(prep.is_test, bool)
        got = {"rows": len(prep.X), "sample_shape": tuple(prep.X.shape[1:]),
               "test_rows": None if test is None else int(test.sum()), "class_rows": dict(Counter(labels)),
               "test_class_rows": None if test is None else dict(Counter(labels[test]))}
        want = {"rows": shape.rows, "sample_shape": shape.sample_shape, "test_rows": shape.test_rows,
                "class_rows": dict(shape.class_rows) if shape.class_rows is not None else got["class_rows"],
                "test_class_rows": None if shape.test_class_rows is None else dict(shape.test_class_rows)}
        assert got == want, name
        assert shape.exact, f"{name}: loaded exactly, so declare it exact"
        checked.append(name)
    # the mirror of this project: Mammography, NSL-KDD 20 %, MNIST t10k, 12 ADBench tables, 2 embedded
    assert len(checked) >= 17, checked


@pytest.mark.parametrize("name", ["mammography", "nsl_kdd_20", "mnist_t10k", "adbench_shuttle", "adbench_cover",
                                  "adbench_breastw"])
def test_plan_before_the_split_is_the_split(mirror, raw_root, name):
    """The plan's sizes from the documented shape (before any download) against the real split's
    (tables with many anomalies used to be overstated: every row counted as normal)."""
    from alarmbench import grid
    from alarmbench.data.api import split_cell
    from alarmbench.plan.shapes import protocol_shapes

    spec = REGISTRY[name]
    n = grid.effective_n(spec, 100, experiment="known")
    planned = protocol_shapes(name, spec, "known", spec.shape, n, "registry")
    split = split_cell(prepare_dataset(name, raw_root=raw_root, mirror=mirror), experiment="known", seed=110,
                       n_anomalies=n, pollution=0.0)
    for got, want in ((planned.n_train, len(split.x_train)), (planned.n_normal_train, len(split.train_target)),
                      (planned.n_val + planned.n_test, len(split.x_val) + len(split.x_test))):
        # the test part is a random (not stratified) 20 %: class shares in the rest vary by a few rows
        assert abs(got - want) <= 0.03 * want + 5, (name, got, want)
