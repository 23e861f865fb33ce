"""AE baseline (docs/methods.md#ae): mean squared reconstruction error of the shared R2-AD2 AE."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from toydata import toy_context, toy_split

from alarmbench.methods import build_method
from alarmbench.methods.ae import reconstruction_mse
from alarmbench.targets.training import trained_ae


@pytest.fixture(scope="module")
def zero_split():
    return toy_split(zero_frac=0.3)


@pytest.fixture(scope="module")
def fitted(zero_split):
    return build_method("ae").fit(zero_split, toy_context(epochs=3))


def _numpy_forward(model, x: np.ndarray) -> np.ndarray:
    """The dense AE by hand in inference mode: Linear / ReLU / (Dropout = identity), then sigmoid."""
    h = x.reshape(len(x), -1).astype(np.float64)
    for layer in list(model.encoder) + list(model.decoder):
        if isinstance(layer, nn.Linear):
            h = h @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
        elif isinstance(layer, nn.ReLU):
            h = np.maximum(h, 0.0)
        else:
            assert isinstance(layer, nn.Dropout)
    return 1.0 / (1.0 + np.exp(-h))


def test_score_is_hand_computed_mse(fitted, zero_split):
    x = zero_split.x_test
    expected = ((_numpy_forward(fitted.model, x) - x.reshape(len(x), -1)) ** 2).mean(axis=1)
    got = fitted.score(x)
    assert got.shape == (len(x),) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_finite_nonconstant_on_zero_rows(fitted, zero_split):
    zero_rows = ~zero_split.x_train[: zero_split.n_normal].any(axis=1)
    assert zero_rows.mean() > 0.2  # the toy really has exact-zero rows
    for x in (zero_split.x_test, zero_split.x_train):
        s = fitted.score(x)
        assert np.isfinite(s).all() and s.std() > 0
    assert roc_auc_score(zero_split.a_test, fitted.score(zero_split.x_test)) > 0.5


def test_score_in_inference_mode_and_chunked(fitted, zero_split):
    fitted.model.train()  # score must not depend on the mode it finds the model in
    try:
        a = reconstruction_mse(fitted.model, zero_split.x_test, chunk_size=7)
        assert fitted.model.training  # mode restored
    finally:
        fitted.model.eval()
    np.testing.assert_allclose(a, fitted.score(zero_split.x_test), rtol=1e-6)


def test_uses_the_shared_cached_ae(tmp_path, zero_split):
    ctx = toy_context(epochs=1)
    ctx.work_dir = tmp_path
    det = build_method("ae").fit(zero_split, ctx)
    assert (tmp_path / "targets" / "ae.pt").exists()
    again = trained_ae(zero_split, ctx)  # loaded, not retrained
    for k, v in again.state_dict().items():
        torch.testing.assert_close(v, det.model.state_dict()[k], rtol=0, atol=0)


def test_same_seed_same_scores(fitted, zero_split):
    other = build_method("ae").fit(zero_split, toy_context(epochs=3))
    np.testing.assert_array_equal(other.score(zero_split.x_test), fitted.score(zero_split.x_test))
