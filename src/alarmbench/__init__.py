"""alarmbench: target-alarm anomaly detection (A3, R2-AD2) and baselines, reproducibly."""

__version__ = "0.1.0"
