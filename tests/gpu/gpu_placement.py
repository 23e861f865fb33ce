"""Where a fitted detector's tensors live, and on which device its fit computed its gradients.

`off_device(obj, device)` walks a detector's attributes (modules, tensors, generators, optimisers,
containers and alarmbench objects such as `PerSampleGradients`) and names every tensor that is not
on `device`; `GradientDevices` records the device of every loss that autograd differentiates while
it is active (`Tensor.backward` and `torch.autograd.grad`), so a fit that trains on the CPU and
moves its result to the GPU afterwards is caught too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import torch
from torch import nn

__all__ = ["GradientDevices", "off_device", "tensors"]


def tensors(obj, path: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, torch.device]]:
    """(path, device) of every tensor, parameter, buffer and generator reachable from `obj`."""
    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool, np.ndarray, torch.device)):
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        yield path, obj.device
    elif isinstance(obj, torch.Generator):
        yield path, obj.device
    elif isinstance(obj, nn.Module):
        for name, t in [*obj.named_parameters(), *obj.named_buffers()]:
            yield f"{path}.{name}", t.device
        for name, value in vars(obj).items():  # tensors held as plain attributes of a module
            if not name.startswith("_"):
                yield from tensors(value, f"{path}.{name}", seen)
    elif isinstance(obj, torch.optim.Optimizer):
        for i, state in enumerate(obj.state.values()):
            yield from tensors(state, f"{path}.state[{i}]", seen)
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from tensors(value, f"{path}[{key!r}]", seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, value in enumerate(obj):
            yield from tensors(value, f"{path}[{i}]", seen)
    elif type(obj).__module__.startswith("alarmbench") and hasattr(obj, "__dict__"):
        for name, value in vars(obj).items():
            yield from tensors(value, f"{path}.{name}" if path else name, seen)


def off_device(obj, device: torch.device) -> list[str]:
    """Every tensor reachable from `obj` that is not on `device` (by type: cuda:0 counts as cuda)."""
    return [f"{path} on {dev}" for path, dev in tensors(obj) if dev.type != torch.device(device).type]


class GradientDevices:
    """Context manager: `.devices` lists the device of every differentiated loss inside it."""

    def __enter__(self) -> "GradientDevices":
        self.devices: list[torch.device] = []
        self._backward, self._grad = torch.Tensor.backward, torch.autograd.grad
        backward, grad, devices = self._backward, self._grad, self.devices

        def recording_backward(t, *args, **kwargs):
            devices.append(t.device)
            return backward(t, *args, **kwargs)

        def recording_grad(outputs, *args, **kwargs):
            first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
            devices.append(first.device)
            return grad(outputs, *args, **kwargs)

        torch.Tensor.backward, torch.autograd.grad = recording_backward, recording_grad
        return self

    def __exit__(self, *exc) -> None:
        torch.Tensor.backward, torch.autograd.grad = self._backward, self._grad
