"""Deep SVDD / Deep SAD (docs/methods.md#deepsad): centre rule, loss, lr decay, detection, switches, caching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from toydata import fit_killed_after_checkpoint, toy_context, toy_image_split, toy_split

from alarmbench.methods import build_method
from alarmbench.data.spec import HyperParams
from alarmbench.data.splits import Split
from alarmbench.runtime.context import Context
from alarmbench.methods.deepsad import (
    EPS,
    MappingNet,
    compute_center,
    deepsad_loss,
    keras_time_decay,
    pretrained_deepsvdd_ae,
    push_center,
    sq_distance,
)  # fmt: skip


# torch runs single-threaded in every test (tests/conftest.py).


@pytest.fixture(scope="module")
def zero_split():
    return toy_split(zero_frac=0.3)


def wide_context(seed: int = 110, epochs: int = 10) -> Context:
    """(32, 16, 8): wide enough that training converges reliably on the toy table within seconds
    (with (5, 3, 2) and dropout 0.4 a few seeds end inverted at inference after a few epochs)."""
    return Context(hparams=HyperParams(encoder=(32, 16, 8), batch_size=64), seed=seed, epochs=epochs,
                   checkpoint_every_s=0)  # a checkpoint every epoch: the resume test kills the fit after epoch 2


# --- building blocks ------------------------------------------------------------------------------


def test_center_push_rule():
    c = torch.tensor([0.05, -0.05, 0.0, 0.2, -0.3, 0.1, -0.1, 0.0999, -1e-9])
    expected = torch.tensor([0.1, -0.1, -0.1, 0.2, -0.3, 0.1, -0.1, 0.1, -0.1])
    torch.testing.assert_close(push_center(c), expected)


def test_deepsad_loss_terms():
    d = torch.tensor([0.5, 2.0, 0.0, 4.0])
    semi = torch.tensor([1.0, -1.0, 1.0, -1.0])
    terms = torch.tensor([0.5 + EPS, 1 / (2.0 + EPS), EPS, 1 / (4.0 + EPS)])
    torch.testing.assert_close(deepsad_loss(d, semi), terms.mean())
    torch.testing.assert_close(deepsad_loss(d[1:2], semi[1:2]), torch.tensor(1 / (2.0 + EPS)))
    torch.testing.assert_close(deepsad_loss(d, None), d.mean())
    # An anomaly's loss falls as it moves away from the centre, a normal row's rises.
    dd = torch.tensor([1.0, 1.0], requires_grad=True)
    deepsad_loss(dd, torch.tensor([1.0, -1.0])).backward()
    assert dd.grad[0] > 0 > dd.grad[1]
    torch.testing.assert_close(sq_distance(torch.tensor([[1.0, 2.0]]), torch.tensor([0.0, 4.0])), torch.tensor([5.0]))


def test_keras_time_decay():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = keras_time_decay(opt)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3)
    for _ in range(1000):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 / (1 + 1e-5 * 1000))


def test_center_in_inference_mode_and_mapping_is_bias_free(zero_split):
    ctx = toy_context(epochs=1)
    ae = pretrained_deepsvdd_ae(zero_split, ctx)
    phi = MappingNet(ae).train()  # dropout active: the centre must still be deterministic
    assert all(not hasattr(m, "bias") or m.bias is None for m in phi.modules())
    assert any(isinstance(m, torch.nn.Dropout) for m in phi.modules())
    c1 = compute_center(phi, zero_split.train_target, torch.device("cpu"))
    c2 = compute_center(phi, zero_split.train_target, torch.device("cpu"))
    torch.testing.assert_close(c1, c2)
    assert phi.training  # mode restored
    with torch.no_grad():
        raw = ae.eval().encode(torch.as_tensor(zero_split.train_target)).mean(0)
    torch.testing.assert_close(c1, push_center(raw))
    assert (c1.abs() >= 0.1 - 1e-7).all()


# --- detectors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["deepsad", "deepsvdd"])
def test_zero_rows_give_finite_nonconstant_scores(zero_split, method):
    """Bias-free φ maps the 30 % exact-zero rows to 0; the pushed centre keeps d(0) = ‖c‖² > 0."""
    det = build_method(method).fit(zero_split, toy_context(epochs=3))
    scores = det.score(zero_split.x_test)
    assert scores.shape == (len(zero_split.x_test),) and scores.dtype == np.float64
    assert np.isfinite(scores).all() and scores.std() > 1e-6
    zero = det.score(np.zeros((2, 6), dtype=np.float32))
    np.testing.assert_allclose(zero, float((det.center**2).sum()), rtol=1e-6)
    assert zero[0] >= 0.01 * len(det.center) - 1e-6


def direction_split(n_normal: int = 800, n_anom: int = 40, n_test: int = 200, seed: int = 0) -> Split:
    """Normal rows around u = (.7, .3, .7, .3, .7, .3), anomalies around its mirror image: same scale,
    another direction, so that only the labels separate them for a bias-free φ."""
    rng = np.random.default_rng(seed)
    u = np.array([0.7, 0.3] * 3, dtype=np.float32)

    def draw(center, n):
        return np.clip(center + 0.1 * rng.normal(size=(n, 6)), 0, 1).astype(np.float32)

    x_train = np.concatenate([draw(u, n_normal), draw(u[::-1], n_anom)])
    a_train = np.r_[np.zeros(n_normal), np.ones(n_anom)].astype(np.int8)
    x_test = np.concatenate([draw(u, n_test), draw(u[::-1], n_test // 4)])
    a_test = np.r_[np.zeros(n_test), np.ones(n_test // 4)].astype(np.int8)
    return Split(x_train=x_train, y_train=a_train.astype(str), a_train=a_train, x_val=x_test, y_val=a_test.astype(str),
                 a_val=a_test, x_test=x_test, y_test=a_test.astype(str), a_test=a_test,
                 holdout=np.arange(n_normal), meta={"counts": {"n_normal_train": n_normal}})


def test_deepsad_uses_known_anomalies():
    """Known anomalies of another direction: Deep SAD ranks the test anomalies first. With the
    anomaly term ignored (Deep SVDD-like) this cell scores AUC ≈ 0.27, with it inverted ≈ 0.01."""
    split = direction_split()
    scores = build_method("deepsad").fit(split, wide_context()).score(split.x_test)
    assert roc_auc_score(split.a_test, scores) > 0.9


def test_deepsvdd_detects_separated_anomalies():
    # Anomalies below the normal range: for a bias-free, positively homogeneous φ, anomalies that
    # are scaled-up normal rows (separation > 0) can land on the centre; see the report.
    split = toy_split(n=1000, separation=-3.0)
    scores = build_method("deepsvdd").fit(split, wide_context(epochs=30)).score(split.x_test)
    assert roc_auc_score(split.a_test, scores) > 0.8


def test_recompute_center_switch(zero_split):
    kept = build_method("deepsad", deepsad_recompute_center=False).fit(zero_split, toy_context(epochs=3))
    recomputed = build_method("deepsad").fit(zero_split, toy_context(epochs=3))  # the default, as the original
    torch.testing.assert_close(kept.center, kept.train_center)
    torch.testing.assert_close(recomputed.train_center, kept.train_center)  # same training
    assert not torch.allclose(recomputed.center, recomputed.train_center)
    torch.testing.assert_close(recomputed.center, compute_center(recomputed.phi, zero_split.train_target,
                                                                 torch.device("cpu")))
    assert not np.allclose(kept.score(zero_split.x_test), recomputed.score(zero_split.x_test))


@pytest.mark.parametrize("method", ["deepsad", "deepsvdd"])
def test_same_seed_same_scores(zero_split, method):
    a = build_method(method).fit(zero_split, toy_context(epochs=2)).score(zero_split.x_test)
    b = build_method(method).fit(zero_split, toy_context(epochs=2)).score(zero_split.x_test)
    c = build_method(method).fit(zero_split, toy_context(seed=7, epochs=2)).score(zero_split.x_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_shared_pretraining_and_cache(zero_split, tmp_path):
    """One DeepSVDD-AE per work dir serves both methods; a cached AE gives the same results."""
    fresh = build_method("deepsvdd").fit(zero_split, toy_context(epochs=2)).score(zero_split.x_test)
    ctx = toy_context(epochs=2)
    ctx.work_dir = tmp_path
    sad = build_method("deepsad").fit(zero_split, ctx).score(zero_split.x_test)
    ae = tmp_path / "targets" / "deepsvdd_ae.pt"
    assert ae.exists()
    stamp = ae.stat().st_mtime_ns
    np.testing.assert_array_equal(build_method("deepsvdd").fit(zero_split, ctx).score(zero_split.x_test), fresh)
    assert ae.stat().st_mtime_ns == stamp and (tmp_path / "targets" / "deepsvdd.pt").exists()
    np.testing.assert_array_equal(build_method("deepsad").fit(zero_split, ctx).score(zero_split.x_test), sad)
    assert not list(tmp_path.rglob("*.ckpt"))


def test_deepsad_resumes_after_interruption(zero_split, tmp_path, monkeypatch):
    full = build_method("deepsad").fit(zero_split, toy_context(epochs=3)).score(zero_split.x_test)
    ctx = toy_context(epochs=3)
    ctx.work_dir = tmp_path
    saved = fit_killed_after_checkpoint(monkeypatch, lambda: build_method("deepsad").fit(zero_split, ctx), "deepsad", 2)
    assert saved.exists()
    torch.manual_seed(4321)  # the resume restores the RNG (dropout) itself
    np.testing.assert_array_equal(build_method("deepsad").fit(zero_split, ctx).score(zero_split.x_test), full)
    assert not saved.exists()


def test_images_use_conv_network():
    split = toy_image_split()
    ctx = Context(hparams=HyperParams(encoder="conv", batch_size=16), seed=110, epochs=1)
    det = build_method("deepsad").fit(split, ctx)
    assert det.center.shape == (32,)
    scores = det.score(split.x_test)
    assert np.isfinite(scores).all() and scores.std() > 0
