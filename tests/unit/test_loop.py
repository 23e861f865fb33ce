"""The Keras-like training loop: epoch shuffling, partial batches, interruption and exact resume."""

import pytest
import torch

from alarmbench.methods import build_method
from alarmbench.runtime.loop import Checkpoint, batches, fit_epochs
from alarmbench.targets.training import bce_loss, keras_adam, train_reconstruction
from alarmbench.nets.targets import r2ad2_target
from toydata import toy_context, toy_split, chain_options


def test_batches_cover_every_row_once_and_keep_the_last_partial_batch():
    parts = batches(10, 4, torch.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [4, 4, 2]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))


class Interrupt(Exception):
    pass


def _train(checkpoint, stop_after=None, on_epoch_end=None):
    """A small dropout net trained 4 epochs; interrupted after epoch `stop_after`, or with its own
    epoch-end hook (e.g. a fake clock)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
    opt = keras_adam(model.parameters(), 1e-2)
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)

    def step(idx):
        loss = model(x[idx]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    def stop(epoch, loss):
        if stop_after is not None and epoch + 1 == stop_after:
            raise Interrupt

    fit_epochs(step, 50, batch_size=16, epochs=4, generator=gen, state={"m": model, "o": opt},
               checkpoint=checkpoint, on_epoch_end=on_epoch_end or stop)
    return model


def test_resume_after_interruption_gives_the_same_weights(tmp_path):
    reference = _train(None)
    ckpt = Checkpoint(tmp_path / "run.ckpt", "run-a", every_s=0)
    with pytest.raises(Interrupt):
        _train(ckpt, stop_after=2)
    assert ckpt.path.exists()
    torch.manual_seed(12345)  # a fresh process would have a different global RNG state
    resumed = _train(ckpt)
    for a, b in zip(reference.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    assert not ckpt.path.exists()  # a finished loop leaves no resumable state


def test_a_checkpoint_of_another_run_is_discarded_not_resumed(tmp_path):
    """Another fingerprint (code, options, inputs) or more epochs than asked: start over."""
    reference = _train(None)
    with pytest.raises(Interrupt):
        _train(Checkpoint(tmp_path / "run.ckpt", "run-a", every_s=0), stop_after=2)
    other = _train(Checkpoint(tmp_path / "run.ckpt", "run-b", every_s=0))  # same path, another run
    for a, b in zip(reference.parameters(), other.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(Interrupt):
        _train(Checkpoint(tmp_path / "run.ckpt", "run-a", every_s=0), stop_after=3)
    model = torch.nn.Linear(3, 1)
    steps = []
    fit_epochs(lambda idx: steps.append(1), 50, batch_size=16, epochs=2, generator=torch.Generator(),
               state={"m": model}, checkpoint=Checkpoint(tmp_path / "run.ckpt", "run-a", every_s=0))
    assert len(steps) == 2 * 4  # epoch 3 of a 4-epoch run is past a 2-epoch run: trained from scratch


def test_target_training_resumes_to_identical_weights(tmp_path):
    split = toy_split()
    ctx = toy_context(epochs=3)
    x = torch.as_tensor(split.train_target)
    n_batches = -(-len(x) // ctx.hparams.batch_size)

    def run(checkpoint, stop_after_steps=None):
        ctx.seed_torch("init")
        model = r2ad2_target((6,), (5, 3, 2))
        calls = []

        def loss(m, batch):
            if stop_after_steps is not None and len(calls) == stop_after_steps:
                raise Interrupt
            calls.append(1)
            return bce_loss(m, batch)

        train_reconstruction(model, x, ctx, stream="t", epochs=3, loss=loss, checkpoint=checkpoint)
        return model

    full = run(None)
    ckpt = Checkpoint(tmp_path / "t.ckpt", "target-run", every_s=0)
    with pytest.raises(Interrupt):
        run(ckpt, stop_after_steps=2 * n_batches + 1)  # killed in epoch 3: the checkpoint says epoch 2
    resumed = run(ckpt)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_block_step_equals_backward_and_adam_even_for_strided_gradients():
    # A batched weight used transposed gets its autograd gradient as a transposed view; the fused
    # CPU Adam reads gradients in memory order, so without `step_block`'s contiguous copy this
    # weight would receive a permuted update.
    from alarmbench.targets.training import step_block

    x = torch.randn(2, 7, 4, generator=torch.Generator().manual_seed(1))

    def loss_of(w):
        return torch.bmm(x, w.transpose(1, 2)).tanh().sum()

    def fresh():
        return torch.nn.Parameter(torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(0)))

    (grad,) = torch.autograd.grad(loss_of(w := fresh()), [w])
    assert not grad.is_contiguous(), "precondition: autograd returns a strided gradient here"
    ours, ref = fresh(), fresh()
    step_block(loss_of(ours), [ours], keras_adam([ours], 1e-3))
    loss_of(ref).backward()
    torch.optim.Adam([ref], lr=1e-3, eps=1e-7, foreach=False).step()
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-7)


# ------------------------------------------------------------------------------ checkpoint cost (issue 19)
class FakeClock:
    """`loop._clock` that advances `epoch_s` seconds per finished epoch (from `on_epoch_end`)."""

    def __init__(self, epoch_s: float) -> None:
        self.now, self.epoch_s = 0.0, epoch_s

    def __call__(self) -> float:
        return self.now

    def tick(self, epoch, loss) -> None:
        self.now += self.epoch_s


def _writes(monkeypatch, tmp_path, every_s, *, epochs=10, keep=False, epoch_s=10.0):
    """Run a 10-epoch loop under a clock of `epoch_s` per epoch: the epochs after which it wrote
    a checkpoint, and at which times."""
    from alarmbench.runtime import loop

    clock, written = FakeClock(epoch_s), []
    monkeypatch.setattr(loop, "_clock", clock)
    original = loop._save

    def counting(checkpoint, state, generator, epoch):
        written.append((epoch, clock.now))
        original(checkpoint, state, generator, epoch)

    monkeypatch.setattr(loop, "_save", counting)
    tmp_path.mkdir(exist_ok=True)
    ckpt = Checkpoint(tmp_path / "run.ckpt", "run", every_s=every_s)
    fit_epochs(lambda idx: None, 20, batch_size=8, epochs=epochs, generator=torch.Generator(),
               state={"m": torch.nn.Linear(2, 1)}, checkpoint=ckpt, keep_checkpoint=keep, on_epoch_end=clock.tick)
    return written, ckpt.path


def test_checkpoints_are_written_at_most_once_per_interval(monkeypatch, tmp_path):
    written, path = _writes(monkeypatch, tmp_path, every_s=25)
    assert [e for e, _ in written] == [3, 6, 9]  # 30, 60, 90 s: never two within 25 s
    assert all(b - a >= 25 for (_, a), (_, b) in zip([(0, 0.0), *written], written))
    assert not path.exists()  # a finished loop removes its checkpoint, and writes none at its end
    written, path = _writes(monkeypatch, tmp_path / "kept", every_s=25, keep=True)
    assert [e for e, _ in written] == [3, 6, 9, 10] and path.exists()  # a kept loop: also at its end
    assert [e for e, _ in _writes(monkeypatch, tmp_path / "0", every_s=0)[0]] == list(range(1, 10))
    assert _writes(monkeypatch, tmp_path / "never", every_s=1e9)[0] == []
    assert [e for e, _ in _writes(monkeypatch, tmp_path / "end", every_s=1e9, keep=True)[0]] == [10]


def test_a_time_based_checkpoint_resumes_to_the_same_weights(monkeypatch, tmp_path):
    """Killed in epoch 4 of 4 with checkpoints every 25 s of 10 s epochs: resumed from epoch 2's
    checkpoint, it redoes epochs 3-4 and ends with the weights of an uninterrupted run."""
    from alarmbench.runtime import loop

    reference = _train(None)
    clock = FakeClock(10.0)
    monkeypatch.setattr(loop, "_clock", clock)
    saved = []
    original = loop._save
    monkeypatch.setattr(loop, "_save", lambda c, s, g, e: (saved.append(e), original(c, s, g, e)))
    ckpt = Checkpoint(tmp_path / "run.ckpt", "run-a", every_s=15)

    def stop_at(epoch, loss):
        clock.tick(epoch, loss)
        if epoch + 1 == 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        _train(ckpt, on_epoch_end=stop_at)
    assert saved == [2]
    torch.manual_seed(12345)
    resumed = _train(ckpt, on_epoch_end=clock.tick)
    for a, b in zip(reference.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    assert not ckpt.path.exists()


def test_snapshot_chain_killed_mid_segment_resumes_from_the_segments_it_finished(monkeypatch, tmp_path):
    """No time-based checkpoint at all (interval 1e9 s): the chain still resumes bit for bit, from
    the checkpoints written at the end of T0 and of each finished segment, and leaves none."""
    from alarmbench.runtime import loop
    from alarmbench.targets import training as target_training
    from alarmbench.targets.training import snapshot_family

    split = toy_split()
    reference = snapshot_family(split, toy_context(epochs=4), 4, **chain_options())
    ctx = toy_context(epochs=4)
    ctx.work_dir, ctx.checkpoint_every_s = tmp_path, 1e9
    saved, original_save = [], loop._save
    monkeypatch.setattr(loop, "_save", lambda c, s, g, e: (saved.append(c.path.name), original_save(c, s, g, e)))
    original_train = target_training.train_reconstruction

    def killed_in_segment2(model, x, ctx, *, stream, **kw):
        if stream.endswith("segment2"):
            calls = []

            def loss(m, batch):
                if len(calls) == 2:  # in its first epoch
                    raise Interrupt
                calls.append(1)
                return bce_loss(m, batch)

            kw["loss"] = loss
        return original_train(model, x, ctx, stream=stream, **kw)

    monkeypatch.setattr(target_training, "train_reconstruction", killed_in_segment2)
    with pytest.raises(Interrupt):
        snapshot_family(split, ctx, 4, **chain_options())
    assert saved == ["gaa_snapshots_k4.t0.ckpt", "gaa_snapshots_k4.seg1.ckpt"]  # the ends of T0 and segment 1
    monkeypatch.setattr(target_training, "train_reconstruction", original_train)
    saved.clear()
    torch.manual_seed(999)
    resumed = snapshot_family(split, ctx, 4, **chain_options())
    assert saved == ["gaa_snapshots_k4.seg2.ckpt", "gaa_snapshots_k4.seg3.ckpt"]  # T0, segment 1 not redone
    for a, b in zip(reference, resumed):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not list(tmp_path.rglob("*.ckpt"))


def test_r2ad2_fit_writes_no_alarm_checkpoint_within_the_interval(monkeypatch, tmp_path):
    """The default policy on a short fit: R2-AD2's large alarm state is never written (only the
    snapshot chain's segment ends are), and a finished fit leaves no checkpoint."""
    from alarmbench.runtime import loop

    split = toy_split()
    ctx = toy_context(epochs=3)
    ctx.work_dir, ctx.checkpoint_every_s = tmp_path, 300.0
    saved, original = [], loop._save
    monkeypatch.setattr(loop, "_save", lambda c, s, g, e: (saved.append(c.path.name), original(c, s, g, e)))
    build_method("r2ad2").fit(split, ctx)
    assert "r2ad2.ckpt" not in saved and set(saved) == {f"gaa_snapshots_k4.{p}.ckpt" for p in ("t0", "seg1", "seg2",
                                                                                                 "seg3")}
    assert not list(tmp_path.rglob("*.ckpt"))


def test_the_checkpoint_interval_is_not_part_of_a_jobs_fingerprint():
    """Changing it keeps a job's checkpoints and stored targets (and reruns nothing)."""
    from alarmbench.stages.context import job_fingerprint

    run = {"epochs": 3, "device": "cpu", "threads": 1, "options": {}}
    assert job_fingerprint("code", {**run, "checkpoint_every_s": 0}) == job_fingerprint("code", run)
    assert job_fingerprint("code", {**run, "checkpoint_every_s": 600}) == job_fingerprint("code", run)
    assert job_fingerprint("code", {**run, "epochs": 4}) != job_fingerprint("code", run)


def test_a_negative_interval_is_refused_before_any_job(capsys):
    from pathlib import Path

    import yaml
    from snakemake.utils import validate

    from alarmbench.cli import main

    root = Path(__file__).resolve().parents[2]
    schema = str(root / "workflow" / "schemas" / "config.schema.yaml")

    def config(**run):
        shipped = yaml.safe_load((root / "config" / "config.yaml").read_text())
        return {**shipped, "run": {**shipped.get("run", {}), **run}}

    validate(filled := config(), schema)  # the default is filled in
    assert filled["run"]["checkpoint_every_s"] == 300
    validate(config(checkpoint_every_s=0), schema)
    with pytest.raises(Exception, match=r"-1 is less than the minimum of 0"):
        validate(config(checkpoint_every_s=-1), schema)
    with pytest.raises(SystemExit):
        main(["run", "--dataset", "digits", "--method", "ae", "--seed", "1", "--checkpoint-every-s", "-1",
              "--out", "x.json"])
    assert "--checkpoint-every-s: must be ≥ 0 seconds, got -1" in capsys.readouterr().err
