"""Convolutional (28×28 image) targets: R2-AD2 conv AE (docs/methods.md#target-conv), DeepSVDD conv AE (docs/methods.md#target-deepsvdd),
A³-2020 conv AE (docs/methods.md#target-a3). Layout is channels-first; flattening order differs from Keras, which is
irrelevant because every consumer is trained from scratch on the flattened vectors (docs/methods.md#keras-conventions)."""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor, nn

from alarmbench.nets.base import AutoEncoderNet, CropEnd, FrozenKerasBN, Reshape, as_shape
from alarmbench.nets.keras import glorot_init_

__all__ = ["ConvAE", "DeepSVDDConvAE", "A3ConvAE"]


class _ImageAE(AutoEncoderNet):
    """Accepts (B, 28, 28) or (B, 1, 28, 28); logits come back in the input's shape."""

    def __init__(self, input_shape: int | Iterable[int]) -> None:
        super().__init__()
        shape = as_shape(input_shape)
        if shape not in ((28, 28), (1, 28, 28)):
            raise ValueError(f"{type(self).__name__} needs 28×28 single-channel images, got input_shape {shape}")
        self.input_shape = shape

    def _prepare(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], 1, 28, 28)


class ConvAE(_ImageAE):
    """R2-AD2 "8C3-8C3-8" conv AE (docs/methods.md#target-conv): 9 657 parameters, 11 976 hidden activations
    (the six ReLU outputs, taken before pooling). Dropout 0.4 (spatial after convolutions).
    Stride-2 'same' transposed convolutions are computed in full and cropped at the end (TF).
    Loss: exact Keras BCE (the sigmoid output feeds the loss directly)."""

    bce_from_logits = True

    def __init__(self, input_shape: int | Iterable[int] = (28, 28), *, code_dim: int = 8, dropout: float = 0.4) -> None:
        super().__init__(input_shape)
        f = 8
        self.encoder = nn.Sequential(
            nn.Conv2d(1, f, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout2d(dropout),  # 14×14×8
            nn.Conv2d(f, f, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout2d(dropout),  # 7×7×8
            nn.Flatten(), nn.Linear(7 * 7 * f, code_dim), nn.ReLU(), nn.Dropout(dropout),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, 8 * 8 * f), nn.ReLU(), nn.Dropout(dropout), Reshape(f, 8, 8),
            nn.ConvTranspose2d(f, f, 3, stride=2), CropEnd(1), nn.ReLU(), nn.Dropout2d(dropout),  # 16×16×8
            nn.Conv2d(f, f, 3), nn.ReLU(), nn.Dropout2d(dropout),  # 14×14×8 ('valid')
            nn.ConvTranspose2d(f, 1, 3, stride=2), CropEnd(1),  # 28×28×1
        )  # fmt: skip
        glorot_init_(self)


class DeepSVDDConvAE(_ImageAE):
    """DeepSVDD conv AE (docs/methods.md#target-deepsvdd, after Deep-SVDD's MNIST LeNet): no biases, LeakyReLU(0.01),
    frozen BN (a fixed 1/√(1+1e-4) scale), 32-d linear code; trained with MSE on sigmoid(logits).
    `encode` = the mapping network φ."""

    bce_from_logits = None

    def __init__(self, input_shape: int | Iterable[int] = (28, 28)) -> None:
        super().__init__(input_shape)

        def lrelu() -> nn.Module:
            return nn.LeakyReLU(0.01)

        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 5, padding=2, bias=False), FrozenKerasBN(1e-4), lrelu(), nn.MaxPool2d(2),  # 14×14×8
            nn.Conv2d(8, 4, 5, padding=2, bias=False), FrozenKerasBN(1e-4), lrelu(), nn.MaxPool2d(2),  # 7×7×4
            nn.Flatten(), nn.Linear(196, 32, bias=False),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            Reshape(2, 4, 4), nn.Upsample(scale_factor=2, mode="nearest"),  # 8×8×2
            nn.ConvTranspose2d(2, 4, 5, bias=False), FrozenKerasBN(1e-4), lrelu(),  # 12×12×4
            nn.Upsample(scale_factor=2, mode="nearest"),  # 24×24×4
            nn.ConvTranspose2d(4, 8, 5, bias=False), FrozenKerasBN(1e-4), lrelu(),  # 28×28×8
            nn.ConvTranspose2d(8, 1, 5, padding=2, bias=False),  # 'same', stride 1
        )  # fmt: skip
        glorot_init_(self)


class A3ConvAE(_ImageAE):
    """A³-2020 conv AE (docs/methods.md#target-a3; Keras-blog AE + one spatial dropout). ReLU after pooling;
    'same' pooling of 7×7 pads bottom/right (ceil_mode). Six ReLU outputs = 7 432 activations.
    The SpatialDropout(0.1) sits before the last ReLU, so it perturbs the activations when the
    target runs in training mode (as during A³-2020 alarm training). Loss: exact Keras BCE."""

    bce_from_logits = True

    def __init__(self, input_shape: int | Iterable[int] = (28, 28), *, dropout: float = 0.1) -> None:
        super().__init__(input_shape)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),  # 14×14×16
            nn.Conv2d(16, 8, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),  # 7×7×8
            nn.Conv2d(8, 8, 3, padding=1), nn.MaxPool2d(2, ceil_mode=True), nn.ReLU(),  # 4×4×8
        )  # fmt: skip
        self.decoder = nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),  # 8×8×8
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),  # 16×16×8
            nn.Conv2d(8, 16, 3), nn.Dropout2d(dropout), nn.ReLU(),  # 14×14×16 ('valid')
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(16, 1, 3, padding=1),  # 28×28×1
        )  # fmt: skip
        glorot_init_(self)
