"""Alarm networks (docs/methods.md#r2ad2-alarm, docs/methods.md#a3-2020, docs/methods.md#a3v2) and the device helper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alarmbench.device import gpu_claim, resolve_device, set_precision
from alarmbench.nets.alarms import A3_2020Alarm, A3Alarm, R2AD2Alarm
from alarmbench.nets.keras import KerasBatchNorm, KerasLSTM, keras_bce

SMALL = (16, 8, 6, 4)


def test_r2ad2_alarm_lstm_variant_structure() -> None:
    net = R2AD2Alarm(30, 3, SMALL)
    assert isinstance(net.preprocess, KerasBatchNorm)
    kinds = [type(m) for m in net.alarm]
    assert kinds[:2] == [KerasLSTM, KerasLSTM]
    assert net.alarm[0].return_sequences and not net.alarm[1].return_sequences
    assert net.alarm[0].dropout.p == 0.4 and net.alarm[1].dropout.p == 0.4
    assert kinds[2:] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert net(torch.randn(5, 3, 30)).shape == (5,)
    with pytest.raises(ValueError, match="expected input"):
        net(torch.randn(5, 2, 30))


def test_r2ad2_alarm_dense_variant_for_one_snapshot() -> None:
    net = R2AD2Alarm(30, 1, SMALL)
    lin = [m for m in net.alarm if isinstance(m, nn.Linear)]
    drops = [m for m in net.alarm if isinstance(m, nn.Dropout)]
    assert [l.out_features for l in lin] == [16, 8, 6, 4, 1] and len(drops) == 4
    assert all(d.p == 0.4 for d in drops)
    net.eval()
    x = torch.randn(4, 30)
    torch.testing.assert_close(net(x), net(x[:, None]))  # (B, P) and (B, 1, P) both accepted


def test_r2ad2_alarm_parameter_blocks_and_two_optimiser_step() -> None:
    torch.manual_seed(0)
    net = R2AD2Alarm(10, 2, SMALL)
    bn, al = list(net.bn_parameters()), list(net.alarm_parameters())
    assert {id(p) for p in bn} == {id(net.preprocess.weight), id(net.preprocess.bias)}
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    assert {id(p) for p in bn} | {id(p) for p in al} == trainable and not ({id(p) for p in bn} & {id(p) for p in al})
    opt_alarm = torch.optim.Adam(al, lr=1e-3, eps=1e-7)
    opt_bn = torch.optim.Adam(bn, lr=1e-3, eps=1e-7)
    x, y = torch.randn(8, 2, 10) * 2 + 1, torch.randint(0, 2, (8,)).float()
    # alarm step: BN in inference mode ⇒ moving stats untouched, γ/β not stepped
    net.set_modes(bn_training=False, alarm_training=True)
    gamma0 = net.preprocess.weight.detach().clone()
    loss = keras_bce(torch.sigmoid(net(x)), y, from_logits=False)
    opt_alarm.zero_grad()
    loss.backward()
    opt_alarm.step()
    assert torch.all(net.preprocess.running_mean == 0) and torch.equal(net.preprocess.weight.detach(), gamma0)
    # BN step: batch statistics, moving stats updated over batch × time
    net.set_modes(bn_training=True, alarm_training=False)
    opt_bn.zero_grad()
    keras_bce(torch.sigmoid(net(x)), y, from_logits=False).backward()
    opt_bn.step()
    torch.testing.assert_close(net.preprocess.running_mean, 0.01 * x.reshape(-1, 10).mean(0))
    assert not torch.equal(net.preprocess.weight.detach(), gamma0)
    assert not net.alarm.training and net.preprocess.training


def test_a3v2_and_a3_alarm_layouts() -> None:
    v2 = A3Alarm(65)
    drops = [m for m in v2.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 4 and all(d.p == 0.2 for d in drops)
    n = 65 * 1000 + 1000 + 1000 * 500 + 500 + 500 * 200 + 200 + 200 * 75 + 75 + 76
    assert sum(p.numel() for p in v2.parameters()) == n
    a3 = A3_2020Alarm(7432)
    kinds = [type(m) for m in a3.net]
    assert kinds.count(nn.Dropout) == 1 and kinds[-2:] == [nn.Dropout, nn.Linear] and a3.net[-2].p == 0.1
    assert a3.input_layer.in_features == 7432
    assert a3(torch.randn(3, 7432)).shape == (3,)
    assert A3Alarm(4 * 5)(torch.randn(2, 4, 5)).shape == (2,)  # flattens its input


def test_resolve_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALARMBENCH_DEVICE", raising=False)
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device() == torch.device("cpu") and resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device(None) == torch.device("cuda")
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match="only 1 CUDA"):
        resolve_device("cuda:1")
    monkeypatch.setenv("ALARMBENCH_DEVICE", "cpu")
    assert resolve_device() == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")  # the config's default: the variable wins
    assert resolve_device("cuda") == torch.device("cuda")  # an explicit device wins over it
    with pytest.raises(ValueError, match="invalid device"):
        resolve_device("gpu")


def test_gpu_claim_follows_the_device_the_job_will_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # A CPU-only machine must not claim the profile's single `gpu`: that serialised every job.
    monkeypatch.delenv("ALARMBENCH_DEVICE", raising=False)
    import alarmbench.device as device

    monkeypatch.setattr(device, "cuda_available", lambda: False)
    assert gpu_claim("auto") == gpu_claim(None) == gpu_claim("cpu") == 0
    assert gpu_claim("cuda") == gpu_claim("cuda:1") == 1  # explicit: no check (a cluster's submit host)
    monkeypatch.setattr(device, "cuda_available", lambda: True)
    assert gpu_claim("auto") == 1 and gpu_claim("cpu") == 0
    monkeypatch.setenv("ALARMBENCH_DEVICE", "cpu")
    assert gpu_claim("auto") == 0 and resolve_device("auto").type == "cpu"


def test_the_torch_free_cuda_check_answers_as_torch_does() -> None:
    # gpu_claim runs while the Snakefile parses, which must not import torch (issue 25); on a GPU
    # machine (tests/gpu) and on this CPU one the two checks must agree.
    from alarmbench.device import _torch_cuda_build, cuda_available

    assert _torch_cuda_build() == torch.version.cuda
    assert cuda_available() == torch.cuda.is_available()


def test_set_precision_switches_cuda_float32_math() -> None:
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = (matmul.fp32_precision, conv.fp32_precision)
    try:
        set_precision("fp32")
        assert (matmul.fp32_precision, conv.fp32_precision) == ("ieee", "ieee")
        for mode in ("tf32", "bf16"):  # bf16 autocasts the alarms on top of TF32 math
            set_precision(mode)
            assert (matmul.fp32_precision, conv.fp32_precision) == ("tf32", "tf32")
        with pytest.raises(ValueError, match="unknown precision 'fp16'"):
            set_precision("fp16")
    finally:
        matmul.fp32_precision, conv.fp32_precision = before
