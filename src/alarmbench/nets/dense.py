"""Dense (tabular) target autoencoders: R2-AD2, DeepSVDD-AE, A³-2020 (docs/methods.md#targets)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import Tensor, nn

from alarmbench.nets.base import AutoEncoderNet, as_shape
from alarmbench.nets.keras import glorot_init_

__all__ = ["DenseAE", "DeepSVDDDenseAE", "A3DenseAE"]


def _act(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU()
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.01)  # docs/methods.md#target-deepsvdd (not Keras' default 0.3)
    raise ValueError(f"unknown activation {kind!r}")


class _FlatAE(AutoEncoderNet):
    """Shared plumbing: flatten the input, run encoder/decoder, reshape logits to the input shape."""

    def __init__(self, input_shape: int | Iterable[int]) -> None:
        super().__init__()
        self.input_shape = as_shape(input_shape)
        self.n_inputs = 1
        for s in self.input_shape:
            self.n_inputs *= s

    def _prepare(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class DenseAE(_FlatAE):
    """R2-AD2 dense AE, `dims = (a, b, c)` (any length ≥ 1), docs/methods.md#target-dense.

    Encoder: [Dense(d) → act → Dropout(p)] for d in dims[:-1], then Dense(c) → act (no dropout
    after the code). Decoder: [Dense(d) → act → Dropout(p)] for d in reversed(dims[:-1]), then
    Dense(D) (sigmoid applied by the loss; forward returns logits). Defaults: ReLU, p = 0.4, biases.
    P = 2Da + 2ab + 2bc + 2a + 2b + c + D; activations: 2a + 2b + c (the five ReLU outputs).
    Loss: Keras BCE, CLIPPED formula (a Reshape follows the sigmoid in the original, docs/methods.md#keras-conventions).
    """

    bce_from_logits = False

    def __init__(
        self,
        input_shape: int | Iterable[int],
        dims: Sequence[int],
        *,
        dropout: float = 0.4,
        activation: str = "relu",
        bias: bool = True,
        linear_code: bool = False,
    ) -> None:
        super().__init__(input_shape)
        dims = [int(d) for d in dims]
        if not dims:
            raise ValueError("dims must not be empty")
        self.dims = tuple(dims)
        enc: list[nn.Module] = []
        width = self.n_inputs
        for d in dims[:-1]:
            enc += [nn.Linear(width, d, bias=bias), _act(activation), nn.Dropout(dropout)]
            width = d
        enc.append(nn.Linear(width, dims[-1], bias=bias))
        if not linear_code:
            enc.append(_act(activation))
        dec: list[nn.Module] = []
        width = dims[-1]
        for d in reversed(dims[:-1]):
            dec += [nn.Linear(width, d, bias=bias), _act(activation), nn.Dropout(dropout)]
            width = d
        dec.append(nn.Linear(width, self.n_inputs, bias=bias))
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)
        glorot_init_(self)


class DeepSVDDDenseAE(DenseAE):
    """DeepSVDD/DeepSAD pre-training AE, dense variant (docs/methods.md#target-deepsvdd): LeakyReLU(0.01), no biases,
    linear code layer, dropout 0.4; trained with MSE on sigmoid(logits). `encode` = φ."""

    bce_from_logits = None

    def __init__(self, input_shape: int | Iterable[int], dims: Sequence[int], *, dropout: float = 0.4) -> None:
        super().__init__(input_shape, dims, dropout=dropout, activation="leaky_relu", bias=False, linear_code=True)


class A3DenseAE(_FlatAE):
    """A³-2020 dense AE (docs/methods.md#target-a3), `dims = [d1..dk]` mirrored:
    Dense(d1) ReLU … Dense(dk) ReLU → Dense(d_{k−1}) ReLU … Dense(d1) ReLU → Dropout(0.1) → Dense(D).
    Hidden activations: every ReLU output (2·(d1+…+d_{k−1}) + dk). Loss: exact Keras BCE."""

    bce_from_logits = True

    def __init__(self, input_shape: int | Iterable[int], dims: Sequence[int], *, dropout: float = 0.1) -> None:
        super().__init__(input_shape)
        dims = [int(d) for d in dims]
        if not dims:
            raise ValueError("dims must not be empty")
        self.dims = tuple(dims)
        enc: list[nn.Module] = []
        width = self.n_inputs
        for d in dims:
            enc += [nn.Linear(width, d), nn.ReLU()]
            width = d
        dec: list[nn.Module] = []
        for d in reversed(dims[:-1]):
            dec += [nn.Linear(width, d), nn.ReLU()]
            width = d
        dec += [nn.Dropout(dropout), nn.Linear(width, self.n_inputs)]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)
        glorot_init_(self)
