"""Per-sample gradients (features/gradients.py, features/layer_grads.py) on the device equal the
CPU's: every engine and path (stacked dense, per-snapshot layers, vmap), k = 3 snapshots, data
rows and N(0.5, 1) counter-examples. IEEE fp32 on both sides: 1e-4 normwise per sample; at TF32
(the jobs' default) 5e-3, below the fp16 feature cache's own resolution of about 1e-3 per value."""

from __future__ import annotations

import pytest
import torch

from alarmbench.device import set_precision
from alarmbench.features.gradients import PerSampleGradients
from alarmbench.nets.targets import ConvAE, DenseAE

pytestmark = pytest.mark.gpu

CASES = [  # (model, input shape, engine, the path it takes)
    (lambda: DenseAE(122, (40, 20, 10)), (122,), "layers", "stacked-dense"),
    (lambda: DenseAE(122, (40, 20, 10)), (122,), "vmap", "vmap"),
    (ConvAE, (28, 28), "layers", "per-snapshot"),
    (ConvAE, (28, 28), "vmap", "vmap"),
]


def snapshots(model: torch.nn.Module, k: int = 3) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [{n: t + 0.05 * torch.randn(t.shape, generator=g) for n, t in model.state_dict().items()} for _ in range(k)]


def per_sample_relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.double().cpu().flatten(2), want.double().flatten(2)
    return float(((got - want).norm(dim=-1) / want.norm(dim=-1).clamp_min(1e-30)).max())


@pytest.mark.parametrize("make, shape, engine, path", CASES, ids=[c[3] + "-" + c[2] for c in CASES])
@pytest.mark.parametrize("precision, tol", [("fp32", 1e-4), ("tf32", 5e-3)])
def test_per_sample_gradients_on_the_device_equal_the_cpu(gpu_device, make, shape, engine, path, precision, tol):
    torch.manual_seed(0)
    model = make()
    snaps = snapshots(model)
    g = torch.Generator().manual_seed(2)
    x = torch.cat([torch.rand(24, *shape, generator=g), torch.randn(8, *shape, generator=g) + 0.5])
    set_precision("fp32")
    want = PerSampleGradients(model, snaps, engine=engine, chunk_size=16)(x)
    set_precision(precision)
    ex = PerSampleGradients(model, snaps, engine=engine, chunk_size=16, device=gpu_device)
    assert ex.path == path
    got = ex(x)
    assert got.device.type == gpu_device.type and got.shape == want.shape == (32, 3, ex.n_params)
    assert per_sample_relative_error(got, want) < tol
    streamed = torch.cat([c.cpu() for c in ex.iter_chunks(x, out_dtype=torch.float16, out_device="cpu")])
    torch.testing.assert_close(streamed.double(), got.double().cpu(), rtol=1e-3, atol=1e-6 * float(got.abs().max()))
