"""All target networks and a name → constructor registry, so a data-set registry can build the
right target from (kind, input shape, dims). The classes live in dense.py, conv.py, classifier.py.

Kinds: "r2ad2_dense" (docs/methods.md#target-dense), "r2ad2_conv" (docs/methods.md#target-conv), "deepsvdd_dense", "deepsvdd_conv" (docs/methods.md#target-deepsvdd),
"a3_dense", "a3_conv", "mnist_cnn" (docs/methods.md#target-a3). `r2ad2_target` picks dense vs conv from the data set's
`layer_dims` as the original does (an int ⇒ the conv AE for images, a tuple ⇒ the dense AE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from alarmbench.nets.base import TargetNet, as_shape
from alarmbench.nets.classifier import MnistCNN
from alarmbench.nets.conv import A3ConvAE, ConvAE, DeepSVDDConvAE
from alarmbench.nets.dense import A3DenseAE, DeepSVDDDenseAE, DenseAE

__all__ = [
    "TargetNet", "DenseAE", "ConvAE", "DeepSVDDDenseAE", "DeepSVDDConvAE", "A3DenseAE", "A3ConvAE",
    "MnistCNN", "TARGETS", "build_target", "r2ad2_target", "deepsvdd_target",
]  # fmt: skip

TARGETS: dict[str, Callable[..., TargetNet]] = {
    "r2ad2_dense": lambda shape, dims, **kw: DenseAE(shape, dims, **kw),
    "r2ad2_conv": lambda shape, dims=8, **kw: ConvAE(shape, code_dim=int(dims), **kw),
    "deepsvdd_dense": lambda shape, dims, **kw: DeepSVDDDenseAE(shape, dims, **kw),
    "deepsvdd_conv": lambda shape, dims=None, **kw: DeepSVDDConvAE(shape, **kw),
    "a3_dense": lambda shape, dims, **kw: A3DenseAE(shape, dims, **kw),
    "a3_conv": lambda shape, dims=None, **kw: A3ConvAE(shape, **kw),
    "mnist_cnn": lambda shape, dims=None, **kw: MnistCNN(shape, **kw),
}


def build_target(kind: str, input_shape: int | Iterable[int], dims: Any = None, **kw: Any) -> TargetNet:
    """Build a freshly (Keras-)initialised target of the given kind."""
    try:
        make = TARGETS[kind]
    except KeyError:
        raise ValueError(f"unknown target kind {kind!r}; known: {', '.join(sorted(TARGETS))}") from None
    return make(as_shape(input_shape), dims, **kw) if dims is not None else make(as_shape(input_shape), **kw)


def _is_conv(input_shape: tuple[int, ...], dims: int | str | Sequence[int]) -> bool:
    """The registry writes "conv" for image data sets; the original's `layer_dims = 8` is an int."""
    return (dims == "conv" or isinstance(dims, int)) and len(input_shape) >= 2


def _conv_code(dims: int | str) -> int:
    return 8 if dims == "conv" else int(dims)


def r2ad2_target(input_shape: int | Iterable[int], dims: int | Sequence[int], **kw: Any) -> TargetNet:
    """The R2-AD2 AE for a data set: conv "8C3-8C3-8" for images (int dims), dense otherwise."""
    shape = as_shape(input_shape)
    if _is_conv(shape, dims):
        return build_target("r2ad2_conv", shape, _conv_code(dims), **kw)
    return build_target("r2ad2_dense", shape, dims, **kw)


def deepsvdd_target(input_shape: int | Iterable[int], dims: int | Sequence[int]) -> TargetNet:
    """The DeepSVDD-AE for a data set (conv for images, dense otherwise)."""
    shape = as_shape(input_shape)
    if _is_conv(shape, dims):
        return build_target("deepsvdd_conv", shape)
    return build_target("deepsvdd_dense", shape, dims)
