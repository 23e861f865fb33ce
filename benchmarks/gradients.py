"""Per-sample-gradient throughput of our extraction vs a naive per-sample backward loop.

For each model it prints samples/s of
  * loop      – batch of one, ordinary backward, gradients concatenated into a preallocated
                fp32 buffer (the naive baseline),
  * layers    – `PerSampleGradients.iter_chunks` with the outer-product engine (the default for
                the dense targets), fp32 into a reused buffer (same output as loop), and × loop,
  * vmap      – the same with the torch.func engine (the default for the conv AE), and × loop,
  * →fp16     – the default ("auto") engine, cast to fp16 on the copy (what the cache writer consumes),
  * in-mem    – `PerSampleGradients(x)`: one freshly allocated fp32 (N, k, P) tensor,
  * e2e       – streamed fp16 chunks written to a `FeatureCacheWriter` incl. fsync + rename,
  * fwd ×     – ordinary batched forward passes over the same chunks and snapshots, as a multiple
                of the loop: a ceiling for any per-sample-gradient engine built on these kernels
                (it needs at least the forward),
  * f+b ×     – the same with an ordinary backward (one gradient summed over the chunk), for
                reference: what a plain training pass costs;
then the disk's sequential write bandwidth (large file + fsync), so the end-to-end byte rate can
be compared with it. Rates are medians over --repeats runs (this is sensitive to noisy
neighbours on shared machines).

  python benchmarks/gradients.py --device cpu --models kdd ids conv -n 16384 --loop-n 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from alarmbench.device import resolve_device
from alarmbench.features.cache import FeatureCacheWriter
from alarmbench.features.gradients import PerSampleGradients
from alarmbench.features.memory import keep_freed_memory
from alarmbench.nets.targets import ConvAE, DenseAE, TargetNet

MODELS: dict[str, tuple[Callable[[], TargetNet], tuple[int, ...]]] = {
    "kdd": (lambda: DenseAE(122, (40, 20, 10)), (122,)),  # 12 012 parameters
    "ids": (lambda: DenseAE(80, (60, 40, 20)), (80,)),  # 16 300 parameters
    "dense19k": (lambda: DenseAE(122, (60, 30, 15)), (122,)),  # 19 457 parameters
    "cc": (lambda: DenseAE(29, (20, 10, 5)), (29,)),  # 1 754 parameters
    "conv": (lambda: ConvAE(), (28, 28)),  # 9 657 parameters
    "mammo": (lambda: DenseAE(6, (5, 3, 2)), (6,)),  # 126 parameters
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


UTIL: list[float] = []  # process CPU time / (wall time × threads) of every timed run


def _median_rate(fn: Callable[[], None], n: int, repeats: int, device: torch.device) -> float:
    rates = []
    for _ in range(repeats):
        _sync(device)
        t, c = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        wall = time.perf_counter() - t
        UTIL.append((time.process_time() - c) / wall / torch.get_num_threads())
        rates.append(n / wall)
    return statistics.median(rates)


def snapshot_models(
    make: Callable[[], TargetNet], snaps: list[dict[str, torch.Tensor]], device: torch.device,
) -> list[tuple[TargetNet, list[torch.nn.Parameter]]]:
    """One eval-mode model per snapshot, with its trainable parameters (the baselines' models)."""
    models = []
    for sd in snaps:
        m = make().to(device).eval()
        m.load_state_dict(sd)
        models.append((m, [p for p in m.parameters() if p.requires_grad]))
    return models


def loop_rate(
    make: Callable[[], TargetNet], snaps: list[dict[str, torch.Tensor]], x: torch.Tensor, device: torch.device,
    repeats: int,
) -> float:
    """Naive baseline: per sample and snapshot, one forward + autograd.grad, concatenated."""
    models = snapshot_models(make, snaps, device)
    out = torch.empty(x.shape[0], len(snaps), sum(p.numel() for p in models[0][1]), device=device)

    def run() -> None:
        for i in range(x.shape[0]):
            xi = x[i : i + 1]
            for j, (m, params) in enumerate(models):
                grads = torch.autograd.grad(m.reconstruction_loss(m(xi), xi), params)
                torch.cat([g.reshape(-1) for g in grads], out=out[i, j])

    run()  # warm-up
    return _median_rate(run, x.shape[0], repeats, device)


def batched_rates(
    make: Callable[[], TargetNet], snaps: list[dict[str, torch.Tensor]], x: torch.Tensor, chunk: int,
    device: torch.device, repeats: int,
) -> tuple[float, float]:
    """Samples/s of ordinary batched passes over the same chunks and snapshots: forward only, and
    forward + backward (one gradient summed over the chunk). Per-sample gradients need at least
    the forward, so forward/s ÷ loop/s bounds the ratio any engine on these kernels can reach."""
    models = snapshot_models(make, snaps, device)
    chunks = x.split(chunk)

    def forward() -> None:
        with torch.no_grad():
            for xc in chunks:
                for m, _ in models:
                    m.reconstruction_loss(m(xc), xc)

    def forward_backward() -> None:
        for xc in chunks:
            for m, params in models:
                torch.autograd.grad(m.reconstruction_loss(m(xc), xc), params)

    forward(), forward_backward()  # warm-up
    return (_median_rate(forward, x.shape[0], repeats, device),
            _median_rate(forward_backward, x.shape[0], repeats, device))


def disk_bandwidth(directory: Path, mb: int) -> float:
    """Sequential write MB/s of a `mb` MiB file, fsync included."""
    block = os.urandom(8 * 2**20)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".bw-")
    try:
        t = time.perf_counter()
        for _ in range(max(1, mb // 8)):
            os.write(fd, block)
        os.fsync(fd)
        return max(1, mb // 8) * 8 / (time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(name)


def stream(ex: PerSampleGradients, x: torch.Tensor, dtype: torch.dtype) -> None:
    for _ in ex.iter_chunks(x, out_dtype=dtype, reuse_buffer=True):
        pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N")
    ap.add_argument("--models", nargs="+", default=["kdd", "conv"], choices=sorted(MODELS))
    ap.add_argument("-n", type=int, default=16384, help="samples for the vmap runs")
    ap.add_argument("--loop-n", type=int, default=300, help="samples for the naive loop")
    ap.add_argument("--snapshots", "-k", type=int, default=1, help="snapshots k (vmapped together)")
    ap.add_argument("--chunk-size", type=int, default=None, help="default: automatic")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()), help="where to write the cache")
    ap.add_argument("--disk-mb", type=int, default=1024, help="size of the bandwidth test file (MiB)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--no-malloc-tuning", action="store_true", help="skip features.memory.keep_freed_memory()")
    args = ap.parse_args(argv)

    tuned = False if args.no_malloc_tuning else keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {device} ({name}); torch {torch.__version__}; k={args.snapshots}; malloc tuning {'on' if tuned else 'off'}")
    hdr = (f"{'model':9} {'P':>6} {'chunk':>6} {'loop/s':>8} {'layers/s':>9} {'ratio':>6} {'vmap/s':>9} "
           f"{'ratio':>6} {'→fp16/s':>9} "
           f"{'in-mem/s':>9} {'e2e/s':>9} {'e2e MiB/s':>9} {'fwd ×':>6} {'f+b ×':>6}")  # fmt: skip
    print(f"load average before: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")
    print(hdr)
    e2e_mbs = []
    for key in args.models:
        make, shape = MODELS[key]
        model = make().to(device)
        snaps = [
            {n: t + 0.01 * torch.randn_like(t) for n, t in model.state_dict().items()} for _ in range(args.snapshots)
        ]
        x = torch.rand(args.n, *shape, device=device)
        ex = PerSampleGradients(model, snaps, chunk_size=args.chunk_size, device=device)  # "auto": what runs
        rates = {}
        for engine in ("vmap", "layers"):
            e = ex if engine == ex.engine else PerSampleGradients(model, snaps, chunk_size=args.chunk_size,
                                                                   device=device, engine=engine)
            e(x[: e.chunk_size])  # warm-up (vmap tracing, allocator)
            rates[engine] = _median_rate(lambda e=e: stream(e, x, torch.float32), args.n, args.repeats, device)
        fp16_rate = _median_rate(lambda: stream(ex, x, torch.float16), args.n, args.repeats, device)
        mem_rate = _median_rate(lambda ex=ex, x=x: ex(x), args.n, args.repeats, device)
        loop = loop_rate(make, snaps, x[: args.loop_n], device, args.repeats)
        fwd_rate, fb_rate = batched_rates(make, snaps, x, ex.chunk_size, device, args.repeats)

        def e2e(ex: PerSampleGradients = ex, x: torch.Tensor = x) -> None:
            with tempfile.TemporaryDirectory(dir=args.cache_dir) as d:
                with FeatureCacheWriter(Path(d) / "feats", (ex.k, ex.n_params), dtype="float16") as w:
                    w.extend(ex.iter_chunks(x, out_dtype=torch.float16, reuse_buffer=True))

        e2e_rate = _median_rate(e2e, args.n, args.repeats, device)
        mbs = e2e_rate * ex.k * ex.n_params * 2 / 2**20
        e2e_mbs.append(mbs)
        print(
            f"{key:9} {ex.n_params:>6} {ex.chunk_size:>6} {loop:>8.0f} {rates['layers']:>9.0f} "
            f"{rates['layers'] / loop:>5.0f}× {rates['vmap']:>9.0f} {rates['vmap'] / loop:>5.0f}× "
            f"{fp16_rate:>9.0f} {mem_rate:>9.0f} {e2e_rate:>9.0f} {mbs:>9.0f} {fwd_rate / loop:>5.0f}× "
            f"{fb_rate / loop:>5.0f}×",
            flush=True,
        )
    bw = disk_bandwidth(args.cache_dir, args.disk_mb)
    print(f"disk sequential write ({args.cache_dir}, {args.disk_mb} MiB + fsync): {bw:.0f} MiB/s; "
          f"end-to-end cache writes reach {', '.join(f'{m / bw:.0%}' for m in e2e_mbs)} of it")  # fmt: skip
    if device.type == "cpu":
        # Low values mean other processes took the CPUs: the rates above are then lower bounds.
        print(f"CPU obtained during timed runs: median {statistics.median(UTIL):.0%} of {torch.get_num_threads()} "
              f"threads (min {min(UTIL):.0%}); load average after: {os.getloadavg()[0]:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
