"""Metrics of one scored cell, and aggregation over seeds and data sets."""
