"""MNIST CNN classifier used as A³-2020 target in experiment 3 (docs/methods.md#target-mnist-cnn, keras.io mnist_cnn).

Built with explicit activation layers, because A³ only extracts the outputs of separate activation
layers (docs/methods.md#target-mnist-cnn). Which outputs the original used is [unknown]: the three ReLU outputs
(21 632 + 36 864 + 128 values) by default, optionally followed by the softmax probabilities.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from alarmbench.nets.base import TargetNet, as_shape
from alarmbench.nets.keras import glorot_init_

__all__ = ["MnistCNN"]


class MnistCNN(TargetNet):
    """Conv(32,3,valid) ReLU → Conv(64,3) ReLU → MaxPool 2 → Dropout 0.25 → Flatten → Dense(128) ReLU
    → Dropout 0.5 → Dense(classes). `forward` returns (B, classes) pre-softmax logits; train with
    categorical cross-entropy (F.cross_entropy on the logits)."""

    def __init__(
        self, input_shape: int | Iterable[int] = (28, 28), *, n_classes: int = 10, include_softmax: bool = False
    ) -> None:
        super().__init__()
        shape = as_shape(input_shape)
        if shape not in ((28, 28), (1, 28, 28)):
            raise ValueError(f"MnistCNN needs 28×28 single-channel images, got input_shape {shape}")
        self.input_shape = shape
        self.include_softmax = include_softmax
        self.layers = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(),  # 26×26×32
            nn.Conv2d(32, 64, 3), nn.ReLU(),  # 24×24×64
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(12 * 12 * 64, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, n_classes),
        )  # fmt: skip
        glorot_init_(self)

    def _prepare(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], 1, 28, 28)

    def _finish(self, out: Tensor, x: Tensor) -> Tensor:
        return out

    def activation_names(self) -> list[str]:
        return super().activation_names() + (["softmax"] if self.include_softmax else [])

    def forward_with_activations(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        logits, taps = super().forward_with_activations(x)
        if self.include_softmax:
            taps.append(torch.softmax(logits, dim=1))
        return logits, taps
