"""The unrolled CPU path of KerasLSTM equals torch's fused LSTM (values and gradients)."""

import torch

from alarmbench.nets.keras import KerasBatchNorm, KerasLSTM


def test_unrolled_equals_fused_lstm():
    torch.manual_seed(0)
    m = KerasLSTM(7, 5, return_sequences=True).double().eval()
    x = torch.randn(4, 3, 7, dtype=torch.float64, requires_grad=True)
    fused, _ = m.lstm(x)
    unrolled = m(x)
    assert torch.allclose(fused, unrolled, atol=1e-12)
    params = [x] + [p for p in m.parameters() if p.requires_grad]
    g_fused = torch.autograd.grad(fused.square().sum(), params)
    g_unrolled = torch.autograd.grad(unrolled.square().sum(), params)
    for a, b in zip(g_fused, g_unrolled):
        assert torch.allclose(a, b, atol=1e-10)


def test_input_dropout_is_elementwise_and_inverted():
    m = KerasLSTM(50, 4, dropout=0.4).train()
    torch.manual_seed(1)
    seen = {}
    m.lstm.register_forward_pre_hook(lambda mod, args: seen.setdefault("x", args[0]))
    x = torch.ones(64, 20, 50)  # 20 steps: the fused path, whose input the hook captures
    m(x)
    dropped = seen["x"]
    kept = dropped[dropped != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / 0.6))  # inverted dropout scaling
    assert abs((dropped == 0).float().mean().item() - 0.4) < 0.02
    # masks differ across time steps of the same sample (not shared over time)
    assert not torch.equal(dropped[:, 0] == 0, dropped[:, 1] == 0)


def test_training_batch_norm_backward_works_after_the_biased_variance_update():
    bn = KerasBatchNorm(3).train()
    x = torch.randn(8, 2, 3)
    bn(x).sum().backward()  # the running-variance correction must not break autograd
    assert bn.weight.grad is not None
    flat = x.reshape(-1, 3)
    expected = 0.99 * 1.0 + 0.01 * flat.var(0, unbiased=False)
    assert torch.allclose(bn.running_var, expected, atol=1e-6)
