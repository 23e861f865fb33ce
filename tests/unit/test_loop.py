"""The Keras-like training loop: epoch shuffling, partial batches, interruption and exact resume."""

import pytest
import torch

from alarmbench.methods.loop import Checkpoint, batches, fit_epochs
from alarmbench.methods.target_training import bce_loss, keras_adam, train_reconstruction
from alarmbench.nets.targets import r2ad2_target
from toydata import toy_context, toy_split


def test_batches_cover_every_row_once_and_keep_the_last_partial_batch():
    parts = batches(10, 4, torch.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [4, 4, 2]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))


class Interrupt(Exception):
    pass


def _train(checkpoint, stop_after=None):
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
               checkpoint=checkpoint, on_epoch_end=stop)
    return model


def test_resume_after_interruption_gives_the_same_weights(tmp_path):
    reference = _train(None)
    ckpt = Checkpoint(tmp_path / "run.ckpt", "run-a")
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
        _train(Checkpoint(tmp_path / "run.ckpt", "run-a"), stop_after=2)
    other = _train(Checkpoint(tmp_path / "run.ckpt", "run-b"))  # same path, another run
    for a, b in zip(reference.parameters(), other.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(Interrupt):
        _train(Checkpoint(tmp_path / "run.ckpt", "run-a"), stop_after=3)
    model = torch.nn.Linear(3, 1)
    steps = []
    fit_epochs(lambda idx: steps.append(1), 50, batch_size=16, epochs=2, generator=torch.Generator(),
               state={"m": model}, checkpoint=Checkpoint(tmp_path / "run.ckpt", "run-a"))
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
    ckpt = Checkpoint(tmp_path / "t.ckpt", "target-run")
    with pytest.raises(Interrupt):
        run(ckpt, stop_after_steps=2 * n_batches + 1)  # killed in epoch 3: the checkpoint says epoch 2
    resumed = run(ckpt)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_block_step_equals_backward_and_adam_even_for_strided_gradients():
    # A batched weight used transposed gets its autograd gradient as a transposed view; the fused
    # CPU Adam reads gradients in memory order, so without `step_block`'s contiguous copy this
    # weight would receive a permuted update.
    from alarmbench.methods.target_training import step_block

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
