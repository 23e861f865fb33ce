"""Common base of all target networks and the small shape-only layers they share.

A target's `forward` returns PRE-sigmoid logits shaped like its input (AEs) or (B, classes)
(classifier), so callers can evaluate either Keras BCE formula. Its hidden activations (the A³
alarm inputs) are the outputs of the layers listed in `_TAPS`, collected in layer order while
the layers run, so extraction costs one forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import chain

import torch
from torch import Tensor, nn

from alarmbench.nets.keras import keras_bce

__all__ = ["TargetNet", "Reshape", "CropEnd", "FrozenKerasBN", "AutoEncoderNet", "as_shape"]

# Modules whose outputs are "activation layers" in the Keras originals.
_TAPS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU)


class Reshape(nn.Module):
    """Reshape the non-batch dims (Keras Reshape)."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)


class CropEnd(nn.Module):
    """Drop the last `n` rows and columns: TF's cropping of a stride-2 'same' Conv2DTranspose.

    TF pads the equivalent forward convolution with 0 rows at the top and 1 at the bottom, so the
    transposed convolution's full (2·H + 1) output loses its LAST row/column (docs/methods.md#keras-conventions).
    """

    def __init__(self, n: int = 1) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: Tensor) -> Tensor:
        return x[..., : x.shape[-2] - self.n, : x.shape[-1] - self.n]


class FrozenKerasBN(nn.Module):
    """A Keras BatchNormalization built with trainable=False: always inference mode with its
    initial statistics (mean 0, var 1, γ 1, β 0) ⇒ a fixed scale 1/√(1 + eps) (docs/methods.md#keras-conventions)."""

    def __init__(self, eps: float = 1e-4) -> None:
        super().__init__()
        self.scale = 1.0 / math.sqrt(1.0 + eps)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


class TargetNet(nn.Module):
    """Base class: subclasses fill `self.layers` (run in order) and set `input_shape`.

    Parameter order (gradient features) = `named_parameters()` order = layer order, weight
    before bias, as Keras' kernel-then-bias per layer.

    bce_from_logits: which Keras BCE formula the original applies to this target's own loss
    (True = exact, from logits; False = clipped), docs/methods.md#keras-conventions. `None` for targets not trained with BCE.
    """

    input_shape: tuple[int, ...]
    bce_from_logits: bool | None = None
    layers: nn.Sequential

    def _iter_layers(self) -> Iterator[nn.Module]:
        return iter(self.layers)

    def _prepare(self, x: Tensor) -> Tensor:
        """Bring a (B, *input_shape) batch into the layout the first layer expects."""
        return x

    def _finish(self, out: Tensor, x: Tensor) -> Tensor:
        """Bring the last layer's output back to the output layout (AEs: the input's shape)."""
        return out.reshape(x.shape)

    def _run(self, x: Tensor, taps: list[Tensor] | None) -> Tensor:
        h = self._prepare(x)
        for layer in self._iter_layers():
            h = layer(h)
            if taps is not None and isinstance(layer, _TAPS):
                taps.append(h)
        return self._finish(h, x)

    def forward(self, x: Tensor) -> Tensor:
        """Pre-sigmoid (or pre-softmax) logits."""
        return self._run(x, None)

    def forward_with_activations(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Logits and the hidden activations (each (B, ...), in layer order) in one pass."""
        taps: list[Tensor] = []
        return self._run(x, taps), taps

    def hidden_activations(self, x: Tensor) -> list[Tensor]:
        """Outputs of the target's activation layers in layer order (the A³ alarm input)."""
        return self.forward_with_activations(x)[1]

    def activation_names(self) -> list[str]:
        """Module names of the hidden activations, in the order `hidden_activations` returns them."""
        return [name for name, m in self.named_modules() if isinstance(m, _TAPS)]

    def activation_sizes(self) -> list[int]:
        """Number of values per sample of each hidden activation (one dry run in eval mode)."""
        was_training = self.training
        p = next(self.parameters())
        try:
            self.eval()
            with torch.no_grad():
                acts = self.hidden_activations(torch.zeros(1, *self.input_shape, dtype=p.dtype, device=p.device))
        finally:
            self.train(was_training)
        return [a[0].numel() for a in acts]

    def n_activations(self) -> int:
        return sum(self.activation_sizes())

    def parameter_names(self) -> list[str]:
        return [n for n, p in self.named_parameters() if p.requires_grad]

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def reconstruction_loss(self, logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """The Keras BCE of this target's training (formula per docs/methods.md#keras-conventions) between logits and target."""
        if self.bce_from_logits is None:
            raise TypeError(f"{type(self).__name__} is not trained with binary cross-entropy")
        pred = logits if self.bce_from_logits else torch.sigmoid(logits)
        return keras_bce(pred, target, from_logits=self.bce_from_logits, reduction=reduction)  # type: ignore[arg-type]


class AutoEncoderNet(TargetNet):
    """A target made of `self.encoder` then `self.decoder` (both nn.Sequential)."""

    encoder: nn.Sequential
    decoder: nn.Sequential

    def _iter_layers(self) -> Iterator[nn.Module]:
        return chain(self.encoder, self.decoder)

    def encode(self, x: Tensor) -> Tensor:
        """The code (flattened encoder output): the DeepSVDD/DeepSAD mapping network φ."""
        return self.encoder(self._prepare(x)).flatten(1)


def as_shape(shape: int | Iterable[int]) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
