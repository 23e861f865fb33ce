"""Alarm input features: per-sample gradients (R2-AD2), hidden activations (A³), on-disk cache."""

from alarmbench.features.activations import extract_activations, flatten_activations, iter_activations
from alarmbench.features.cache import FeatureCache, FeatureCacheError, FeatureCacheWriter, checkpoint_sources
from alarmbench.features.gradients import PerSampleGradients, per_sample_gradients

__all__ = [
    "extract_activations", "flatten_activations", "iter_activations", "FeatureCache", "FeatureCacheError",
    "FeatureCacheWriter", "checkpoint_sources", "PerSampleGradients", "per_sample_gradients",
]  # fmt: skip
