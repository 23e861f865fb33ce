"""The machine constants of the cost model, and the run that measures them (`alarmbench plan
--calibrate`).

Four constants, each measured as process CPU time (on a shared machine the wall clock also
counts waits for a core), torch with `threads` threads:
- `step_seconds`: one training step of a tiny MLP (forward, backward, Adam): the fixed cost of a step;
- `flop_rate`: FLOP/s of training a wide MLP (the GEMMs of the dense nets);
- `gate_seconds`: one LSTM gate value of one row through one time step, forward and backward
  (the element-wise gate arithmetic and the time-step bookkeeping around the GEMMs): measured
  on a real R2-AD2 alarm step as what its counted FLOPs and its step leave over;
- `adam_seconds`: one parameter's Adam update (memory-bound; matters for the 10M-parameter alarms).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Calibration:
    step_seconds: float  # fixed cost of one training step of a tiny MLP (forward, backward, Adam)
    flop_rate: float  # FLOP/s of training a wide MLP (forward + backward + Adam)
    gate_seconds: float = 0.0  # one LSTM gate value, one row, one time step, forward + backward
    adam_seconds: float = 0.0  # one parameter's Adam update
    machine: str = ""
    command: str = ""


# Measured on the development machine with `alarmbench plan --calibrate` (through
# benchmarks/plan_accuracy.py --calibrate, 2026-12-07: 2 x86 cores shared by ~8 processes, load
# 13-20, torch 1 thread, CPU time; on a quiet machine the four are lower). Rerun it on yours and pass
# the file with --calibration.
DEFAULT_CALIBRATION = Calibration(step_seconds=6.4e-4, flop_rate=1.25e11, gate_seconds=1.9e-8, adam_seconds=1.7e-9,
                                  machine="dev box (2 shared cores, load 13-20), 1 thread",
                                  command="alarmbench plan --calibrate")


def _cpu_per_call(fn: Callable[[], object], budget: float) -> float:
    for _ in range(2):
        fn()
    n, start = 0, time.process_time()
    while time.process_time() - start < budget or n < 3:
        fn()
        n += 1
    return (time.process_time() - start) / n


def _mlp_step(widths: Sequence[int], batch: int):
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    for i, o in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(i, o), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, fused=True)
    x = torch.rand(batch, widths[0])

    def step():
        loss = net(x).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def calibrate(seconds: float = 4.0, threads: int = 1) -> Calibration:
    """Measure the four constants on this machine (about `seconds` of CPU time in all)."""
    import platform

    import torch

    from alarmbench.plan.sizes import r2ad2_alarm_size, r2ad2_gate_values, r2ad2_step_flops

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    budget = seconds / 4
    tiny = _cpu_per_call(_mlp_step([6, 5, 3, 2, 3, 5, 6], 128), budget)
    wide_widths, batch = [2048, 1000, 500, 200, 75, 1], 256
    wide = _cpu_per_call(_mlp_step(wide_widths, batch), budget)
    wide_flops = 6.0 * sum(i * o for i, o in zip(wide_widths[:-1], wide_widths[1:])) * batch
    flop_rate = wide_flops / max(wide - tiny, 1e-9)

    big = torch.nn.Parameter(torch.zeros(4_000_000))
    big.grad = torch.rand_like(big)
    opt = torch.optim.Adam([big], lr=1e-3, eps=1e-7, fused=True)
    adam = _cpu_per_call(opt.step, budget) / big.numel()

    # A real R2-AD2 step (methods/r2ad2.py) on a narrow gradient: mostly gate work, few FLOPs.
    p, k, b, dims = 64, 3, 128, (1000, 500, 200, 75)
    size = r2ad2_alarm_size(p, k, dims)
    alarm = _r2ad2_step(p, k, b, dims)
    step = _cpu_per_call(alarm, budget)
    rest = step - tiny - r2ad2_step_flops(size) * b / flop_rate - adam * (size.params + size.bn_params)
    gate = max(rest, 0.0) / (b * r2ad2_gate_values(size, k))
    return Calibration(step_seconds=tiny, flop_rate=flop_rate, gate_seconds=gate, adam_seconds=adam,
                       machine=f"{platform.machine()} {platform.processor() or ''}".strip() + f", {threads} thread(s)",
                       command=f"alarmbench plan --calibrate (seconds={seconds}, threads={threads})")


def _r2ad2_step(p: int, k: int, b: int, dims: Sequence[int]):
    """One mini-batch of R2AD2.fit's loop (alarm step on real + counter-example rows, BN step)."""
    import torch

    from alarmbench.targets.training import keras_adam, step_block
    from alarmbench.nets.alarms import R2AD2Alarm
    from alarmbench.nets.keras import keras_bce

    alarm = R2AD2Alarm(p, k, tuple(dims))
    alarm_params, bn_params = list(alarm.alarm_parameters()), list(alarm.bn_parameters())
    opt_alarm, opt_bn = keras_adam(alarm_params, 1e-3), keras_adam(bn_params, 1e-3)
    g_real, g_noise, y = torch.rand(b, k, p), torch.rand(b, k, p), (torch.rand(b) > 0.9).float()

    def step():
        alarm.set_modes(bn_training=False, alarm_training=True)
        with torch.no_grad():
            h = alarm.preprocess(torch.cat([g_real, g_noise]))
        z = torch.sigmoid(alarm.alarm(h).squeeze(-1))
        loss = keras_bce(z[:b], y, from_logits=False) + keras_bce(z[b:], torch.ones_like(z[b:]), from_logits=False)
        step_block(loss, alarm_params, opt_alarm)
        alarm.set_modes(bn_training=True, alarm_training=False)
        step_block(keras_bce(torch.sigmoid(alarm(g_real)), y, from_logits=False), bn_params, opt_bn)

    return step


def load_calibration(path: str | Path | None) -> Calibration:
    if path is None:
        return DEFAULT_CALIBRATION
    data = json.loads(Path(path).read_text())
    return Calibration(**{k: data[k] for k in Calibration.__dataclass_fields__ if k in data})


def calibration_json(calib: Calibration) -> str:
    return json.dumps(asdict(calib), indent=2)
