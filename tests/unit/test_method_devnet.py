"""DevNet (docs/methods.md#devnet): deviation loss, balanced batches, best-loss checkpoint, direction of the loss."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from toydata import fit_killed_after_checkpoint, toy_context, toy_split

from alarmbench.methods import build_method
from alarmbench.methods import devnet
from alarmbench.methods.devnet import (
    DevNet,
    NoKnownAnomaliesError,
    balanced_batch,
    deviation_loss,
)

EPOCHS = 5


@pytest.fixture(scope="module")
def zero_split():
    return toy_split(zero_frac=0.3)


@pytest.fixture(scope="module")
def fitted(zero_split):
    return build_method("devnet").fit(zero_split, toy_context(epochs=EPOCHS))


def test_deviation_loss_hand_computed():
    scores = torch.tensor([0.0, 1.0, 6.0, 2.0])
    y = torch.tensor([0, 0, 1, 1])
    # reference mean 2, population std 1 ⇒ dev = score − 2 = [−2, −1, 4, 0]
    ref = torch.tensor([1.0, 3.0])
    # normals |dev|: 2, 1; anomalies max(0, 5 − dev): 1, 5 ⇒ mean 9 / 4
    assert deviation_loss(scores, y, ref).item() == pytest.approx(2.25)
    # gradients push normal deviations towards 0 and anomalies above the margin
    s = scores.clone().requires_grad_(True)
    deviation_loss(s, y, ref).backward()
    assert s.grad.tolist() == pytest.approx([-0.25, -0.25, -0.25, -0.25])
    assert deviation_loss(torch.tensor([2.0, 8.0]), torch.tensor([0, 1]), ref).item() == 0.0


def test_l2_penalty_is_keras_l2_on_the_hidden_kernel():
    net = devnet.DevNetNet(6)
    expected = 0.01 * (net.hidden.weight.detach() ** 2).sum()
    torch.testing.assert_close(net.l2_penalty().detach(), expected)


def test_batches_balanced_with_anomalies_at_odd_positions():
    normal_idx = torch.arange(0, 100)
    anomaly_idx = torch.arange(100, 107)
    gen = torch.Generator().manual_seed(0)
    idx, y = balanced_batch(normal_idx, anomaly_idx, 512, gen)
    assert idx.shape == (512,) and y.shape == (512,)
    assert (idx[0::2] < 100).all() and (idx[1::2] >= 100).all()
    assert (y[0::2] == 0).all() and (y[1::2] == 1).all() and y.sum() == 256
    assert len(set(idx[1::2].tolist())) == 7  # drawn with replacement from all 7 anomalies
    # reproducible from the generator
    idx2, _ = balanced_batch(normal_idx, anomaly_idx, 512, torch.Generator().manual_seed(0))
    assert torch.equal(idx, idx2)


def test_finite_nonconstant_on_zero_rows(fitted, zero_split):
    for x in (zero_split.x_test, zero_split.x_train):
        s = fitted.score(x)
        assert s.shape == (len(x),) and np.isfinite(s).all() and s.std() > 0
    assert roc_auc_score(zero_split.a_test, fitted.score(zero_split.x_test)) > 0.9


def test_loss_direction_matters(fitted, zero_split):
    """Known anomalies → high AUC; the same fit with the labels flipped ranks the other way."""
    assert roc_auc_score(zero_split.a_test, fitted.score(zero_split.x_test)) > 0.9
    flipped = dataclasses.replace(zero_split, a_train=(1 - zero_split.a_train).astype(zero_split.a_train.dtype))
    inverse = build_method("devnet").fit(flipped, toy_context(epochs=EPOCHS))
    assert roc_auc_score(zero_split.a_test, inverse.score(zero_split.x_test)) < 0.5


def test_best_loss_checkpoint_is_used(zero_split, monkeypatch):
    """From the third epoch on, every reported loss is raised by a constant (no gradient change):
    the epoch-2 weights are the best ones, so the scores equal those of a 2-epoch fit."""
    calls = {"n": 0}
    original = devnet.deviation_loss

    def inflated(*args, **kw):
        calls["n"] += 1
        value = original(*args, **kw)
        return value + 100.0 if calls["n"] > 2 * DevNet.batches_per_epoch else value

    monkeypatch.setattr(devnet, "deviation_loss", inflated)
    det = build_method("devnet").fit(zero_split, toy_context(epochs=4))
    assert len(det.history_) == 4 and calls["n"] == 4 * DevNet.batches_per_epoch
    assert det.best_epoch_ == int(np.argmin(det.history_)) and det.best_epoch_ < 2
    assert min(det.history_[2:]) > 100
    monkeypatch.setattr(devnet, "deviation_loss", original)
    short = build_method("devnet").fit(zero_split, toy_context(epochs=det.best_epoch_ + 1))
    np.testing.assert_array_equal(det.score(zero_split.x_test), short.score(zero_split.x_test))
    # and they differ from the last epoch's weights (the ones a "use final weights" port would keep)
    last = build_method("devnet").fit(zero_split, toy_context(epochs=4))
    assert not np.array_equal(last.score(zero_split.x_test), det.score(zero_split.x_test))


def test_paper_schedule_and_epoch_override(zero_split):
    det = build_method("devnet").fit(zero_split, toy_context(epochs=2))
    assert len(det.history_) == 2
    assert DevNet.batch_size == 512 and DevNet.batches_per_epoch == 20 and DevNet.paper_epochs == 50


def test_no_known_anomalies_is_a_clear_error():
    split = toy_split(n_anomalies=0)
    with pytest.raises(NoKnownAnomaliesError, match="anomal"):
        build_method("devnet").fit(split, toy_context(epochs=1))


def test_reference_redrawn_per_batch_option(fitted, zero_split):
    det = build_method("devnet", devnet_fixed_reference=False).fit(zero_split, toy_context(epochs=EPOCHS))
    s = det.score(zero_split.x_test)
    assert np.isfinite(s).all() and not np.array_equal(s, fitted.score(zero_split.x_test))
    assert roc_auc_score(zero_split.a_test, s) > 0.9


def test_same_seed_same_scores_and_resume(fitted, zero_split, tmp_path, monkeypatch):
    again = build_method("devnet").fit(zero_split, toy_context(epochs=EPOCHS))
    np.testing.assert_array_equal(again.score(zero_split.x_test), fitted.score(zero_split.x_test))
    # killed after 2 epochs, rerun: resumes to a fit identical to the uninterrupted one
    ctx = toy_context(epochs=EPOCHS)
    ctx.work_dir = tmp_path
    fit_killed_after_checkpoint(monkeypatch, lambda: build_method("devnet").fit(zero_split, ctx), "devnet", 2)
    assert (tmp_path / "checkpoints" / "devnet.ckpt").exists()
    resumed = build_method("devnet").fit(zero_split, ctx)
    np.testing.assert_array_equal(resumed.score(zero_split.x_test), fitted.score(zero_split.x_test))
    assert resumed.history_ == pytest.approx(fitted.history_)
    assert not (tmp_path / "checkpoints" / "devnet.ckpt").exists()  # finished: nothing left to resume


def test_changed_epochs_never_resume_a_finished_fit(zero_split, tmp_path):
    """Issue 15: epochs 3 → 2 once resumed the 3-epoch checkpoint and trained zero steps."""
    ctx = toy_context(epochs=3)
    ctx.work_dir = tmp_path
    build_method("devnet").fit(zero_split, ctx)
    ctx.epochs = 2
    rerun = build_method("devnet").fit(zero_split, ctx)
    fresh = build_method("devnet").fit(zero_split, toy_context(epochs=2))
    np.testing.assert_array_equal(rerun.score(zero_split.x_test), fresh.score(zero_split.x_test))
    assert len(rerun.history_) == 2
