"""Hidden-activation features (docs/methods.md#a3): flattened, concatenated, inference mode, chunked."""

from __future__ import annotations

import torch
from torch import nn

from alarmbench.features.activations import extract_activations, iter_activations
from alarmbench.nets.alarms import A3Alarm
from alarmbench.nets.targets import ConvAE, DenseAE


def hooked_relu_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Independent reference: forward hooks on every ReLU module."""
    outs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outs.append(o.flatten(1))) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in hooks:
            h.remove()
    return torch.cat(outs, 1)


def test_dense_activations_match_hooks_and_restore_mode() -> None:
    torch.manual_seed(0)
    m = DenseAE(29, (20, 10, 5)).train()
    x = torch.randn(11, 29) + 0.5
    acts = extract_activations(m, x, chunk_size=4)
    assert acts.shape == (11, 65)
    assert m.training
    torch.testing.assert_close(acts, hooked_relu_outputs(m, x))
    assert m.activation_names() == ["encoder.1", "encoder.4", "encoder.7", "decoder.1", "decoder.4"]


def test_conv_activations_chunked_fp16_and_usable_for_training() -> None:
    torch.manual_seed(0)
    m = ConvAE()
    x = torch.rand(5, 28, 28)
    chunks = list(iter_activations(m, x, chunk_size=2, out_dtype=torch.float16))
    assert [c.shape for c in chunks] == [(2, 11976), (2, 11976), (1, 11976)] and chunks[0].dtype == torch.float16
    full = extract_activations(m, x)
    torch.testing.assert_close(torch.cat(chunks).float(), full, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(full, hooked_relu_outputs(m, x))
    alarm = A3Alarm(11976, (8, 4, 4, 2))
    alarm(full).sum().backward()  # features are ordinary tensors (no inference-mode tensors)
    assert alarm.input_layer.weight.grad is not None
