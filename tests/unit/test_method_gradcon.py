"""GradCon (docs/methods.md#gradcon): training state, the two similarity variants, vectorised scoring, determinism."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from toydata import toy_context, toy_image_split, toy_split

from alarmbench.methods import build_method
from alarmbench.data.spec import HyperParams
from alarmbench.methods.gradcon import (
    SCORE_WEIGHT,
    TRAIN_WEIGHT,
    GradCon,
    RunningGradient,
    build_gradcon_ae,
    decoder_kernel_names,
    gradient_similarity,
    train_gradcon,
)  # fmt: skip
from alarmbench.runtime.loop import batches
from alarmbench.targets.training import keras_adam


# torch runs single-threaded in every test (tests/conftest.py).


# With the tiny (5, 3, 2) AE, about 15 % of Glorot inits have a dead ReLU code from the start
# (seed 110 is one): the decoder kernels then never get a gradient, A stays 0 and GradCon is the
# plain reconstruction error, as it would be in the original. Tests of the gradient term use 111.
SEED = 111


@pytest.fixture(scope="module")
def zero_split():
    return toy_split(zero_frac=0.3)


def score_loop(det: GradCon, x: np.ndarray) -> np.ndarray:
    """The score one sample at a time with plain autograd (the original's batch-of-one loop)."""
    model = det.model.eval()
    kernels = [model.get_parameter(n) for n in det.kernel_names]
    out = []
    for row in x:
        xb = torch.as_tensor(row[None], dtype=torch.float32)
        rec = F.mse_loss(torch.sigmoid(model(xb)), xb)
        grads = torch.autograd.grad(rec, kernels)
        sims = [gradient_similarity(g, a, det.variant) for g, a in zip(grads, det.running.averages())]
        out.append(float((rec + SCORE_WEIGHT * torch.stack(sims).mean()).detach()))
    return np.asarray(out)


# --- similarity -----------------------------------------------------------------------------------


def test_elementwise_similarity_is_negative_sign_agreement():
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(7, 5, generator=gen)
    a = torch.randn(7, 5, generator=gen)
    g[g.abs() < 1e-3] = 0.5  # no tiny entries: s(v) = sign(v)
    a[a.abs() < 1e-3] = -0.5
    expected = -(torch.sign(g) * torch.sign(a)).mean()
    assert torch.allclose(gradient_similarity(g, a, "elementwise"), expected, atol=1e-6)
    # Keras' per-element l2_normalize: v / max(|v|, 1e-6) for tiny entries, 0 stays 0.
    tiny = torch.tensor([5e-7, 0.0, 2.0])
    ones = torch.tensor([1.0, 1.0, -3.0])
    assert torch.allclose(gradient_similarity(tiny, ones, "elementwise"), -torch.tensor((0.5 + 0.0 - 1.0) / 3))


def test_layer_similarity_is_negative_cosine():
    gen = torch.Generator().manual_seed(1)
    g, a = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    expected = -F.cosine_similarity(g.reshape(1, -1), a.reshape(1, -1)).squeeze()
    assert torch.allclose(gradient_similarity(g, a, "layer"), expected, atol=1e-6)
    assert gradient_similarity(g, torch.zeros_like(a), "layer") == 0  # A = 0: no signal (Keras epsilon)
    with pytest.raises(ValueError, match="gradcon_cosine"):
        gradient_similarity(g, a, "bogus")


def test_decoder_kernels_are_weights_only():
    model = build_gradcon_ae((6,), (5, 3, 2))
    assert decoder_kernel_names(model) == ["decoder.0.weight", "decoder.3.weight", "decoder.6.weight"]
    conv = build_gradcon_ae((28, 28), "conv")
    names = decoder_kernel_names(conv)
    assert len(names) == 4 and all(n.startswith("decoder.") and n.endswith(".weight") for n in names)


# --- training state -------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["elementwise", "layer"])
def test_running_average_is_mean_of_total_loss_gradients(variant):
    """Replay 3 mini-batches by hand: A = mean of ∂L_total/∂W over the batches seen, and the
    weights after training match (second-order term included). Dropout 0 for a deterministic replay."""
    ctx = toy_context(epochs=1)
    bs = ctx.hparams.batch_size
    x = torch.as_tensor(toy_split().train_target[: 3 * bs - 10])  # 3 batches, the last one partial
    torch.manual_seed(0)
    model = build_gradcon_ae((6,), (16, 8, 4), dropout=0.0)
    names = decoder_kernel_names(model)
    replay = copy.deepcopy(model)
    running = RunningGradient([model.get_parameter(n).shape for n in names])
    train_gradcon(model, running, x, ctx, variant=variant, epochs=1)

    opt = keras_adam(replay.parameters(), 1e-3)
    kernels = [replay.get_parameter(n) for n in names]
    seen_total, seen_rec = [], []
    for i, idx in enumerate(batches(len(x), bs, ctx.torch_generator("gradcon/shuffle"))):
        xb = x[idx]
        rec = F.mse_loss(torch.sigmoid(replay(xb)), xb)
        g = torch.autograd.grad(rec, kernels, create_graph=True)
        seen_rec.append([t.detach() for t in g])
        loss = rec
        if i > 0:
            avg = [torch.stack(gs).mean(0) for gs in zip(*seen_total)]
            loss = rec + TRAIN_WEIGHT * torch.stack([gradient_similarity(a, b, variant) for a, b in zip(g, avg)]).mean()
        opt.zero_grad()
        loss.backward()
        seen_total.append([k.grad.clone() for k in kernels])
        opt.step()
    assert len(seen_total) == 3 and int(running.count) == 3
    for got, grads in zip(running.averages(), zip(*seen_total)):
        torch.testing.assert_close(got, torch.stack(grads).mean(0), rtol=1e-5, atol=1e-8)
    for p, q in zip(model.parameters(), replay.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)
    if variant == "layer":  # the total loss gradient differs from the reconstruction gradient
        rec_mean = torch.stack(next(zip(*seen_rec))).mean(0)
        assert not torch.allclose(running.averages()[0], rec_mean, rtol=1e-4, atol=1e-9)


def test_running_average_update():
    running = RunningGradient([torch.Size([2])])
    values = [torch.tensor([1.0, -2.0]), torch.tensor([3.0, 0.0]), torch.tensor([-1.0, 5.0])]
    for v in values:
        running.update([v])
    assert int(running.count) == 3
    torch.testing.assert_close(running.averages()[0], torch.stack(values).mean(0))


# --- the detector ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["elementwise", "layer"])
def test_scores_finite_and_vectorised_equals_loop(zero_split, variant):
    det = build_method("gradcon", gradcon_cosine=variant).fit(zero_split, toy_context(seed=SEED, epochs=3))
    scores = det.score(zero_split.x_test)
    assert scores.shape == (len(zero_split.x_test),) and scores.dtype == np.float64
    assert np.isfinite(scores).all() and scores.std() > 1e-4
    np.testing.assert_allclose(scores, score_loop(det, zero_split.x_test), rtol=1e-5, atol=1e-7)
    assert int(det.running.count) > 0 and any(a.abs().sum() > 0 for a in det.running.averages())


def test_detects_separated_anomalies():
    split = toy_split()
    scores = build_method("gradcon").fit(split, toy_context(seed=SEED, epochs=5)).score(split.x_test)
    assert roc_auc_score(split.a_test, scores) > 0.8


def test_variant_changes_training(zero_split):
    a = build_method("gradcon", gradcon_cosine="elementwise").fit(zero_split, toy_context(seed=SEED, epochs=2))
    b = build_method("gradcon", gradcon_cosine="layer").fit(zero_split, toy_context(seed=SEED, epochs=2))
    assert any(not torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    with pytest.raises(ValueError, match="gradcon_cosine"):
        build_method("gradcon", gradcon_cosine="cosine").fit(zero_split, toy_context(epochs=1))


def test_same_seed_same_scores(zero_split):
    a = build_method("gradcon").fit(zero_split, toy_context(seed=SEED, epochs=2)).score(zero_split.x_test)
    b = build_method("gradcon").fit(zero_split, toy_context(seed=SEED, epochs=2)).score(zero_split.x_test)
    c = build_method("gradcon").fit(zero_split, toy_context(seed=7, epochs=2)).score(zero_split.x_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_checkpoint_resume_and_cache(zero_split, tmp_path, monkeypatch):
    """A run interrupted after its first epoch resumes to the same result as an uninterrupted one;
    the finished model is stored as a shared target and its checkpoint removed."""
    from alarmbench.runtime import loop

    full = build_method("gradcon").fit(zero_split, toy_context(seed=SEED, epochs=2)).score(zero_split.x_test)
    ctx = toy_context(seed=SEED, epochs=2)
    ctx.work_dir = tmp_path
    saved = []

    class Interrupt(Exception):
        pass

    def save_then_stop(checkpoint, state, generator, epoch):
        original(checkpoint, state, generator, epoch)
        saved.append(checkpoint.path)
        raise Interrupt

    original = loop._save
    monkeypatch.setattr(loop, "_save", save_then_stop)
    with pytest.raises(Interrupt):
        build_method("gradcon").fit(zero_split, ctx)
    monkeypatch.setattr(loop, "_save", original)
    assert saved and saved[0].exists()
    torch.manual_seed(12345)  # the resume must restore the RNG itself
    np.testing.assert_array_equal(build_method("gradcon").fit(zero_split, ctx).score(zero_split.x_test), full)
    assert (tmp_path / "targets" / "gradcon_elementwise.pt").exists() and not saved[0].exists()
    np.testing.assert_array_equal(build_method("gradcon").fit(zero_split, ctx).score(zero_split.x_test), full)  # cached


def test_images_use_conv_autoencoder():
    split = toy_image_split()
    ctx = toy_context(epochs=1)
    ctx.hparams = HyperParams(encoder="conv", batch_size=16)
    det = build_method("gradcon").fit(split, ctx)
    assert len(det.kernel_names) == 4 and det.model.n_parameters() == 9657
    scores = det.score(split.x_test)
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores[:6], score_loop(det, split.x_test[:6]), rtol=1e-4, atol=1e-6)
