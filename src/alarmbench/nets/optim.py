"""torch.optim's Adam and RMSprop without importing `torch._dynamo` (issue 25).

torch 2.13 imports `torch._dynamo` (≈ 1.5 s CPU, with sympy, and through its trace rules pandas and
scikit-learn) the first time an optimiser is built, stepped or saved, although nothing compiles:
`Optimizer.add_param_group`, `zero_grad`, `state_dict` and `load_state_dict` carry
`@torch._disable_dynamo`, whose wrapper imports it on its first call, and every `step` carries
`@_use_grad_for_differentiable`, which imports it for two `graph_break()` calls. Both decorators
only matter while dynamo traces the optimiser, which no job here does (nothing calls
`torch.compile`). No setting or environment variable turns the imports off.

So the classes below are torch's own classes with those methods taken from under their decorators
(`inspect.unwrap`: functools.wraps keeps the function as `__wrapped__`): the same code, kernels
(fused, foreach, single-tensor, chosen by torch as before), state and `state_dict` format, and the
same step hooks; `step` runs under `no_grad` as `_use_grad_for_differentiable` does for
`differentiable=False` (the only mode allowed here). tests/unit/test_optim.py checks that their
parameters and states equal torch.optim's bit for bit after several steps.
"""

from __future__ import annotations

import inspect

import torch
from torch.optim import Optimizer


def _eager(function):
    """torch's function without its decorators (the dynamo-disabling wrapper, the step's grad mode)."""
    bare = inspect.unwrap(function)
    if bare is function:  # a torch that no longer wraps it: keep this module honest about what it skips
        raise RuntimeError(f"{function.__qualname__} is no longer decorated: revisit alarmbench.nets.optim")
    return bare


class _NoDynamo(Optimizer):
    add_param_group = _eager(Optimizer.add_param_group)
    zero_grad = _eager(Optimizer.zero_grad)
    state_dict = _eager(Optimizer.state_dict)
    load_state_dict = _eager(Optimizer.load_state_dict)

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get("differentiable"):
            raise ValueError(f"{type(self).__name__}: differentiable=True needs torch.optim's own class")
        super().__init__(*args, **kwargs)

    def step(self, closure=None):
        with torch.no_grad():
            return self._torch_step(self, closure)


class Adam(_NoDynamo, torch.optim.Adam):
    _torch_step = staticmethod(_eager(torch.optim.Adam.step))


class RMSprop(_NoDynamo, torch.optim.RMSprop):
    _torch_step = staticmethod(_eager(torch.optim.RMSprop.step))
