"""Per-sample gradient features (SPEC §3.2): vmap(grad) equals a per-sample backward loop."""

from __future__ import annotations

import copy

import pytest
import torch

from alarmbench.features.gradients import PerSampleGradients, per_sample_gradients
from alarmbench.nets import ConvAE, DenseAE


def loop_gradients(model: torch.nn.Module, x: torch.Tensor, *, from_logits: bool | None = None) -> torch.Tensor:
    """Reference: batch of one, model in eval mode, ordinary backward, flattened in named order."""
    m = copy.deepcopy(model).eval()
    if from_logits is not None:
        m.bce_from_logits = from_logits
    rows = []
    for i in range(x.shape[0]):
        m.zero_grad()
        m.reconstruction_loss(m(x[i : i + 1]), x[i : i + 1]).backward()
        rows.append(torch.cat([p.grad.reshape(-1) for _, p in m.named_parameters()]))
    return torch.stack(rows)


def perturbed(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: v + 0.05 * torch.randn(v.shape, generator=g, dtype=v.dtype) for k, v in model.state_dict().items()}


@pytest.fixture
def dense() -> DenseAE:
    torch.manual_seed(0)
    return DenseAE(29, (20, 10, 5)).double().train()  # train mode on purpose: extraction must use eval


def test_dense_vmap_equals_loop_clipped_formula_with_targets_outside_unit_interval(dense: DenseAE) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.cat([torch.rand(5, 29, generator=g), torch.randn(5, 29, generator=g) + 0.5]).double()  # incl. N(0.5, 1)
    got = per_sample_gradients(dense, x, chunk_size=3)
    assert got.shape == (10, 1754)
    torch.testing.assert_close(got, loop_gradients(dense, x), rtol=1e-10, atol=1e-13)
    assert dense.training  # caller's mode untouched


def test_conv_vmap_equals_loop_exact_formula() -> None:
    torch.manual_seed(0)
    m = ConvAE().double()
    x = torch.rand(3, 28, 28, dtype=torch.float64)
    x[2] = torch.randn(28, 28, dtype=torch.float64) + 0.5
    got = per_sample_gradients(m, x)
    assert got.shape == (3, 9657)
    torch.testing.assert_close(got, loop_gradients(m, x), rtol=1e-9, atol=1e-12)


def test_multiple_snapshots_stacked_and_chunking_invariant(dense: DenseAE) -> None:
    snaps = [perturbed(dense, s) for s in (1, 2, 3)]
    x = torch.rand(7, 29, dtype=torch.float64) * 1.5 - 0.25
    ex = PerSampleGradients(dense, snaps, chunk_size=4)
    got = ex(x)
    assert got.shape == (7, 3, 1754) and ex.k == 3 and ex.n_params == 1754
    for j, sd in enumerate(snaps):
        m = copy.deepcopy(dense)
        m.load_state_dict(sd)
        torch.testing.assert_close(got[:, j], loop_gradients(m, x), rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(PerSampleGradients(dense, snaps, chunk_size=100)(x), got, rtol=1e-12, atol=1e-16)
    streamed = torch.cat([c.clone() for c in ex.iter_chunks(x, reuse_buffer=True)])
    torch.testing.assert_close(streamed, got, rtol=0, atol=0)
    half = ex(x, out_dtype=torch.float16)
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.double(), got, rtol=1e-3, atol=1e-6)


def test_conv_multiple_snapshots() -> None:
    torch.manual_seed(0)
    m = ConvAE().double()
    snaps = [perturbed(m, 1), perturbed(m, 2)]
    x = torch.rand(2, 28, 28, dtype=torch.float64)
    got = PerSampleGradients(m, snaps)(x)
    for j, sd in enumerate(snaps):
        mj = copy.deepcopy(m)
        mj.load_state_dict(sd)
        torch.testing.assert_close(got[:, j], loop_gradients(mj, x), rtol=1e-9, atol=1e-12)


def test_formula_choice_matters_at_saturation(dense: DenseAE) -> None:
    sat = copy.deepcopy(dense)
    with torch.no_grad():
        sat.decoder[-1].bias.fill_(60.0)  # sigmoid(z) == 1.0 in float64 ⇒ clipped region
    x = torch.rand(4, 29, dtype=torch.float64)
    clipped = per_sample_gradients(sat, x)  # the dense AE's own (clipped) loss
    exact = per_sample_gradients(sat, x, from_logits=True)
    assert torch.count_nonzero(clipped) == 0
    assert torch.count_nonzero(exact) > 0
    torch.testing.assert_close(exact, loop_gradients(sat, x, from_logits=True), rtol=1e-10, atol=1e-13)


def test_parameter_order_and_snapshot_validation(dense: DenseAE) -> None:
    ex = PerSampleGradients(dense)
    assert ex.names == [n for n, _ in dense.named_parameters()]
    assert ex.offsets[1] == 29 * 20 and ex.offsets[-1] == 1754
    bad = dense.state_dict()
    bad.pop("decoder.6.bias")
    with pytest.raises(KeyError, match="decoder.6.bias"):
        PerSampleGradients(dense, [bad])
    as_module = copy.deepcopy(dense)
    as_module.load_state_dict(perturbed(dense, 5))
    x = torch.rand(3, 29, dtype=torch.float64)
    torch.testing.assert_close(PerSampleGradients(dense, [as_module])(x), PerSampleGradients(dense, [perturbed(dense, 5)])(x))
    with pytest.raises(ValueError, match="from_logits"):
        PerSampleGradients(torch.nn.Linear(2, 2))
