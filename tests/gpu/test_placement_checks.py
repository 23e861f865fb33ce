"""The placement checks of test_placement.py are not vacuous (runs everywhere, not `gpu`): they
name exactly the tensors a planted bug leaves on the wrong device, and record where a fit
differentiates its losses."""

from __future__ import annotations

import torch

from alarmbench.methods import build_method
from gpu_placement import GradientDevices, off_device, tensors
from toydata import toy_context, toy_split


def test_off_device_names_exactly_what_a_planted_bug_leaves_behind():
    detector = build_method("r2ad2").fit(toy_split(n=300, n_anomalies=10), toy_context(epochs=1))
    everything = {path for path, _ in tensors(detector)}
    assert {p.split(".")[0] for p in everything} == {"alarm", "gradients"}  # nets and the extractor's snapshots
    assert any("_stacked" in p for p in everything)  # tensors inside a plain object's dict are reached
    # "meta" stands in for the GPU. Nothing is there yet: every tensor is named.
    assert {p.split(" on ")[0] for p in off_device(detector, torch.device("meta"))} == everything
    # Only the alarm moved (the planted bug of the other direction: everything but the extractor's
    # snapshots and target moved): exactly those left behind are named.
    detector.alarm.to("meta")
    left = {p.split(" on ")[0] for p in off_device(detector, torch.device("meta"))}
    assert left == {p for p in everything if p.startswith("gradients.")} and left


def test_gradient_devices_records_every_differentiated_loss_and_restores_autograd():
    grad, backward = torch.autograd.grad, torch.Tensor.backward
    with GradientDevices() as seen:
        build_method("devnet").fit(toy_split(n=300, n_anomalies=10), toy_context(epochs=1))  # .backward()
        build_method("r2ad2-1").fit(toy_split(n=300, n_anomalies=10), toy_context(epochs=1))  # autograd.grad
    assert len(seen.devices) > 10 and {d.type for d in seen.devices} == {"cpu"}  # a cuda run must show cuda only
    assert torch.autograd.grad is grad and torch.Tensor.backward is backward
