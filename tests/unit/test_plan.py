"""The cost estimate (alarmbench/plan.py): its parts against exact counts of the real code.

Parameter and activation counts against the real nets, the gradient length against the real
per-sample gradient code, the steps against the optimiser steps the real training loops take,
the shapes against a real split, and the summary/CLI against a config.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import yaml
from torch.optim.optimizer import register_optimizer_step_post_hook
from toydata import toy_context, toy_prepared, toy_split

from alarmbench import plan
from alarmbench.cli import main
from alarmbench.data.spec import HyperParams
from alarmbench.features.gradients import PerSampleGradients
from alarmbench.methods.devnet import DevNet, DevNetNet
from alarmbench.methods.r2ad2 import R2AD2
from alarmbench.methods.target_training import snapshot_family, trained_ae
from alarmbench.nets.alarms import A3_2020Alarm, A3Alarm, R2AD2Alarm
from alarmbench.nets.targets import A3DenseAE, DeepSVDDDenseAE, DenseAE, build_target, r2ad2_target

DIMS = [(5, 3, 2), (29, 15, 8), (60, 30, 15), (7,)]


def trainable(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("n_in", [6, 36, 122])
def test_dense_target_counts_are_the_real_nets(n_in, dims):
    hp = HyperParams(encoder=dims, a3_target=dims)
    for kind, net in (("r2ad2", DenseAE(n_in, dims)), ("deepsvdd", DeepSVDDDenseAE(n_in, dims)),
                      ("a3", A3DenseAE(n_in, dims))):
        size = plan.target_size(kind, (n_in,), hp)
        assert size.params == net.n_parameters(), kind
        assert size.activations == net.n_activations(), kind
        assert size.encoder_params == trainable(net.encoder), kind
        assert size.code == net.encode(torch.zeros(1, n_in)).shape[1], kind


def test_image_target_counts_are_the_real_nets():
    hp = HyperParams(encoder="conv", a3_target="conv")
    for kind, real in (("r2ad2", "r2ad2_conv"), ("deepsvdd", "deepsvdd_conv"), ("a3", "a3_conv")):
        net = build_target(real, (28, 28), 8) if real == "r2ad2_conv" else build_target(real, (28, 28))
        size = plan.target_size(kind, (28, 28), hp)
        assert (size.params, size.activations) == (net.n_parameters(), net.n_activations()), kind
        assert size.encoder_params == trainable(net.encoder)
    # MACs of the 8C3-8C3-8 AE by hand (docs/methods.md#target-conv): conv 28²·8·9, conv 14²·8·72, dense 392·8 |
    # dense 8·512, transposed conv 8³ inputs·72, conv 14²·8·72, transposed conv 14²·8 inputs·9
    encoder = 28 * 28 * 8 * 9 + 14 * 14 * 8 * 72 + 392 * 8
    size = plan.target_size("r2ad2", (28, 28), hp)
    assert size.encoder_macs == encoder
    assert size.macs == encoder + 8 * 512 + 512 * 72 + 14 * 14 * 8 * 72 + 14 * 14 * 8 * 9


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("dims", [(100, 50, 25, 10), (1000, 500, 200, 75)])
def test_r2ad2_alarm_counts_are_the_real_alarm(k, dims):
    p = 378
    alarm = R2AD2Alarm(p, k, dims)
    bn, body, per_row = plan.r2ad2_alarm_params(p, k, dims)
    assert bn == sum(x.numel() for x in alarm.bn_parameters())
    assert body == sum(x.numel() for x in alarm.alarm_parameters())
    if k > 1:  # the LSTMs run once per snapshot: their weights count k times per row
        lstm = sum(x.numel() for n, x in alarm.alarm.named_parameters() if "lstm" in n and x.requires_grad)
        assert per_row == body + (k - 1) * lstm
    else:
        assert per_row == body


def test_dense_alarms_and_devnet_counts_are_the_real_nets():
    assert plan.dense_alarm_params(65, (1000, 500, 200, 75)) == trainable(A3Alarm(65))
    assert plan.dense_alarm_params(18, (100, 50, 25, 10)) == trainable(A3_2020Alarm(18, (100, 50, 25, 10)))
    assert plan.devnet_params(36) == trainable(DevNetNet(36))
    assert (plan.DEVNET_EPOCHS, plan.DEVNET_BATCHES, plan.DEVNET_BATCH) == (
        DevNet.paper_epochs, DevNet.batches_per_epoch, DevNet.batch_size)


@pytest.mark.parametrize("k", [1, 3])
def test_gradient_length_is_the_real_per_sample_gradients(k):
    split = toy_split(n_anomalies=10, n=300)
    ctx = toy_context()
    shapes = plan.Shapes("toy", (6,), len(split.x_train), len(split.train_target), len(split.holdout),
                         len(split.x_val), len(split.x_test), "test")
    est = plan.estimate("r2ad2" if k == 3 else f"r2ad2-{k}", shapes, ctx.hparams)
    target = r2ad2_target((6,), ctx.hparams.encoder)
    grads = PerSampleGradients(target, [target.state_dict()] * k)(torch.rand(5, 6))
    assert est.feature_length == grads.shape[1] * grads.shape[2] == k * grads.shape[2]
    assert est.target_params == grads.shape[2]
    # the cache holds all 4 snapshots' gradients of every row, float16
    assert est.cache_bytes == shapes.n_rows * 4 * grads.shape[2] * 2


class StepCounter:
    """Counts optimiser steps of every optimiser while in the block (torch's global hook)."""

    def __enter__(self):
        self.n = 0
        self.handle = register_optimizer_step_post_hook(self._count)
        return self

    def _count(self, *_):
        self.n += 1

    def __exit__(self, *exc):
        self.handle.remove()


@pytest.mark.parametrize("epochs", [2, 7])
def test_steps_are_the_real_loops_optimiser_steps(epochs):
    split = toy_split(n_anomalies=10, n=500)
    ctx = toy_context(epochs=epochs)
    shapes = plan.Shapes("toy", (6,), len(split.x_train), len(split.train_target), len(split.holdout),
                         len(split.x_val), len(split.x_test), "test")
    est = {s.job: s.steps for s in plan.estimate("r2ad2", shapes, ctx.hparams, epochs=epochs).stages}
    with StepCounter() as ae:
        trained_ae(split, ctx)
    assert ae.n == {s.job: s.steps for s in plan.estimate("ae", shapes, ctx.hparams, epochs=epochs).stages}[
        "train_target ae"]
    with StepCounter() as gaa:
        snapshot_family(split, ctx, 4)
    assert gaa.n == est["train_target gaa"]
    with StepCounter() as fit:
        R2AD2(3).fit(split, ctx)
    # each mini-batch makes two updates (alarm, BN); the chain is trained again inside this fit
    assert fit.n == gaa.n + 2 * est["fit_score r2ad2"]
    with StepCounter() as dev:
        DevNet().fit(split, ctx)
    assert dev.n == {s.job: s.steps for s in plan.estimate("devnet", shapes, ctx.hparams, epochs=epochs).stages}[
        "fit_score devnet"]


def test_shapes_of_a_split_json_are_its_parts(tmp_path):
    split = toy_split(n_anomalies=10, n=500)
    split.save(tmp_path / "split.npz", tmp_path / "split.json")
    shapes = plan.shapes_from_split("toy", tmp_path / "split.json", (6,))
    assert (shapes.n_train, shapes.n_normal_train, shapes.n_holdout, shapes.n_val, shapes.n_test) == (
        len(split.x_train), len(split.train_target), len(split.holdout), len(split.x_val), len(split.x_test))


def test_shapes_from_the_table_header_follow_the_protocol(tmp_path):
    prep = toy_prepared(n=2000)
    prep.save(tmp_path / "breast_cancer.npz")
    assert plan.table_shape("breast_cancer", {"prepared_dir": str(tmp_path)}) == (
        (2000, 6), str(tmp_path / "breast_cancer.npz"))
    real = toy_split(n_anomalies=10, n=2000)
    est = plan.shapes_from_table("toy", 2000, (6,), 10, 200, "test")
    for got, want in ((est.n_train, len(real.x_train)), (est.n_normal_train, len(real.train_target)),
                      (est.n_test, len(real.x_test))):
        assert abs(got - want) <= 0.02 * want + 2


def test_projection_adds_step_costs_and_arithmetic():
    calib = plan.Calibration(step_seconds=1e-3, flop_rate=1e9)
    stage = plan.Stage("fit_score x", "r2ad2", 100, 5e9)
    assert stage.seconds(calib) == pytest.approx(100 * plan.STEP_UNITS["r2ad2"] * 1e-3 + 5.0)
    wide = plan.Shapes("t", (30,), 1600, 1500, 1125, 80, 400, "test")
    small = plan.estimate("r2ad2", wide, HyperParams(encoder=(24, 12, 6), alarm=(100, 50, 25, 10), batch_size=128))
    large = plan.estimate("r2ad2", wide, HyperParams(encoder=(24, 12, 6), batch_size=128))
    assert large.steps == small.steps and large.flops > 10 * small.flops  # the 1000-500-200-75 alarm
    # one start-up per job: train_target gaa, extract gradients, fit_score (scoring runs in the fit job)
    assert large.jobs == 3
    assert large.seconds(calib) == pytest.approx(sum(s.seconds(calib) for s in large.stages) + 3 * plan.JOB_SECONDS)
    assert large.seconds(calib, jobs=1) == pytest.approx(large.seconds(calib) - 2 * plan.JOB_SECONDS)
    deepsvdd = plan.estimate("deepsvdd", wide, HyperParams(encoder=(24, 12, 6)))
    assert deepsvdd.jobs == 3  # the DeepSVDD-AE it starts from, Deep SVDD itself, the fit job


def _config(tmp_path, **extra):
    cfg = {"seeds": [110, 210], "datasets": ["breast_cancer", "digits"], "prepared_dir": str(tmp_path / "prep"),
           "results_dir": str(tmp_path / "results"), "run": {"epochs": None},
           "grids": {"known": {"experiments": ["known"], "n_anomalies": [100], "methods": ["r2ad2", "ae", "iforest"]}},
           **extra}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_summary_one_line_per_data_set_and_method_without_reading_data(tmp_path, capsys):
    (tmp_path / "prep").mkdir()
    toy_prepared(n=600).save(tmp_path / "prep" / "breast_cancer.npz")
    rows = plan.plan_run(plan.read_config([_config(tmp_path)]))
    lines = plan.summary_lines(rows)
    assert lines[0].startswith("digits: shapes unknown")
    assert any(line.startswith("breast_cancer r2ad2 x2: target ") and "features" in line for line in lines)
    assert any(line.startswith("breast_cancer ae x2:") for line in lines)
    assert not any("iforest" in line for line in lines)  # not modelled: no line
    assert lines[-1].startswith("projected CPU time")
    est = next(r.estimate for r in rows if r.dataset == "breast_cancer" and r.method == "ae")
    assert est.stages[0].steps == math.ceil(est.stages[0].steps / 100) * 100  # 100 epochs (the papers')


def test_plan_command_prints_the_table(tmp_path, capsys):
    (tmp_path / "prep").mkdir()
    toy_prepared(n=600).save(tmp_path / "prep" / "breast_cancer.npz")
    assert main(["plan", "--configfile", str(_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["dataset", "method", "cells"]
    r2ad2 = next(r for r in rows if r.split()[:2] == ["breast_cancer", "r2ad2"])
    assert r2ad2.split()[2] == "2"
    assert "shapes unknown" in next(r for r in rows if r.startswith("digits"))


def test_calibration_round_trips(tmp_path, capsys):
    out = tmp_path / "calib.json"
    assert main(["plan", "--calibrate", "--calibrate-seconds", "0.2", "--calibration-out", str(out)]) == 0
    calib = plan.load_calibration(out)
    assert calib.step_seconds > 0 and calib.flop_rate > 1e6
    assert json.loads(capsys.readouterr().out)["step_seconds"] == calib.step_seconds
