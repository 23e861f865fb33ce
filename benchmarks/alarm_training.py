"""R2-AD2 alarm-training throughput on a data set's shapes: samples/s, steps/s, TFLOP/s, time split.

    python benchmarks/alarm_training.py --device cpu --threads 1 --steps 3          # nsl_kdd_20
    python benchmarks/alarm_training.py --device cpu --dataset mammography --steps 200
    python benchmarks/alarm_training.py --device cuda --precision bf16 --steps 50

No data is read: the shapes come from the registry's hyper-parameters (encoder → target AE →
gradient length P, alarm dims, batch size) and the feature count from FEATURES (or --features).
Random real-data features (N, k, P) are built on the device and stay there, as `methods/r2ad2.py`
keeps them (default fp16, the workflow cache's dtype, converted to fp32 per batch); each timed
step is that file's mini-batch: counter-example gradients on the fly (PerSampleGradients of k
random target snapshots), the alarm step (BN inference, dropout on, real + counter-examples,
Adam on the alarm) and the BN step (BN training on the real batch, alarm inference, Adam on BN).
--precision is the methods' `run.precision`: tf32 (default; TF32 matmuls on CUDA, nothing on CPU),
fp32 (IEEE), bf16 (the two alarm forwards under bf16 autocast, opt-in: it changes the numerics).
On CUDA the achieved rate is given against the device's dense bf16 and TF32 peaks (PEAKS, looked
up by the name `nvidia-smi --query-gpu=name` prints); --json writes every figure to a file
(benchmarks/gpu_check.sh reads it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from alarmbench.data import registry
from alarmbench.device import PRECISIONS, autocast, resolve_device, set_precision
from alarmbench.features.gradients import PerSampleGradients
from alarmbench.methods.base import counterexamples
from alarmbench.targets.training import keras_adam, step_block
from alarmbench.nets.alarms import R2AD2Alarm
from alarmbench.nets.keras import keras_bce
from alarmbench.nets.targets import r2ad2_target

FEATURES = {"nsl_kdd_20": 122, "mammography": 6}  # model-input width of the dense data sets
K = 3  # snapshots: method r2ad2's k (GAA-3)
# Dense (no sparsity) peak TFLOP/s (bf16, TF32) by device-name substring, first match wins: NVIDIA's
# data sheets (H100/H200 SXM 989.4 / 494.7; NVL 835.5 / 417.5; H100 PCIe 756 / 378; A100 312 / 156).
# An H100 SXM reports itself as "NVIDIA H100 80GB HBM3", so PCIe and NVL must come first.
PEAKS = [("H200 NVL", 835.5, 417.5), ("H200", 989.4, 494.7), ("H100 PCIe", 756.0, 378.0),
         ("H100 NVL", 835.5, 417.5), ("H100", 989.4, 494.7), ("A100", 312.0, 156.0)]
PARTS = ("counter-example gradients", "alarm step", "BN step")


def step_flops(batch: int, t: int, p: int, dims: tuple[int, ...]) -> tuple[float, float]:
    """Analytic GEMM FLOPs of one step: (alarm step, BN step); Adam, BN and activations left out.

    LSTM layer forward, F inputs, H units, T = k time steps: 2·rows·T·4H·F (input projection)
    + 2·rows·T·4H·H (recurrent; the unrolled CPU LSTM skips it at t = 0, so this is a slight
    over-count there). Dense head: 2·rows·(l2·l3 + l3·l4 + l4), negligible but counted.
    Alarm step, rows = 2B (real + counter-examples): backward = weight + input gradients ≈ 2×
    forward, except the first LSTM's input projection: its input (the BN output) needs no
    gradient, so only the weight gradient, 1×. (cuDNN computes that input gradient anyway: the
    figure counts useful work.) BN step, rows = B: forward, then input gradients only down to BN
    (the alarm's weights are not differentiated) ≈ 1× forward.
    """
    l1, l2, l3, l4 = dims

    def parts(rows: int) -> tuple[float, float, float]:
        in1 = 2 * rows * t * 4 * l1 * p
        rest = 2 * rows * t * 4 * l1 * l1 + 2 * rows * t * 4 * l2 * (l1 + l2) + 2 * rows * (l2 * l3 + l3 * l4 + l4)
        return in1, rest, in1 + rest

    in1, rest, fwd = parts(2 * batch)
    alarm = fwd + in1 + 2 * rest
    _, _, fwd_bn = parts(batch)
    return alarm, 2 * fwd_bn


def gemm_peak(m: int, k: int, n: int, device: torch.device, min_s: float = 0.3) -> float:
    """Best FLOP/s of an fp32 (m×k)@(k×n) matmul: what this CPU attains on the dominant GEMM's K."""
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    a @ b  # warm-up
    best, total, reps = float("inf"), 0.0, 0
    while total < min_s or reps < 3:
        t = time.perf_counter()
        a @ b
        dt = time.perf_counter() - t
        best, total, reps = min(best, dt), total + dt, reps + 1
    return 2 * m * k * n / best


def mark(device: torch.device):
    """A part boundary: a CUDA event on the GPU (no host sync inside a step), else perf_counter."""
    if device.type != "cuda":
        return time.perf_counter()
    e = torch.cuda.Event(enable_timing=True)
    e.record()
    return e


def seconds(a, b) -> float:
    return a.elapsed_time(b) / 1e3 if isinstance(a, torch.cuda.Event) else b - a


def make_step(alarm: R2AD2Alarm, feats: torch.Tensor, y: torch.Tensor, grads: PerSampleGradients,
              shape: tuple[int, ...], device: torch.device, precision: str):
    """The mini-batch of `R2AD2.fit` (same modes, losses, optimisers), with part boundaries marked."""
    alarm_params, bn_params = list(alarm.alarm_parameters()), list(alarm.bn_parameters())
    opt_alarm, opt_bn = keras_adam(alarm_params, 1e-3), keras_adam(bn_params, 1e-3)
    noise_gen = torch.Generator(device=device).manual_seed(1)

    def step(idx: torch.Tensor) -> list:
        marks = [mark(device)]
        n = len(idx)
        g_noise = grads(counterexamples(n, shape, noise_gen))
        marks.append(mark(device))
        idx = idx.to(device)
        g_real, y_real = feats[idx].to(device, torch.float32), y[idx]  # gather + convert: alarm step
        alarm.set_modes(bn_training=False, alarm_training=True)
        with torch.no_grad():
            h = alarm.preprocess(torch.cat([g_real, g_noise]))
        with autocast(device, precision):
            z = alarm.alarm(h).squeeze(-1)
        p = torch.sigmoid(z.float())  # .float(): a no-op in fp32; keeps the clipped BCE out of bf16
        loss = keras_bce(p[:n], y_real, from_logits=False) + keras_bce(p[n:], torch.ones_like(p[n:]),
                                                                       from_logits=False)
        step_block(loss, alarm_params, opt_alarm)
        marks.append(mark(device))
        alarm.set_modes(bn_training=True, alarm_training=False)
        with autocast(device, precision):
            z = alarm(g_real)
        step_block(keras_bce(torch.sigmoid(z.float()), y_real, from_logits=False), bn_params, opt_bn)
        marks.append(mark(device))
        return marks

    return step


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="nsl_kdd_20", help="registry name (shapes only)")
    ap.add_argument("--features", type=int, default=None, help="input width; default: FEATURES[dataset]")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (allocator, kernels)")
    ap.add_argument("--rows", type=int, default=None, help="resident real-data rows N; default 8 batches")
    ap.add_argument("--feature-dtype", choices=["float16", "float32"], default="float16",
                    help="resident features: the cache's fp16 (workflow) or fp32 (computed in the job)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--precision", choices=PRECISIONS, default="tf32", help="as run.precision (device.set_precision)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    set_precision(args.precision)
    spec = registry.get(args.dataset)
    hp = spec.hparams
    if spec.image_shape is not None:
        shape = tuple(spec.image_shape)
    elif args.features or args.dataset in FEATURES:
        shape = (args.features or FEATURES[args.dataset],)
    else:
        ap.error(f"no feature count for {args.dataset!r}: pass --features")
    torch.manual_seed(0)

    target = r2ad2_target(shape, hp.encoder).to(device)
    snaps = [{n: t + 0.01 * torch.randn_like(t) for n, t in target.state_dict().items()} for _ in range(K)]
    grads = PerSampleGradients(target, snaps, device=device)
    p, b = grads.n_params, hp.batch_size
    rows = args.rows or 8 * b
    # Resident for the whole run and gathered by index every step, as the method does.
    feats = torch.randn(rows, K, p, device=device).to(getattr(torch, args.feature_dtype))
    y = (torch.rand(rows, device=device) < 0.05).float()  # a few known anomalies
    alarm = R2AD2Alarm(p, K, hp.alarm).to(device)
    step = make_step(alarm, feats, y, grads, shape, device, args.precision)
    batches = [torch.randperm(rows)[:b] for _ in range(args.warmup + args.steps)]

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {device} ({name}); torch {torch.__version__}; precision {args.precision}")
    print(f"{args.dataset}: input {shape}, encoder {hp.encoder} → P = {p}, k = {K}, alarm {hp.alarm}, batch {b}; "
          f"resident features {tuple(feats.shape)} {args.feature_dtype} = {feats.nbytes / 2**20:,.1f} MiB")
    for idx in batches[: args.warmup]:
        step(idx)
    sync(device)
    t, cpu = time.perf_counter(), time.process_time()
    marks = [step(idx) for idx in batches[args.warmup:]]
    sync(device)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    split = [sum(seconds(m[i], m[i + 1]) for m in marks) for i in range(len(PARTS))]

    f_alarm, f_bn = step_flops(b, K, p, hp.alarm)
    flops = (f_alarm + f_bn) * args.steps
    rate, rate_alarm = flops / wall, flops / (split[1] + split[2])
    print(f"{args.steps} steps after {args.warmup} warm-up: {wall:.2f} s → {b * args.steps / wall:,.0f} samples/s, "
          f"{args.steps / wall:.3g} steps/s")
    print(f"analytic FLOPs/step: {(f_alarm + f_bn) / 1e9:.4g} GFLOP (alarm step {f_alarm / 1e9:.4g}, "
          f"BN step {f_bn / 1e9:.4g}; counter-example gradients excluded)")
    print(f"achieved: {rate / 1e12:.3g} TFLOP/s over the whole step, {rate_alarm / 1e12:.3g} over alarm + BN steps")
    figures = {"device": str(device), "device_name": name, "torch": torch.__version__, "precision": args.precision,
               "dataset": args.dataset, "n_params": p, "k": K, "batch": b, "steps": args.steps,
               "samples_per_s": b * args.steps / wall, "steps_per_s": args.steps / wall,
               "gflop_per_step": (f_alarm + f_bn) / 1e9, "tflops": rate / 1e12, "tflops_alarm_bn": rate_alarm / 1e12,
               "ms_per_step": {part: s / args.steps * 1e3 for part, s in zip(PARTS, split)}}
    if device.type == "cuda":
        peak = next(((bf16, tf32) for key, bf16, tf32 in PEAKS if key.lower() in name.lower()), None)
        if peak is None:
            print("dense bf16 / TF32 peaks: unknown for this device")
        else:
            for label, value in zip(("bf16", "tf32"), peak):
                figures[f"peak_{label}"], figures[f"of_peak_{label}"] = value, rate / 1e12 / value
                print(f"dense {label} peak {value:.0f} TFLOP/s: {rate / 1e12 / value:.1%} (whole step), "
                      f"{rate_alarm / 1e12 / value:.1%} (alarm + BN steps)")
    else:
        m, n = min(2 * b * K, 1024), 4 * hp.alarm[0]  # the first LSTM's input projection, rows capped
        ref = gemm_peak(m, p, n, device)
        figures["reference_fp32_gemm_tflops"] = ref / 1e12
        print(f"reference fp32 GEMM ({m}×{p} @ {p}×{n}): {ref / 1e12:.3g} TFLOP/s; "
              f"achieved = {rate / ref:.0%} (whole step), {rate_alarm / ref:.0%} (alarm + BN steps)")
        # Well below 100 % means other processes took the CPUs: the rates are then lower bounds.
        print(f"CPU obtained: {cpu / wall / torch.get_num_threads():.0%} of {torch.get_num_threads()} threads")
    print("split per step: " + ", ".join(f"{part} {s / args.steps * 1e3:,.1f} ms ({s / wall:.1%})"
                                         for part, s in zip(PARTS, split)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
