"""Neural networks: Keras-equivalent building blocks, target networks and alarm networks."""

from alarmbench.nets.alarms import A3Alarm, A3v2Alarm, DenseAlarm, R2AD2Alarm
from alarmbench.nets.keras import KerasBatchNorm, KerasLSTM, glorot_init_, keras_bce
from alarmbench.nets.targets import (
    A3ConvAE,
    A3DenseAE,
    ConvAE,
    DeepSVDDConvAE,
    DeepSVDDDenseAE,
    DenseAE,
    MnistCNN,
    TargetNet,
    build_target,
    deepsvdd_target,
    r2ad2_target,
)

__all__ = [
    "A3Alarm", "A3v2Alarm", "DenseAlarm", "R2AD2Alarm", "KerasBatchNorm", "KerasLSTM", "glorot_init_",
    "keras_bce", "A3ConvAE", "A3DenseAE", "ConvAE", "DeepSVDDConvAE", "DeepSVDDDenseAE", "DenseAE",
    "MnistCNN", "TargetNet", "build_target", "deepsvdd_target", "r2ad2_target",
]  # fmt: skip
