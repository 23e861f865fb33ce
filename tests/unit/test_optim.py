"""alarmbench.nets.optim: torch.optim's Adam and RMSprop without the torch._dynamo import, equal to
torch.optim's own bit for bit (parameters, states, state_dict) after several steps."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.optim.lr_scheduler import LambdaLR, MultiStepLR

from alarmbench.nets import optim

ROOT = Path(__file__).resolve().parents[2]

# The settings of every call site: keras_adam (fused), deepsad_ruff (single-tensor Adam with weight
# decay; foreach on CUDA), devnet (RMSprop); the schedulers deepsad and deepsad_ruff put on them.
SETTINGS = {
    "keras_adam": (torch.optim.Adam, optim.Adam, {"lr": 1e-3, "eps": 1e-7, "fused": True}),
    "deepsad_ruff": (torch.optim.Adam, optim.Adam, {"lr": 1e-4, "weight_decay": 0.5e-6}),
    "devnet": (torch.optim.RMSprop, optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7}),
}
SCHEDULERS = {"none": None, "multistep": lambda o: MultiStepLR(o, milestones=[2], gamma=0.1),
              "keras_decay": lambda o: LambdaLR(o, lambda t: 1.0 / (1.0 + 1e-6 * t))}
DEVICES = ["cpu", *([pytest.param("cuda", marks=pytest.mark.gpu)] if torch.cuda.is_available() else [])]  # fused/foreach CUDA kernels


def model(device: str) -> torch.nn.Module:
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2, bias=False)).to(device)


def train(opt_class, kwargs: dict, scheduler, device: str, steps: int = 6, net=None, state=None):
    net = net or model(device)
    opt = opt_class(net.parameters(), **kwargs)
    if state is not None:
        opt.load_state_dict(state)
    sched = scheduler(opt) if scheduler else None
    gen = torch.Generator().manual_seed(11)
    for i in range(steps):
        x = torch.randn(9, 7, generator=gen).to(device)
        opt.zero_grad(set_to_none=True)
        loss = net(x).pow(2).mean()
        loss.backward()
        if i == 3:  # a step in which one parameter has no gradient
            net[2].weight.grad = None
        opt.step()
        if sched:
            sched.step()
    return net, opt


def assert_equal_states(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys()
    for k in sa["state"]:
        assert sa["state"][k].keys() == sb["state"][k].keys()
        for name, value in sa["state"][k].items():
            assert value.dtype == sb["state"][k][name].dtype and torch.equal(value, sb["state"][k][name]), (k, name)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("site", SETTINGS)
def test_steps_equal_torch_optim_bit_for_bit(site, scheduler, device) -> None:
    theirs, ours, kwargs = SETTINGS[site]
    net_t, opt_t = train(theirs, kwargs, SCHEDULERS[scheduler], device)
    net_o, opt_o = train(ours, kwargs, SCHEDULERS[scheduler], device)
    assert isinstance(opt_o, theirs)  # schedulers and type hints accept it
    for (name, p), q in zip(net_t.named_parameters(), net_o.parameters()):
        assert torch.equal(p, q), name
    assert not torch.equal(next(model(device).parameters()), next(net_o.parameters()))  # it did train
    assert_equal_states(opt_t, opt_o)


@pytest.mark.parametrize("site", SETTINGS)
def test_a_checkpoint_of_either_resumes_in_the_other(site) -> None:
    """Checkpoints (runtime/loop.py) and stored targets keep optimiser states: one written by
    torch.optim's class resumes in ours to the same parameters, and the other way round."""
    theirs, ours, kwargs = SETTINGS[site]
    for writer, reader in ((theirs, ours), (ours, theirs)):
        net, opt = train(writer, kwargs, None, "cpu", steps=3)
        # each resumes from its own copy: a loaded state may share tensors with the dict it came from
        a, _ = train(writer, kwargs, None, "cpu", steps=3, net=copy.deepcopy(net), state=copy.deepcopy(opt.state_dict()))
        b, _ = train(reader, kwargs, None, "cpu", steps=3, net=copy.deepcopy(net), state=copy.deepcopy(opt.state_dict()))
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters())), (writer, reader)


def test_differentiable_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="differentiable=True needs torch.optim's own class"):
        optim.Adam(model("cpu").parameters(), differentiable=True)


PROBE = """
import sys, torch
from torch.optim.lr_scheduler import LambdaLR
from {module} import Adam, RMSprop
net = torch.nn.Linear(3, 2)
for opt in (Adam(net.parameters(), eps=1e-7, fused=True), Adam(net.parameters(), weight_decay=1e-6),
            RMSprop(net.parameters(), alpha=0.9)):
    sched = LambdaLR(opt, lambda t: 1.0)
    opt.zero_grad(set_to_none=True)
    net(torch.ones(4, 3)).sum().backward()
    opt.step(); sched.step()
    opt.load_state_dict(opt.state_dict())
print("torch._dynamo" in sys.modules)
"""


@pytest.mark.parametrize("module, imports_dynamo", [("alarmbench.nets.optim", False), ("torch.optim", True)])
def test_building_stepping_and_saving_imports_no_dynamo(module, imports_dynamo) -> None:
    """Ours imports no torch._dynamo; torch.optim's own classes do (the reason this module exists:
    when that row fails, torch stopped importing it and alarmbench.nets.optim can go)."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.split()[-1] == str(imports_dynamo)
