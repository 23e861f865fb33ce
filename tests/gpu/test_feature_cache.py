"""The feature cache an `extract` job writes from the device equals the CPU's (the same stored
target, read by both): same header (rows, shape, dtype, names, sources) and, with IEEE fp32 on the
device, the same fp16 values up to one fp16 rounding step where the device's float32 sums differ
in the last bits; at TF32 (the jobs' default) every row within 5e-3 normwise."""

from __future__ import annotations

import pytest
import torch

from alarmbench.features.cache import FeatureCache
from alarmbench.targets.training import snapshot_chain, trained_ae
from alarmbench.stages.extract import extract_stage
from toydata import toy_context, toy_split

pytestmark = pytest.mark.gpu

KINDS = {"gradients": "gaa_snapshots_k4.pt", "activations": "ae.pt"}


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    """A toy cell saved as a job would read it, and its two targets trained once on the CPU."""
    root = tmp_path_factory.mktemp("cell")
    split = toy_split(n=400, n_anomalies=20)  # 6 features: the `mammography` hyperparameters fit
    split.save(root / "split.npz", root / "split.json")
    ctx = toy_context(epochs=2)
    ctx.targets_dir, ctx.trains = root / "targets", None
    snapshot_chain(split, ctx)
    trained_ae(split, ctx)
    return root


def extract(cell, kind, device, out, precision="fp32"):
    out_dirs = {part: str(out / part) for part in ("train", "val", "test")}
    extract_stage(split_npz=str(cell / "split.npz"), dataset="mammography", seed=110, kind=kind,
                  run={"device": device, "precision": precision, "epochs": 2}, target=str(cell / "targets" / KINDS[kind]),
                  out_dirs=out_dirs)
    return {part: FeatureCache(path) for part, path in out_dirs.items()}


@pytest.mark.parametrize("precision", ["fp32", "tf32"])
@pytest.mark.parametrize("kind", KINDS)
def test_feature_cache_from_the_device_equals_the_cpu_one(cell, kind, precision, gpu_device, tmp_path):
    cpu = extract(cell, kind, "cpu", tmp_path / "cpu")
    dev = extract(cell, kind, str(gpu_device), tmp_path / "dev", precision)
    for part in cpu:
        a, b = cpu[part], dev[part]
        assert (a.n_rows, a.row_shape, a.dtype, a.names, a.sources) == (b.n_rows, b.row_shape, b.dtype, b.names, b.sources)
        assert a.n_rows > 0 and a.meta == b.meta == {"part": part, "kind": kind}
        x, y = a.load(dtype=torch.float32), b.load(dtype=torch.float32)
        assert torch.count_nonzero(x) > 0
        if precision == "tf32":
            rows = (y - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1).clamp_min(1e-12)
            assert float(rows.max()) < 5e-3
            continue
        # fp16 keeps 11 significant bits: values may differ by one rounding step (relative 2^-10).
        torch.testing.assert_close(y, x, rtol=2**-10, atol=1e-6 * float(x.abs().max()))
        assert float((x != y).float().mean()) < 0.05  # almost every value is bit-identical
