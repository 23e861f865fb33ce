"""The cost estimate (alarmbench.plan): its parts against exact counts of the real code.

Sizes are counted on the real nets (checked here against hand counts), R2-AD2's step FLOPs against
torch's FLOP counter on the real step, the gradient length against the real per-sample gradient
code, the steps against the optimiser steps the real training loops take, the shapes against a
real split, and the cost model's dispatch against the method catalog.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import yaml
from torch.optim.optimizer import register_optimizer_step_post_hook
from toydata import toy_context, toy_prepared, toy_split, chain_options

from alarmbench.methods import build_method
from alarmbench import plan
from alarmbench.cli import main
from alarmbench.data import registry
from alarmbench.data.spec import DeclaredShape, HyperParams
from alarmbench.features.gradients import PerSampleGradients
from alarmbench.methods import catalog
from alarmbench.targets.training import snapshot_family, trained_ae
from alarmbench.nets.targets import r2ad2_target
from alarmbench.plan import costs, sizes
from alarmbench.plan.calibration import _r2ad2_step
from alarmbench.plan.shapes import protocol_shapes, shapes_from_split, table_shape


def test_dense_target_sizes_match_the_documented_formulas():
    # DenseAE: P = 2Da + 2ab + 2bc + 2a + 2b + c + D (nets/dense.py); Mammography: D = 6, (5, 3, 2)
    hp = HyperParams(encoder=(5, 3, 2), a3_target=(5, 3, 2))
    size = sizes.target_size("r2ad2", (6,), hp)
    assert size.params == 2 * 6 * 5 + 2 * 5 * 3 + 2 * 3 * 2 + 2 * 5 + 2 * 3 + 2 + 6 == 126
    assert size.activations == 2 * 5 + 2 * 3 + 2
    assert size.macs == 2 * (6 * 5 + 5 * 3 + 3 * 2)
    assert size.encoder_macs == 6 * 5 + 5 * 3 + 3 * 2
    svdd = sizes.target_size("deepsvdd", (6,), hp)  # no biases, linear code
    assert svdd.params == 2 * (6 * 5 + 5 * 3 + 3 * 2) and svdd.encoder_params == 6 * 5 + 5 * 3 + 3 * 2


def test_image_target_macs_by_hand():
    # MACs of the 8C3-8C3-8 AE by hand (docs/methods.md#target-conv): conv 28²·8·9, conv 14²·8·72, dense 392·8 |
    # dense 8·512, transposed conv 8³ inputs·72, conv 14²·8·72, transposed conv 14²·8 inputs·9
    hp = HyperParams(encoder="conv", a3_target="conv")
    encoder = 28 * 28 * 8 * 9 + 14 * 14 * 8 * 72 + 392 * 8
    size = sizes.target_size("r2ad2", (28, 28), hp)
    assert size.encoder_macs == encoder
    assert size.macs == encoder + 8 * 512 + 512 * 72 + 14 * 14 * 8 * 72 + 14 * 14 * 8 * 9
    assert size.params == r2ad2_target((28, 28), "conv").n_parameters()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_r2ad2_step_flops_are_the_real_steps(k):
    """The model's FLOPs of one R2-AD2 mini-batch (alarm step + BN step, methods/r2ad2.py) equal
    what torch counts on the real step: forward, and only the gradients each step asks for."""
    from torch.utils.flop_counter import FlopCounterMode

    p, b, dims = 40, 16, (100, 50, 25, 10)
    step = _r2ad2_step(p, k, b, dims)
    with FlopCounterMode(display=False) as counter:
        step()
    size = sizes.r2ad2_alarm_size(p, k, dims)
    assert sizes.r2ad2_step_flops(size) * b == counter.get_total_flops()
    assert size.lstm_units == (0 if k == 1 else 150)


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


def _steps(method, shapes, hp, epochs):
    return {s.job: s.steps for s in plan.estimate(method, shapes, hp, epochs=epochs).stages}


@pytest.mark.parametrize("epochs", [2, 7])
def test_steps_are_the_real_loops_optimiser_steps(epochs):
    split = toy_split(n_anomalies=10, n=500)
    ctx = toy_context(epochs=epochs)
    shapes = plan.Shapes("toy", (6,), len(split.x_train), len(split.train_target), len(split.holdout),
                         len(split.x_val), len(split.x_test), "test")
    est = _steps("r2ad2", shapes, ctx.hparams, epochs)
    with StepCounter() as ae:
        trained_ae(split, ctx)
    assert ae.n == _steps("ae", shapes, ctx.hparams, epochs)["train_target ae"]
    with StepCounter() as gaa:
        snapshot_family(split, ctx, 4, **chain_options())
    assert gaa.n == est["train_target gaa"]
    with StepCounter() as fit:
        build_method("r2ad2").fit(split, ctx)
    # each mini-batch makes two updates (alarm, BN); the chain is trained again inside this fit
    assert fit.n == gaa.n + 2 * est["fit_score r2ad2"]
    with StepCounter() as dev:
        build_method("devnet").fit(split, ctx)
    assert dev.n == _steps("devnet", shapes, ctx.hparams, epochs)["fit_score devnet"]
    with StepCounter() as ruff:
        build_method("deepsad-ruff").fit(split, ctx)
    assert ruff.n == sum(_steps("deepsad-ruff", shapes, ctx.hparams, epochs).values())


def test_every_catalog_entry_is_modelled_or_says_why():
    """The cost model dispatches on the catalog's declarations: each target, feature and method
    class has a cost function, or (methods only) a reason it is not modelled; nothing else."""
    assert set(costs.TARGET_COSTS) == set(catalog.TARGETS)
    assert set(costs.FEATURE_COSTS) == set(catalog.FEATURES)
    classes = {catalog.method(m).cls for m in [*catalog.METHODS, "pyod:XGBOD"]}
    assert set(costs.FIT_COSTS) | set(costs.NOT_MODELLED) == classes
    assert not set(costs.FIT_COSTS) & set(costs.NOT_MODELLED)
    shapes = plan.Shapes("toy", (6,), 1600, 1500, 1125, 80, 400, "test")
    hp = HyperParams(encoder=(5, 3, 2), alarm=(100, 50, 25, 10), batch_size=128, a3_target=(5, 3, 2))
    for method in [*catalog.METHODS, "pyod:XGBOD"]:
        est = plan.estimate(method, shapes, hp, epochs=2)
        assert est.modelled != bool(est.note), method
        if est.modelled:
            assert est.seconds() > 0 and est.steps > 0, method
            fit = [s for s in est.stages if s.job.startswith(("fit_score", "score"))]
            assert fit, method  # its own job is costed, not only its targets
        else:
            assert est.note.startswith("not modelled: ") and len(est.note) > 30, method


def test_shapes_of_a_split_json_are_its_parts(tmp_path):
    split = toy_split(n_anomalies=10, n=500)
    split.save(tmp_path / "split.npz", tmp_path / "split.json")
    shapes = shapes_from_split("toy", tmp_path / "split.json", (6,))
    assert (shapes.n_train, shapes.n_normal_train, shapes.n_holdout, shapes.n_val, shapes.n_test, shapes.n_known) == (
        len(split.x_train), len(split.train_target), len(split.holdout), len(split.x_val), len(split.x_test), 10)


@pytest.mark.parametrize("n", [10, "half"])
def test_protocol_shapes_are_the_real_splits(tmp_path, n):
    prep = toy_prepared(n=2000)
    prep.save(tmp_path / "breast_cancer.npz")
    assert table_shape("breast_cancer", {"prepared_dir": str(tmp_path)}) == (
        (2000, 6), str(tmp_path / "breast_cancer.npz"))
    real = toy_split(n_anomalies=n, n=2000)
    anomalies = int((prep.labels == "1").sum())  # toy: classes "0" (normal) and "1"
    spec = registry.get("breast_cancer")
    declared = DeclaredShape(2000, (6,), None, {"benign": 2000 - anomalies, "malignant": anomalies})
    est = protocol_shapes("toy", spec, "known", declared, n, "test")
    for got, want in ((est.n_train, len(real.x_train)), (est.n_normal_train, len(real.train_target)),
                      (est.n_test, len(real.x_test)), (est.n_known, int(real.a_train.sum()))):
        assert abs(got - want) <= 0.02 * want + 2


def test_projection_adds_step_costs_arithmetic_gates_and_updates():
    calib = plan.Calibration(step_seconds=1e-3, flop_rate=1e9, gate_seconds=1e-6, adam_seconds=1e-7)
    stage = plan.Stage("fit_score x", "r2ad2", 100, 5e9, gates=2e6, updates=3e6)
    assert stage.seconds(calib) == pytest.approx(100 * plan.STEP_UNITS["r2ad2"] * 1e-3 + 5.0 + 2.0 + 0.3)
    wide = plan.Shapes("t", (30,), 1600, 1500, 1125, 80, 400, "test")
    small = plan.estimate("r2ad2", wide, HyperParams(encoder=(24, 12, 6), alarm=(100, 50, 25, 10), batch_size=128))
    large = plan.estimate("r2ad2", wide, HyperParams(encoder=(24, 12, 6), batch_size=128))
    assert large.steps == small.steps and large.flops > 10 * small.flops  # the 1000-500-200-75 alarm
    # one start-up per job: train_target gaa, extract gradients, fit_score (scoring runs in the fit job)
    assert large.jobs == 3
    job = plan.job_seconds(calib)
    assert large.seconds(calib) == pytest.approx(sum(s.seconds(calib) for s in large.stages) + 3 * job)
    assert large.seconds(calib, jobs=1) == pytest.approx(large.seconds(calib) - 2 * job)
    deepsvdd = plan.estimate("deepsvdd", wide, HyperParams(encoder=(24, 12, 6)))
    assert deepsvdd.jobs == 3  # the DeepSVDD-AE it starts from, Deep SVDD itself, the fit job


def _config(tmp_path, n_anomalies=(100,), datasets=("breast_cancer", "digits"), **extra):
    cfg = {"seeds": [110, 210], "datasets": list(datasets), "prepared_dir": str(tmp_path / "prep"),
           "results_dir": str(tmp_path / "results"), "run": {"epochs": None},
           "grids": {"known": {"experiments": ["known"], "n_anomalies": n_anomalies,
                               "methods": ["r2ad2", "ae", "iforest", "deepsad-ruff"]}},
           **extra}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_summary_one_line_per_data_set_and_method_without_reading_data(tmp_path):
    (tmp_path / "prep").mkdir()
    toy_prepared(n=600).save(tmp_path / "prep" / "breast_cancer.npz")
    rows = plan.plan_run(plan.read_config([_config(tmp_path)]))
    lines = plan.summary_lines(rows)
    assert any(line.startswith("breast_cancer r2ad2 x2: target ") and "features" in line for line in lines)
    assert any(line.startswith("breast_cancer ae x2:") for line in lines)
    assert any(line.startswith("breast_cancer deepsad-ruff x2:") for line in lines)
    assert any(line.startswith("digits r2ad2 x2:") for line in lines)  # not prepared: its documented size
    assert not any("iforest" in line for line in lines)  # not modelled: no line
    assert lines[-1].startswith("projected CPU time")
    by = {(r.dataset, r.method): r for r in rows}
    assert by["breast_cancer", "ae"].shapes.table_rows == 600  # the prepared table's header
    assert by["digits", "ae"].shapes.table_rows == 1797  # registry: sklearn's digits
    est = by["breast_cancer", "ae"].estimate
    assert est.stages[0].steps == math.ceil(est.stages[0].steps / 100) * 100  # 100 epochs (the papers')


def test_half_and_per_data_set_n_anomalies(tmp_path, capsys):
    """`half` (and a mapping per data set) used to crash the estimate: str compared with int."""
    config = plan.read_config([_config(tmp_path, {"breast_cancer": ["half"], "default": [10, "half"]})])
    rows = plan.plan_run(config)
    r2ad2 = {r.dataset: r for r in rows if r.method == "r2ad2"}
    # half = ⌊A_train / 2⌋: breast cancer's 212 malignant rows, 76 % of them in training
    assert r2ad2["breast_cancer"].shapes.n_known == math.floor(212 * 0.8 * 0.95) // 2
    assert any("half -> 80 (known) known anomalies" in n for n in r2ad2["breast_cancer"].notes)
    assert r2ad2["digits"].cells == 4  # n 10 and half, two seeds
    plan.print_summary(config)
    err = capsys.readouterr().err
    assert "skipped" not in err and "breast_cancer: n_anomalies half -> 80 (known)" in err


def test_plan_command_prints_the_table(tmp_path, capsys):
    (tmp_path / "prep").mkdir()
    toy_prepared(n=600).save(tmp_path / "prep" / "breast_cancer.npz")
    assert main(["plan", "--configfile", str(_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["dataset", "method", "cells"]
    r2ad2 = next(r for r in rows if r.split()[:2] == ["breast_cancer", "r2ad2"])
    assert r2ad2.split()[2] == "2"
    assert "?" not in out
    assert any(r.startswith("iforest: not modelled: ") for r in rows)


def test_load_marks_a_data_set_it_cannot_fetch(tmp_path, capsys):
    """--load used to abort at the first data set it could not fetch; --mirror did not exist."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    config = _config(tmp_path, datasets=["nsl_kdd", "breast_cancer"])  # nsl_kdd: registration-gated
    assert main(["plan", "--configfile", str(config), "--load", "--mirror", str(mirror),
                 "--raw-dir", str(tmp_path / "raw")]) == 0
    out = capsys.readouterr().out
    assert "nsl_kdd: not loaded (DownloadError" in out and str(mirror) in out
    rows = {tuple(line.split()[:2]): line for line in out.splitlines()}
    assert "(loaded table)" in rows["breast_cancer", "r2ad2"]  # the embedded one was loaded
    assert "(documented)" in rows["nsl_kdd", "r2ad2"]  # the unloadable one keeps its documented size


def test_calibration_round_trips(tmp_path, capsys):
    out = tmp_path / "calib.json"
    assert main(["plan", "--calibrate", "--calibrate-seconds", "0.4", "--calibration-out", str(out)]) == 0
    calib = plan.load_calibration(out)
    assert calib.step_seconds > 0 and calib.flop_rate > 1e6 and calib.gate_seconds >= 0 and calib.adam_seconds > 0
    assert json.loads(capsys.readouterr().out)["step_seconds"] == calib.step_seconds
