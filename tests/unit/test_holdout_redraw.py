"""R2-AD2's hold-out re-draw (a quirk of the original, docs/methods.md#r2ad2-snapshots): which normal rows T0 and the snapshot segments train on.

The authors' GAA-AE (T0) fits on the hold-out of one `to_data`; each GAA-k then fits all its
segments on the one hold-out of its own `to_data` (GAA.add_target's x_train)."""

import numpy as np
import pytest

from alarmbench.data.splits import SplitParams, make_split
from alarmbench.data.spec import ClassSetup
from alarmbench.targets import training as target_training
from alarmbench.targets.training import snapshot_family
from toydata import toy_context, toy_prepared, chain_options


def split_with_redraws(n: int):
    params = SplitParams(ClassSetup(["0"], ["1"]), seed=110, n_train_anomalies=20, holdout_redraws=n)
    return make_split(toy_prepared(n=400), params, experiment="known")


@pytest.fixture
def seen(monkeypatch):
    """The training rows (as row-index sets into the normal training rows) of each train_reconstruction call."""
    calls = []
    real = target_training.train_reconstruction

    def spy(model, x, ctx, *, stream, **kw):
        calls.append((stream, x.detach().cpu().numpy()))
        return real(model, x, ctx, stream=stream, **kw)

    monkeypatch.setattr(target_training, "train_reconstruction", spy)
    return calls


def rows_of(split, x):
    """Which normal training rows `x` holds (rows are unique after the toy data's continuous draws)."""
    lookup = {r.tobytes(): i for i, r in enumerate(split.train_target)}
    return sorted(lookup[r.tobytes()] for r in x)


def test_segments_share_one_redraw_and_t0_keeps_the_first_draw(seen):
    split = split_with_redraws(2)
    snapshot_family(split, toy_context(epochs=2), 4, **chain_options(holdout_redraw=True))
    assert [s for s, _ in seen] == ["target/gaa", *[f"target/gaa/k4_redraw/segment{i}" for i in (1, 2, 3)]]
    assert rows_of(split, seen[0][1]) == sorted(split.holdout)
    redraw = sorted(split.extra["holdout_redraws"][0])
    assert redraw != sorted(split.holdout)
    assert all(rows_of(split, x) == redraw for _, x in seen[1:])


def test_without_the_option_every_segment_trains_on_the_one_holdout(seen):
    split = split_with_redraws(1)  # stored, but not asked for
    snapshot_family(split, toy_context(epochs=2), 4, **chain_options())
    assert len(seen) == 4 and all(rows_of(split, x) == sorted(split.holdout) for _, x in seen)


def test_chain_per_k_reads_its_own_redraw(seen):
    split = split_with_redraws(3)
    snapshot_family(split, toy_context(epochs=2), 3, **chain_options(holdout_redraw=True, snapshots_per_k=True))
    assert len(seen) == 3  # T0 and two segments of the GAA-3 chain
    assert all(rows_of(split, x) == sorted(split.extra["holdout_redraws"][2]) for _, x in seen[1:])


def test_fewer_stored_redraws_than_chains_fall_back_to_the_last(seen):
    split = split_with_redraws(1)
    snapshot_family(split, toy_context(epochs=2), 3, **chain_options(holdout_redraw=True, snapshots_per_k=True))
    assert all(rows_of(split, x) == sorted(split.extra["holdout_redraws"][0]) for _, x in seen[1:])


def test_redraw_asked_for_but_not_stored_is_an_error(seen):
    with pytest.raises(ValueError, match="stores no hold-out re-draw"):
        snapshot_family(split_with_redraws(0), toy_context(epochs=2), 4, **chain_options(holdout_redraw=True))
    assert seen == []  # before any training


def test_rows_seen_by_some_snapshot_follow_the_draws():
    """What the switch changes on Mammography's scale: ¾ of the normal rows seen with one draw, 1 − ¼² with two."""
    split = split_with_redraws(1)
    n = split.n_normal
    once = len(set(split.holdout)) / n
    twice = len(set(split.holdout) | set(split.extra["holdout_redraws"][0])) / n
    assert once == pytest.approx(0.75, abs=1 / n)
    assert twice == pytest.approx(1 - 0.25 ** 2, abs=0.05) and twice > once
    assert np.isin(split.extra["holdout_redraws"][0], np.arange(n)).all()


def test_a_single_cell_run_stores_the_redraw_its_option_reads():
    from alarmbench.runner import CellSpec

    assert CellSpec("toy", "r2ad2", 110, options={"holdout_redraw": True}).split_protocol() == {"holdout_redraws": 1}
    assert CellSpec("toy", "r2ad2", 110, options={"holdout_redraw": False}).split_protocol() == {}
    explicit = CellSpec("toy", "r2ad2", 110, options={"holdout_redraw": True}, protocol={"holdout_redraws": 3, "rng": "original"})
    assert explicit.split_protocol() == {"holdout_redraws": 3, "rng": "original"}
