"""deepsad-ruff (Deep SAD of Ruff et al.'s reference code): loss, bias-free net, centre rule,
pre-training, milestones, and that it beats planted-bug versions of itself on a toy table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from toydata import fit_killed_after_checkpoint

from alarmbench.methods import build_method
from alarmbench.data.spec import HyperParams
from alarmbench.data.splits import Split
from alarmbench.methods import deepsad_ruff as ruff
from alarmbench.runtime.context import Context
from alarmbench.methods.catalog import ConfigError, check_options
from alarmbench.methods.deepsad_ruff import (
    EPS,
    RuffAutoencoder,
    RuffMLP,
    center_from,
    epsilon_rule,
    reference_dims,
    ruff_loss,
    scaled_milestones,
    semi_targets,
)  # fmt: skip


def cluster_split(n_normal: int = 800, n_anom: int = 80, n_test: int = 200, d: int = 6, seed: int = 0) -> Split:
    """Normal rows N(0, I); anomalies a tight cluster at (1, −1, 0, …), inside the normal range.

    A one-class fit sees a dense region there and maps it close to the centre (the planted bugs
    below score AUC .01-.25 on it): only the known anomalies' term pushes the cluster away."""
    rng = np.random.default_rng(seed)
    mu = np.r_[1.0, -1.0, np.zeros(d - 2)]

    def anomalies(n):
        return mu + 0.1 * rng.normal(size=(n, d))

    x_train = np.concatenate([rng.normal(size=(n_normal, d)), anomalies(n_anom)])
    x_test = np.concatenate([rng.normal(size=(n_test, d)), anomalies(n_test // 4)])
    lo, hi = x_train[:n_normal].min(0), x_train[:n_normal].max(0)

    def scale(x):  # min-max on the normal training rows, as the split protocol
        return ((x - lo) / (hi - lo)).astype(np.float32)

    a_train = np.r_[np.zeros(n_normal), np.ones(n_anom)].astype(np.int8)
    a_test = np.r_[np.zeros(n_test), np.ones(n_test // 4)].astype(np.int8)
    return Split(x_train=scale(x_train), y_train=a_train.astype(str), a_train=a_train, x_val=scale(x_test),
                 y_val=a_test.astype(str), a_val=a_test, x_test=scale(x_test), y_test=a_test.astype(str),
                 a_test=a_test, holdout=np.arange(n_normal), meta={"counts": {"n_normal_train": n_normal}})


def fast_context(seed: int = 110, epochs: int | None = 20) -> Context:
    return Context(hparams=HyperParams(encoder=(5, 3, 2), batch_size=64), seed=seed, epochs=epochs)


def fast_ruff(**options):
    """lr 1e-3 for both loops: the reference's 1e-4 needs its 150 epochs, too slow for a unit test."""
    return build_method("deepsad-ruff", **{"deepsad_ruff_lr": 1e-3, "deepsad_ruff_ae_lr": 1e-3, **options})


@pytest.fixture(scope="module")
def split():
    return cluster_split()


def _auc(split: Split, ctx: Context) -> float:
    return roc_auc_score(split.a_test, fast_ruff().fit(split, ctx).score(split.x_test))


# --- building blocks ------------------------------------------------------------------------------


def test_loss_terms_eta_and_exponent():
    d = torch.tensor([0.5, 2.0, 0.0, 4.0])
    semi = torch.tensor([0.0, -1.0, 0.0, -1.0])
    expected = torch.tensor([0.5, 3.0 / (2.0 + EPS), 0.0, 3.0 / (4.0 + EPS)]).mean()
    torch.testing.assert_close(ruff_loss(d, semi, eta=3.0), expected)  # η ignored or (d+ε)^+1: other value
    # Unlabelled rows are pulled in, known anomalies pushed out.
    dd = torch.tensor([1.0, 1.0], requires_grad=True)
    ruff_loss(dd, torch.tensor([0.0, -1.0]), eta=1.0).backward()
    assert dd.grad[0] > 0 > dd.grad[1]


def test_semi_targets():
    torch.testing.assert_close(semi_targets(np.array([0, 1, 0, 1], dtype=np.int8), torch.device("cpu")),
                               torch.tensor([0.0, -1.0, 0.0, -1.0]))


def test_epsilon_rule():
    c = torch.tensor([0.05, -0.05, 0.0, 0.2, -0.3, 0.1, -0.1, 0.0999, -1e-9])
    expected = torch.tensor([0.1, -0.1, 0.1, 0.2, -0.3, 0.1, -0.1, 0.1, -0.1])
    torch.testing.assert_close(epsilon_rule(c), expected)


@pytest.mark.parametrize("module", [RuffMLP(6, (32, 16, 8)), RuffAutoencoder(6, (32, 16, 8))])
def test_network_has_no_bias(module):
    names = [name for name, _ in module.named_parameters()]
    assert names and all(name.endswith("linear.weight") or name in ("code.weight", "encoder.code.weight")
                         or name.startswith("decoder.") and name.endswith("weight") for name in names)
    assert all(m.bias is None for m in module.modules() if isinstance(m, torch.nn.Linear))
    assert all(not m.affine for m in module.modules() if isinstance(m, torch.nn.BatchNorm1d))
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in module.modules()) >= 2


def test_reference_sizes():
    assert reference_dims(21) == (32, 16, 8)  # cardio
    assert reference_dims(6) == (32, 16, 4)  # thyroid
    assert reference_dims(274) == (128, 64, 32)  # arrhythmia
    assert RuffMLP(21, reference_dims(21))(torch.rand(4, 21)).shape == (4, 8)


def test_milestones_scale_with_the_epochs():
    assert scaled_milestones([50], 150, 150) == [50]
    assert scaled_milestones([50], 150, 30) == [10]
    assert scaled_milestones([50, 100], 150, 3) == [1, 2]
    assert scaled_milestones([50], 150, 1) == []


def test_options_are_declared():
    check_options("deepsad-ruff", {"deepsad_ruff_eta": 2.0, "deepsad_ruff_milestones": [10, 20]})
    with pytest.raises(ConfigError, match="deepsad_ruff_eta"):
        check_options("deepsad-ruff", {"deepsad_ruff_eta": "high"})
    with pytest.raises(ValueError, match="must be > 0"):
        fast_ruff(deepsad_ruff_eta=0)


# --- the fitted method ----------------------------------------------------------------------------


def test_pretraining_is_used(split):
    """φ starts from the trained AE's encoder and c comes from it (a centre from an untrained
    encoder, or no pre-training, fails here)."""
    det = fast_ruff(deepsad_ruff_pretrain_epochs=20, deepsad_ruff_epochs=0).fit(split, fast_context(epochs=None))
    x = torch.as_tensor(split.x_train)
    for (name, p), (_, q) in zip(det.net.state_dict().items(), det.ae.encoder.state_dict().items()):
        torch.testing.assert_close(p, q, msg=name)
    torch.testing.assert_close(det.center, center_from(det.ae.encoder, x))
    with torch.no_grad():
        trained = torch.nn.functional.mse_loss(det.ae(x), x)
        untrained = torch.nn.functional.mse_loss(RuffAutoencoder(6, reference_dims(6)).eval()(x), x)
    assert trained < 0.5 * untrained
    # After Deep SAD training the centre is still the pre-trained encoder's (never recomputed).
    trained_det = fast_ruff(deepsad_ruff_pretrain_epochs=20, deepsad_ruff_epochs=2).fit(split, fast_context(epochs=None))
    torch.testing.assert_close(trained_det.center, det.center)


def test_same_seed_same_scores(split):
    a = fast_ruff().fit(split, fast_context(epochs=2)).score(split.x_test)
    b = fast_ruff().fit(split, fast_context(epochs=2)).score(split.x_test)
    c = fast_ruff().fit(split, fast_context(seed=7, epochs=2)).score(split.x_test)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float64 and not np.array_equal(a, c)


def test_uses_known_anomalies(split):
    assert _auc(split, fast_context()) > 0.95


def test_beats_known_anomalies_labelled_unlabelled(split, monkeypatch):
    monkeypatch.setattr(ruff, "semi_targets", lambda a, device: torch.zeros(len(a), device=device))
    assert _auc(split, fast_context()) < 0.5


def test_beats_inverted_exponent(split, monkeypatch):
    original = ruff.ruff_loss
    monkeypatch.setattr(ruff, "ruff_loss", lambda d, semi, eta: original(d, -semi, eta))
    assert _auc(split, fast_context()) < 0.5


def test_resumes_after_interruption(split, tmp_path, monkeypatch):
    full = fast_ruff().fit(split, fast_context(epochs=3)).score(split.x_test)
    ctx = fast_context(epochs=3)
    ctx.work_dir = tmp_path
    ctx.checkpoint_every_s = 0  # a checkpoint every epoch, so the one killed at epoch 2 resumes from it
    saved = fit_killed_after_checkpoint(monkeypatch, lambda: fast_ruff().fit(split, ctx), "train", 2)
    assert saved.exists()
    np.testing.assert_array_equal(fast_ruff().fit(split, ctx).score(split.x_test), full)
    assert not list(tmp_path.rglob("*.ckpt"))
