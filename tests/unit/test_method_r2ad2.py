"""R2-AD2: learns from known anomalies, BN statistics see real data only, deterministic, snapshots."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from alarmbench.methods import build_method
from alarmbench.fileio import save_torch
from alarmbench.targets.training import snapshot_family
from toydata import toy_context, toy_split, chain_options


@pytest.fixture(scope="module")
def split():
    return toy_split(zero_frac=0.3)


def test_learns_the_known_anomalies_with_finite_scores(split):
    scores = build_method("r2ad2").fit(split, toy_context(epochs=5)).score(split.x_test)
    assert np.isfinite(scores).all() and scores.std() > 0
    assert roc_auc_score(split.a_test, scores) > 0.9


def test_bf16_autocast_trains_the_float32_alarm(split):
    fp32 = build_method("r2ad2").fit(split, toy_context(epochs=5, precision="fp32")).score(split.x_test)
    detector = build_method("r2ad2").fit(split, toy_context(epochs=5, precision="bf16"))
    scores = detector.score(split.x_test)
    assert all(p.dtype == torch.float32 for p in detector.alarm.parameters())
    assert np.isfinite(scores).all() and roc_auc_score(split.a_test, scores) > 0.9
    assert not np.allclose(scores, fp32)  # the autocast did run (bf16 forward passes in training)


def test_flipped_labels_invert_the_ranking(split):
    """An ignored or inverted alarm loss would not react to the labels like this."""
    flipped = toy_split(zero_frac=0.3)
    flipped.a_train = 1 - flipped.a_train
    scores = build_method("r2ad2-1").fit(flipped, toy_context(epochs=5)).score(split.x_test)
    assert roc_auc_score(split.a_test, scores) < 0.5


def test_batch_norm_statistics_see_only_real_training_gradients(split):
    detector = build_method("r2ad2-2")
    seen = []
    original_fit = detector.fit

    def spy(module, args):
        if module.training:
            seen.append(args[0].detach().clone())

    ctx = toy_context(epochs=1)
    handle = []

    def fit_with_spy(s, c):
        from alarmbench.nets import alarms

        init = alarms.R2AD2Alarm.__init__

        def patched(self, *a, **kw):
            init(self, *a, **kw)
            handle.append(self.preprocess.register_forward_pre_hook(spy))

        alarms.R2AD2Alarm.__init__ = patched
        try:
            return original_fit(s, c)
        finally:
            alarms.R2AD2Alarm.__init__ = init

    fit_with_spy(split, ctx)
    real = detector.gradients(torch.as_tensor(split.x_train))
    n_batches = int(np.ceil(len(split.x_train) / ctx.hparams.batch_size))
    assert len(seen) == n_batches  # one BN-training call per batch: the BN step
    rows = torch.cat(seen)
    assert rows.shape[0] == len(split.x_train)  # each real row exactly once, no counter-examples
    assert torch.allclose(torch.sort(rows.reshape(len(rows), -1).sum(1)).values,
                          torch.sort(real.reshape(len(real), -1).sum(1)).values, atol=1e-4)


def test_same_seed_same_scores(split):
    a = build_method("r2ad2-2").fit(split, toy_context(epochs=2)).score(split.x_test)
    b = build_method("r2ad2-2").fit(split, toy_context(epochs=2)).score(split.x_test)
    assert np.array_equal(a, b)


def test_snapshot_chain_is_shared_and_ordered(split, tmp_path):
    ctx = toy_context(epochs=2)
    ctx.work_dir = tmp_path
    four = snapshot_family(split, ctx, 4, **chain_options())
    three = snapshot_family(split, ctx, 3, **chain_options())
    assert len(four) == 4 and len(three) == 3
    for a, b in zip(four, three):
        assert all(torch.equal(a[k], b[k]) for k in a)
    # later snapshots moved away from θ(T0)
    assert any(not torch.equal(four[0][k], four[3][k]) for k in four[0])
    stored = tmp_path / "targets" / "gaa_snapshots_k4.pt"
    assert [p.name for p in (tmp_path / "targets").iterdir()] == [stored.name]  # no T0 file, no checkpoints
    # loaded, not retrained: a mark planted in the stored chain comes back (a retrain would erase it)
    payload = torch.load(stored, weights_only=True)
    key = next(iter(payload["state"]["snapshots"][3]))
    payload["state"]["snapshots"][3][key] = payload["state"]["snapshots"][3][key] + 1.0
    save_torch(stored, payload)  # as the pipeline writes it (with its digest)
    again = snapshot_family(split, ctx, 4, **chain_options())
    assert torch.equal(again[3][key], four[3][key] + 1.0)
    # another run (other epochs) does not take it: it retrains under its own fingerprint
    ctx.epochs = 1
    assert not torch.equal(snapshot_family(split, ctx, 4, **chain_options())[3][key], again[3][key])


def test_cached_features_on_disk_give_the_same_scores_as_in_memory(split, tmp_path):
    """The workflow's path: gradients of the 4-snapshot chain read from the fp16 cache, held in
    memory when they fit, else gathered per batch from the memory-mapped files (bounded memory)."""
    from alarmbench.features.cache import DiskRows, FeatureCacheWriter
    from alarmbench.features.gradients import PerSampleGradients
    from alarmbench.nets.targets import r2ad2_target

    ctx = toy_context(epochs=2)
    ctx.work_dir = tmp_path / "work"
    snaps = snapshot_family(split, ctx, 4, **chain_options())
    grads = PerSampleGradients(r2ad2_target(split.x_train.shape[1:], ctx.hparams.encoder), snaps)
    for part in ("train", "val", "test"):
        x = getattr(split, f"x_{part}")
        with FeatureCacheWriter(tmp_path / part, (4, grads.n_params), chunk_rows=64, expected_rows=len(x)) as w:
            w.append(grads(x))
    ctx.features = {"gradients": {p: tmp_path / p for p in ("train", "val", "test")}}
    in_memory = build_method("r2ad2").fit(split, ctx)
    ctx.feature_memory_bytes = 1  # nothing fits: per-batch reads from the memory-mapped cache
    ctx.work_dir = tmp_path / "work2"  # no training checkpoint to resume from (same snapshots: deterministic)
    assert isinstance(ctx.training_features("gradients", lead=slice(0, 3)), DiskRows)
    streamed = build_method("r2ad2").fit(split, ctx)
    a, b = in_memory.score_split(split, "test"), streamed.score_split(split, "test")
    assert np.array_equal(a, b) and np.isfinite(a).all()
    assert roc_auc_score(split.a_test, a) > 0.8
