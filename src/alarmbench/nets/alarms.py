"""Alarm networks: R2-AD2 (docs/methods.md#r2ad2-alarm), A3v2 (docs/methods.md#a3v2), A³-2020 (docs/methods.md#a3-2020). All return (B,) logits.

The sigmoid is left to the loss/score so either Keras BCE formula can be applied (R2-AD2's alarm
loss is the clipped one, A3v2's the exact one, docs/methods.md#keras-conventions).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from torch import Tensor, nn

from alarmbench.nets.keras import KerasBatchNorm, KerasLSTM, glorot_init_

__all__ = ["R2AD2Alarm", "DenseAlarm", "A3Alarm", "A3_2020Alarm", "R2AD2_DIMS", "R2AD2_DIMS_SMALL"]

R2AD2_DIMS = (1000, 500, 200, 75)
R2AD2_DIMS_SMALL = (100, 50, 25, 10)  # Mammography


def _dense_relu_stack(n_in: int, dims: Sequence[int], dropout: float | None) -> tuple[list[nn.Module], int]:
    """[Dense(d) → ReLU (→ Dropout)] per d; returns the layers and the output width."""
    layers: list[nn.Module] = []
    for d in dims:
        layers += [nn.Linear(n_in, d), nn.ReLU()]
        if dropout is not None:
            layers.append(nn.Dropout(dropout))
        n_in = d
    return layers, n_in


class R2AD2Alarm(nn.Module):
    """R2-AD2 (GAA-k) alarm: `preprocess` (BN block, own optimiser) then `alarm` (docs/methods.md#r2ad2-alarm).

    Input: (B, k, P) gradient features of k snapshots ((B, P) or (B, 1, P) for k = 1).
    preprocess: Keras BN over P; time-distributed (stats over batch × time) for k > 1.
    alarm, k > 1: LSTM(l1, sequences, input dropout p) → LSTM(l2, last, input dropout p) →
      Dense(l3) ReLU Dropout(p) → Dense(l4) ReLU Dropout(p) → Dense(1).
    alarm, k = 1: [Dense(l) ReLU Dropout(p)] for l1..l4 → Dense(1).
    Training (docs/methods.md#r2ad2-training) alternates modes per block: `set_modes(bn_training=..., alarm_training=...)`;
    optimise `bn_parameters()` and `alarm_parameters()` with separate optimisers.
    """

    def __init__(self, n_features: int, k: int, dims: Sequence[int] = R2AD2_DIMS, *, dropout: float = 0.4) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be ≥ 1, got {k}")
        if len(dims) != 4:
            raise ValueError(f"dims must be (l1, l2, l3, l4), got {tuple(dims)}")
        self.n_features, self.k, self.dims = int(n_features), int(k), tuple(int(d) for d in dims)
        l1, l2, l3, l4 = self.dims
        self.preprocess = KerasBatchNorm(self.n_features)
        if k > 1:
            head, width = _dense_relu_stack(l2, (l3, l4), dropout)
            self.alarm = nn.Sequential(
                KerasLSTM(self.n_features, l1, return_sequences=True, dropout=dropout),
                KerasLSTM(l1, l2, return_sequences=False, dropout=dropout),
                *head,
                nn.Linear(width, 1),
            )
        else:
            body, width = _dense_relu_stack(self.n_features, self.dims, dropout)
            self.alarm = nn.Sequential(*body, nn.Linear(width, 1))
        glorot_init_(self.alarm)  # Dense layers only; the LSTMs initialise themselves

    def _check(self, x: Tensor) -> Tensor:
        if self.k == 1 and x.dim() == 3 and x.shape[1] == 1:
            x = x[:, 0]
        want = (self.k, self.n_features) if self.k > 1 else (self.n_features,)
        if tuple(x.shape[1:]) != want:
            raise ValueError(f"expected input (B, {', '.join(map(str, want))}), got {tuple(x.shape)}")
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.alarm(self.preprocess(self._check(x))).squeeze(-1)

    def set_modes(self, *, bn_training: bool, alarm_training: bool) -> R2AD2Alarm:
        """Alarm step: BN eval + alarm train; BN step: BN train + alarm eval (docs/methods.md#r2ad2-training)."""
        self.preprocess.train(bn_training)
        self.alarm.train(alarm_training)
        return self

    def bn_parameters(self) -> Iterator[nn.Parameter]:
        return (p for p in self.preprocess.parameters() if p.requires_grad)

    def alarm_parameters(self) -> Iterator[nn.Parameter]:
        return (p for p in self.alarm.parameters() if p.requires_grad)


class DenseAlarm(nn.Module):
    """Dense alarm on flattened activations: [Dense(l) ReLU (Dropout)] per l → (Dropout) → Dense(1).

    dropout_each: dropout after every hidden layer (A3v2); final_dropout: one dropout before the
    output layer only (A³-2020). `input_layer` is exposed for A³'s optional in_l1/in_l2 penalty.
    """

    def __init__(
        self, n_features: int, dims: Sequence[int], *, dropout_each: float | None, final_dropout: float | None
    ) -> None:
        super().__init__()
        self.n_features, self.dims = int(n_features), tuple(int(d) for d in dims)
        body, width = _dense_relu_stack(self.n_features, self.dims, dropout_each)
        if final_dropout is not None:
            body.append(nn.Dropout(final_dropout))
        self.net = nn.Sequential(*body, nn.Linear(width, 1))
        glorot_init_(self)

    @property
    def input_layer(self) -> nn.Linear:
        return self.net[0]  # type: ignore[return-value]

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.reshape(x.shape[0], -1)).squeeze(-1)


class A3Alarm(DenseAlarm):
    """A3v2 alarm (docs/methods.md#a3v2): four Dense+ReLU+Dropout(0.2) layers, dims (1000, 500, 200, 75)."""

    def __init__(self, n_features: int, dims: Sequence[int] = R2AD2_DIMS, *, dropout: float = 0.2) -> None:
        super().__init__(n_features, dims, dropout_each=dropout, final_dropout=None)


class A3_2020Alarm(DenseAlarm):
    """A³-2020 alarm (docs/methods.md#a3-2020): Dense+ReLU layers (final code [1000, 500, 200, 75]; preprint
    [500, 200, 75]) → Dropout(0.1) → Dense(1)."""

    def __init__(self, n_features: int, dims: Sequence[int] = R2AD2_DIMS, *, dropout: float = 0.1) -> None:
        super().__init__(n_features, dims, dropout_each=None, final_dropout=dropout)
