"""device.set_precision sets what it says: measured on the device's own float32 matmuls and
convolutions (not only its flags), and bf16 autocast of the alarms' forward passes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from alarmbench.device import autocast, set_precision

pytestmark = pytest.mark.gpu


def relative_error(got: torch.Tensor, exact: torch.Tensor) -> float:
    return float((got.double().cpu() - exact).norm() / exact.norm())


def errors(device: torch.device) -> dict[str, tuple[float, float]]:
    """(matmul, conv) normwise relative error against float64, per precision."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(256, 512, generator=g), torch.randn(512, 256, generator=g)
    x, w = torch.randn(8, 64, 32, 32, generator=g), torch.randn(64, 64, 3, 3, generator=g)  # tensor-core sized
    mm, conv = a.double() @ b.double(), F.conv2d(x.double(), w.double(), padding=1)
    out = {}
    for precision in ("fp32", "tf32", "bf16"):
        set_precision(precision)
        out[precision] = (relative_error(a.to(device) @ b.to(device), mm),
                          relative_error(F.conv2d(x.to(device), w.to(device), padding=1), conv))
    return out


def test_set_precision_switches_the_float32_math_of_the_device(gpu_device):
    err = errors(gpu_device)
    if gpu_device.type == "cuda":  # IEEE float32: ~1e-7; TF32 (10-bit mantissa): ~1e-4 to 1e-3
        assert max(err["fp32"]) < 1e-5, err
        assert min(err["tf32"]) > 5e-5 and min(err["bf16"]) > 5e-5, err  # bf16: TF32 outside the autocast
    else:  # no effect on CPU (documented): all three are IEEE float32
        assert err["fp32"] == err["tf32"] and max(err["fp32"]) < 1e-5, err
    set_precision("fp32")
    flags = (torch.backends.cuda.matmul, torch.backends.cudnn.conv, torch.backends.cudnn.rnn)
    assert [f.fp32_precision for f in flags] == ["ieee"] * 3
    set_precision("tf32")
    assert [f.fp32_precision for f in flags] == ["tf32"] * 3


@pytest.mark.parametrize("precision, dtype", [("fp32", torch.float32), ("tf32", torch.float32),
                                              ("bf16", torch.bfloat16)])
def test_autocast_runs_the_alarm_forward_in_bf16_only_when_asked(gpu_device, precision, dtype):
    layer = torch.nn.Linear(64, 8).to(gpu_device)
    lstm = torch.nn.LSTM(64, 8, batch_first=True).to(gpu_device)
    x = torch.randn(4, 3, 64, device=gpu_device)
    with autocast(gpu_device, precision):
        assert layer(x).dtype == dtype and lstm(x)[0].dtype == dtype
    assert layer(x).dtype == torch.float32  # only inside the context
