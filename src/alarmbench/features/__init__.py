"""Alarm input features: per-sample gradients (R2-AD2, `gradients`), hidden activations (A³,
`activations`) and the on-disk cache (`cache`).

Import from the submodules: this package runs no code, so a job's code key (`codekeys`) covers
only the features it really computes.
"""
