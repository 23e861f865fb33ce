"""The `gpu` tests change process-wide float32 math (device.set_precision): each one gets it back."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def restore_precision():
    flags = (torch.backends.cuda.matmul, torch.backends.cudnn.conv, torch.backends.cudnn.rnn)
    before = [f.fp32_precision for f in flags]
    yield
    for f, value in zip(flags, before):
        f.fp32_precision = value
