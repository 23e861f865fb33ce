"""A3v2 (docs/methods.md#a3v2) and A³-2020 (docs/methods.md#a3-2020): losses, switches, frozen targets, learning direction."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from toydata import toy_context, toy_split

import alarmbench.methods.a3 as a3mod
from alarmbench.methods import build_method
from alarmbench.data.prepare import Prepared
from alarmbench.data.spec import ClassSetup, HyperParams
from alarmbench.data.splits import SplitParams, make_split
from alarmbench.features.activations import flatten_activations
from alarmbench.methods.a3 import (
    A3_2020,
    a3_2020_loss,
    a3_loss,
    automatic_class_weight,
    dropout_reaches_activations,
)
from alarmbench.runtime.context import Context
from alarmbench.targets.training import keras_adam
from alarmbench.nets.keras import keras_bce
from alarmbench.nets.targets import build_target, r2ad2_target

SMALL = {"a3_alarm_dims": (32, 16, 8, 4)}  # A³'s (1000, 500, 200, 75) is slow on a 2-core CPU


@pytest.fixture(scope="module")
def zero_split():
    return toy_split(zero_frac=0.3)


def auc(split, det) -> float:
    return roc_auc_score(split.a_test, det.score(split.x_test))


def balanced(split, n: int = 40, flip: bool = False):
    """The first n normal rows + the known anomalies (labels optionally flipped)."""
    idx = np.r_[np.arange(n), np.flatnonzero(split.a_train)]
    a = split.a_train[idx]
    counts = dict(split.meta["counts"], n_normal_train=n)
    return dataclasses.replace(split, x_train=split.x_train[idx], y_train=split.y_train[idx],
                               a_train=(1 - a if flip else a).astype(a.dtype), meta=dict(split.meta, counts=counts))


def image_split(n: int = 200):
    rng = np.random.default_rng(0)
    n_anom = n // 5
    x = rng.uniform(0, 60, size=(n, 28, 28)).astype(np.float32)
    x[: n - n_anom, 4:12, 4:12] += 180  # normal: bright square top left
    x[n - n_anom :, 16:24, 16:24] += 180  # anomaly: bright square bottom right
    labels = np.array(["0"] * (n - n_anom) + ["1"] * n_anom)
    prep = Prepared("img", x, labels, labels, None, None, {"dataset": "img"})
    params = SplitParams(ClassSetup(["0"], ["1"]), seed=1, n_train_anomalies=10, scaling="divide255")
    return make_split(prep, params, experiment="known")


def image_context() -> Context:
    hp = HyperParams(encoder=8, alarm=(16, 8, 4, 2), batch_size=64, a3_target="conv", a3_batch_size=64)
    return Context(hparams=hp, seed=3, epochs=1)


# ------------------------------------------------------------------------------------------------ A3v2


@pytest.fixture(scope="module")
def a3v2_fit(zero_split, tmp_path_factory):
    work = tmp_path_factory.mktemp("a3v2")
    ctx = toy_context(epochs=3)
    ctx.work_dir = work
    det = build_method("a3")
    det.keep_train_activations = True
    return det.fit(zero_split, ctx), work


def test_a3v2_finite_nonconstant_and_learns(a3v2_fit, zero_split):
    det, _ = a3v2_fit
    for x in (zero_split.x_test, zero_split.x_train):
        s = det.score(x)
        assert s.shape == (len(x),) and np.isfinite(s).all() and s.std() > 0
    assert auc(zero_split, det) > 0.9


def test_a3v2_and_a3_train_under_bf16_autocast(a3v2_fit, zero_split):
    det, _ = a3v2_fit
    bf16 = build_method("a3").fit(zero_split, toy_context(epochs=3, precision="bf16"))
    assert np.isfinite(bf16.score(zero_split.x_test)).all() and auc(zero_split, bf16) > 0.9
    assert not np.allclose(bf16.score(zero_split.x_test), det.score(zero_split.x_test))
    a3 = build_method("a3-2020").fit(zero_split, toy_context(epochs=3, precision="bf16"))
    assert np.isfinite(a3.score(zero_split.x_test)).all() and auc(zero_split, a3) > 0.8


def test_a3v2_cached_activations_equal_recomputed(a3v2_fit, zero_split):
    det, _ = a3v2_fit
    with torch.no_grad():
        det.target.eval()
        direct = flatten_activations(det.target.hidden_activations(torch.as_tensor(zero_split.x_train)))
    assert det.train_activations_.shape == (len(zero_split.x_train), 2 * (5 + 3) + 2)
    torch.testing.assert_close(det.train_activations_, direct, rtol=1e-6, atol=1e-6)


def test_a3v2_target_unchanged_by_alarm_training(a3v2_fit):
    det, work = a3v2_fit
    cached = torch.load(work / "targets" / "ae.pt", weights_only=True)["state"]
    for k, v in det.target.state_dict().items():
        torch.testing.assert_close(v, cached[k], rtol=0, atol=0)
    assert not det.target.training and not any(p.requires_grad for p in det.target.parameters())
    assert not (work / "checkpoints" / "a3.ckpt").exists()  # a finished fit leaves no resumable state


def test_a3v2_loss_is_exact_from_logits():
    real = torch.tensor([20.0, -3.0])
    y = torch.tensor([0.0, 1.0])
    noise = torch.tensor([-20.0])
    got = a3_loss(real, y, noise).item()
    # exact: softplus(20) ≈ 20, softplus(3) = 3.0486; noise: softplus(20) ≈ 20 (the clipped one caps at ≈15.4)
    expected = (math.log1p(math.exp(20.0)) + math.log1p(math.exp(3.0))) / 2 + math.log1p(math.exp(20.0))
    assert got == pytest.approx(expected, rel=1e-6)


def test_a3v2_same_seed_same_scores(a3v2_fit, zero_split):
    det, _ = a3v2_fit
    again = build_method("a3").fit(zero_split, toy_context(epochs=3))
    np.testing.assert_array_equal(again.score(zero_split.x_test), det.score(zero_split.x_test))


# ------------------------------------------------------------------------------------------------ A³-2020


@pytest.fixture(scope="module")
def a3_fit(zero_split):
    return build_method("a3-2020", **SMALL).fit(zero_split, toy_context(epochs=2))


def test_a3_finite_nonconstant_and_high_auc(a3_fit, zero_split):
    for x in (zero_split.x_test, zero_split.x_train):
        s = a3_fit.score(x)
        assert np.isfinite(s).all() and s.std() > 0
    # No AUC bound: at the paper's lr 1e-5 the alarm barely moves on this toy in a few epochs, so its
    # ranking is the initialisation's (it passed before only for the stream name "a3").
    assert not a3_fit.on_the_fly  # dense AE: its dropout follows the last ReLU ⇒ activations cached
    assert not a3_fit.target.training and a3_fit.class_weight == 1.0


def test_a3_real_term_sets_the_direction(zero_split, monkeypatch):
    """Balanced classes, no noise, alarm lr raised to 1e-3 so that a few epochs suffice: the real-data
    BCE alone ranks known-like anomalies first, and the same fit with flipped labels ranks them last."""
    monkeypatch.setattr(a3mod, "keras_adam", lambda params, lr: keras_adam(params, 1e-3))
    opts = dict(a3_noise=False, **SMALL)
    assert auc(zero_split, build_method("a3-2020", **opts).fit(balanced(zero_split), toy_context(epochs=10))) > 0.9
    assert auc(zero_split, build_method("a3-2020", **opts).fit(balanced(zero_split, flip=True), toy_context(epochs=10))) < 0.5


def test_a3_class_weight_formula(zero_split):
    assert automatic_class_weight(1023, 40) == 26.0  # ⌈25.6⌉
    assert automatic_class_weight(10_000, 5) == 100.0  # capped at w_max
    assert automatic_class_weight(100, 100) == 1.0
    assert automatic_class_weight(100, 0) == 1.0
    det = build_method("a3-2020", a3_class_weights=True, **SMALL).fit(zero_split, toy_context(epochs=1))
    n_anom = int(zero_split.a_train.sum())
    assert det.class_weight == min(math.ceil((len(zero_split.a_train) - n_anom) / n_anom), 100)


def test_a3_class_weight_scales_only_real_anomalies():
    real = torch.tensor([0.3, -1.2, 2.0, -0.5])
    y = torch.tensor([0.0, 1.0, 1.0, 0.0])
    noise = torch.tensor([0.1, -2.0, 0.7, 1.5])
    per = keras_bce(real, y, from_logits=True, reduction="none")
    w = 7.0
    # Keras class_weight: per-sample weights, then the batch mean
    weighted = (per * torch.where(y > 0, w, 1.0)).mean()
    assert a3_2020_loss(real, y, None, class_weight=w).item() == pytest.approx(weighted.item())
    diff = a3_2020_loss(real, y, None, class_weight=w) - a3_2020_loss(real, y, None)
    assert diff.item() == pytest.approx(((w - 1) * per[y > 0].sum() / 4).item(), rel=1e-6)
    # the noise term is never weighted
    noise_term = keras_bce(torch.sigmoid(noise), torch.ones(4), from_logits=False)
    for cw in (1.0, w):
        got = a3_2020_loss(real, y, noise, class_weight=cw) - a3_2020_loss(real, y, None, class_weight=cw)
        assert got.item() == pytest.approx(noise_term.item(), rel=1e-6)
    # a batch without anomalies is unaffected
    y0 = torch.zeros(4)
    assert a3_2020_loss(real, y0, noise, class_weight=w).item() == a3_2020_loss(real, y0, noise).item()


def test_a3_bce_formulas_per_term():
    """Real term: exact from logits (docs/methods.md#keras-conventions); noise term: clipped (saturates at −log(2e-7) ≈ 15.42)."""
    real = torch.tensor([20.0])
    assert a3_2020_loss(real, torch.tensor([0.0])).item() == pytest.approx(20.0, rel=1e-6)
    base = a3_2020_loss(torch.tensor([0.0]), torch.tensor([0.0]))
    noise_term = a3_2020_loss(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([-20.0])) - base
    assert noise_term.item() == pytest.approx(-math.log(2e-7), rel=1e-5)


def test_a3_noise_switch_off_removes_the_noise_term(zero_split, monkeypatch):
    real, y = torch.tensor([0.3, -1.2]), torch.tensor([0.0, 1.0])
    assert a3_2020_loss(real, y, None).item() == pytest.approx(keras_bce(real, y, from_logits=True).item())

    def no_noise(*a, **k):
        raise AssertionError("noise drawn although a3_noise is off")

    monkeypatch.setattr(a3mod, "counterexamples", no_noise)
    det = build_method("a3-2020", a3_noise=False, **SMALL).fit(zero_split, toy_context(epochs=1))
    assert np.isfinite(det.score(zero_split.x_test)).all()


def test_a3_shifted_l1_hand_computed():
    real = torch.tensor([0.0, math.log(3.0)])  # ŷ = 0.5, 0.75 ⇒ mean|1 − ŷ| = 0.375
    y = torch.tensor([0.0, 1.0])
    noise = torch.tensor([-math.log(3.0)])  # ŷ = 0.25 ⇒ |1 − ŷ| = 0.75
    lam = 0.01
    with_noise = a3_2020_loss(real, y, noise, shifted_l1=lam) - a3_2020_loss(real, y, noise)
    assert with_noise.item() == pytest.approx(lam * (0.375 + 0.75), rel=1e-5)
    without_noise = a3_2020_loss(real, y, None, shifted_l1=lam) - a3_2020_loss(real, y, None)
    assert without_noise.item() == pytest.approx(lam * 0.375, rel=1e-5)
    assert a3mod._shifted_l1_option(True) == 0.01 and a3mod._shifted_l1_option(False) == 0.0
    assert a3mod._shifted_l1_option(0.5) == 0.5


def test_a3_dropout_detection():
    assert not dropout_reaches_activations(build_target("a3_dense", (6,), (5, 3, 2)))
    assert dropout_reaches_activations(build_target("a3_conv", (28, 28)))  # SpatialDropout before last ReLU
    assert dropout_reaches_activations(r2ad2_target((6,), (5, 3, 2)))


def test_a3_images_conv_target_on_the_fly(monkeypatch):
    split = image_split()
    seen_modes = []
    original = a3mod.flatten_activations

    def spy(acts):
        seen_modes.append(det.target.training)
        return original(acts)

    det = build_method("a3-2020", **SMALL)
    monkeypatch.setattr(a3mod, "flatten_activations", spy)
    det.fit(split, image_context())
    assert det.on_the_fly and all(seen_modes) and seen_modes  # dropout active during alarm training
    assert not det.target.training  # clean at prediction
    s = det.score(split.x_test)
    assert s.shape == (len(split.x_test),) and np.isfinite(s).all() and s.std() > 0


def test_a3v2_images():
    split = image_split()
    det = build_method("a3").fit(split, image_context())
    s = det.score(split.x_test)
    assert np.isfinite(s).all()
    # ranking, not only finiteness: the bright bottom-right square must score above the normal one
    assert roc_auc_score(split.y_test, s) > 0.9


def test_a3_same_seed_same_scores(a3_fit, zero_split):
    again = build_method("a3-2020", **SMALL).fit(zero_split, toy_context(epochs=2))
    np.testing.assert_array_equal(again.score(zero_split.x_test), a3_fit.score(zero_split.x_test))


def test_a3v2_cached_activations_in_memory_or_on_disk_score_the_same(a3v2_fit, zero_split, tmp_path):
    """The workflow's path: activations read from the fp16 cache, held in memory when they fit,
    else gathered per batch from the memory-mapped files; scoring streams the cache."""
    from alarmbench.features.cache import FeatureCacheWriter
    from alarmbench.targets.training import trained_ae

    _, work = a3v2_fit
    ctx = toy_context(epochs=2)
    ctx.work_dir = work  # the trained AE target of the fixture
    ae = trained_ae(zero_split, ctx).eval()
    for part in ("train", "val", "test"):
        x = torch.as_tensor(getattr(zero_split, f"x_{part}"))
        with torch.no_grad():
            acts = flatten_activations(ae.hidden_activations(x))
        with FeatureCacheWriter(tmp_path / part, (acts.shape[1],), chunk_rows=50, expected_rows=len(x)) as w:
            w.append(acts)
    ctx.features = {"activations": {p: tmp_path / p for p in ("train", "val", "test")}}
    scores = []
    for budget, sub in ((2**30, "mem"), (1, "disk")):
        ctx.feature_memory_bytes, ctx.work_dir = budget, tmp_path / sub
        (tmp_path / sub / "targets").mkdir(parents=True)
        for f in (work / "targets").iterdir():  # same target, no alarm checkpoint to resume from
            (tmp_path / sub / "targets" / f.name).write_bytes(f.read_bytes())
        scores.append(build_method("a3").fit(zero_split, ctx).score_split(zero_split, "test"))
    assert np.array_equal(scores[0], scores[1]) and np.isfinite(scores[0]).all()
    assert roc_auc_score(zero_split.a_test, scores[0]) > 0.8


# ------------------------------------------------------------------------------------------------ preprint recipe


def test_the_preprint_recipe_id_builds_with_the_preprint_switches(zero_split, monkeypatch):
    """`a3-2020-preprint` (docs/methods.md#a3-preprint-recipe): no noise, automatic class weights, shifted L1 0.01,
    alarm [500, 200, 75], and the loss gets them; `a3-2020` keeps the final code's recipe."""
    from alarmbench.methods import build_method
    from alarmbench.methods.catalog import METHODS

    final, preprint = build_method("a3-2020"), build_method("a3-2020-preprint")
    assert (final.name, final.recipe, preprint.name, preprint.recipe) == ("a3-2020", "final", "a3-2020-preprint",
                                                                          "preprint")
    # the catalog's option defaults are the recipes (their only place: build_method passes them)
    assert final.options == {o.name: o.default for o in METHODS["a3-2020"].options}
    assert preprint.options == {o.name: o.default for o in METHODS["a3-2020-preprint"].options}

    seen = []
    real_loss = a3mod.a3_2020_loss
    monkeypatch.setattr(a3mod, "a3_2020_loss", lambda *a, **k: seen.append((a, k)) or real_loss(*a, **k))

    def no_noise(*a, **k):
        raise AssertionError("the preprint recipe drew noise counter-examples")

    monkeypatch.setattr(a3mod, "counterexamples", no_noise)
    det = preprint.fit(zero_split, toy_context(epochs=1))
    n_anom = int(zero_split.a_train.sum())
    assert det.alarm.dims == (500, 200, 75) and det.noise_on is False and det.shifted_l1 == 0.01
    assert det.class_weight == automatic_class_weight(len(zero_split.a_train) - n_anom, n_anom) > 1
    assert seen and all(a[2] is None and k == {"class_weight": det.class_weight, "shifted_l1": 0.01} for a, k in seen)
    # an explicit option still overrides the recipe
    small = build_method("a3-2020-preprint", a3_class_weights=False, **SMALL).fit(zero_split, toy_context(epochs=1))
    assert small.class_weight == 1.0 and small.alarm.dims == (32, 16, 8, 4)
    with pytest.raises(ValueError, match="recipe 'paper'"):
        A3_2020(recipe="paper", **{o.name: o.default for o in METHODS["a3-2020"].options})
