"""The Keras-like training loop: epoch shuffling, partial batches, interruption and exact resume."""

import pytest
import torch

from alarmbench.methods.loop import batches, fit_epochs
from alarmbench.methods.targets import keras_adam, train_reconstruction
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
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(Interrupt):
        _train(ckpt, stop_after=2)
    torch.manual_seed(12345)  # a fresh process would have a different global RNG state
    resumed = _train(ckpt)
    for a, b in zip(reference.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_target_training_resumes_to_identical_weights(tmp_path):
    split = toy_split()
    ctx = toy_context(epochs=3)

    def run(checkpoint, epochs):
        ctx.seed_torch("init")
        model = r2ad2_target((6,), (5, 3, 2))
        x = torch.as_tensor(split.train_target)
        train_reconstruction(model, x, ctx, stream="t", epochs=epochs, checkpoint=checkpoint)
        return model

    full = run(None, 3)
    run(tmp_path / "t.ckpt", 2)  # "interrupted" after 2 of 3 epochs: the checkpoint says epoch 2
    resumed = run(tmp_path / "t.ckpt", 3)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_block_step_equals_backward_and_adam_even_for_strided_gradients():
    # A batched weight used transposed gets its autograd gradient as a transposed view; the fused
    # CPU Adam reads gradients in memory order, so without `step_block`'s contiguous copy this
    # weight would receive a permuted update.
    from alarmbench.methods.targets import step_block

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
