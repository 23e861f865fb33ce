"""The A³ threshold of SPEC §6.3: chosen on the validation part of the largest-n cell of the
known-anomaly experiment and reused for smaller n and the paired transfer experiment (default),
or chosen per cell (switch)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from toydata import toy_split

from alarmbench.configcheck import check_config
from alarmbench.data import registry
from alarmbench.evaluate.metrics import threshold_at_max_fpr, threshold_metrics
from alarmbench.evaluate.threshold_source import known_counterpart, threshold_sources
from alarmbench.fileio import read_json, write_json, write_npz
from alarmbench.grid import Cell, Job, expand
from alarmbench.methods.catalog import ConfigError
from alarmbench.stages.evaluate import evaluate_stage

from test_configcheck import BASE

CONFIG = {"datasets": ["mnist_t10k", "digits"], "seeds": [110, 210], "grids": {
    "a3": {"experiments": ["a3-1a", "a3-2a", "a3-1b", "a3-2b"], "n_anomalies": [25, 50, 200],
           "methods": ["a3-2020", "ae"], "datasets": ["mnist_t10k"]},
    "a3_transfer_only": {"experiments": ["a3-2b"], "n_anomalies": [25, 100], "methods": ["devnet"],
                         "datasets": ["mnist_t10k"]},
    "known": {"experiments": ["known"], "n_anomalies": [100], "methods": ["ae"]}}}


def is_a3(cell: Cell) -> bool:
    return cell.experiment.startswith("a3-")


def sources(rule="largest_n"):
    return threshold_sources(expand(CONFIG), registry.get, applies=is_a3, rule=rule)


def test_transfer_experiments_pair_with_their_known_experiment():
    spec = registry.get("mnist_t10k")
    assert [known_counterpart(spec, e) for e in ("a3-1a", "a3-2a", "a3-1b", "a3-2b")] == ["a3-1a", "a3-1a",
                                                                                          "a3-1b", "a3-1b"]
    emnist = registry.get("mnist_emnist")
    assert [known_counterpart(emnist, e) for e in ("a3-3b", "a3-3d")] == ["a3-3a", "a3-3c"]
    assert known_counterpart(spec, "transfer") == "transfer"  # R2-AD2 transfer trains on 4-6, known on 4-9: no pair


def test_every_a3_cell_reads_the_largest_n_cell_of_its_known_experiment():
    got = sources()
    assert got and all(is_a3(job.cell) for job in got)  # the R2-AD2 cells choose nothing
    for job, src in got.items():
        c = job.cell
        want_exp = {"a3-2a": "a3-1a", "a3-2b": "a3-1b"}.get(c.experiment, c.experiment)
        if job.method == "devnet":  # its grid has no a3-1b cell: the largest n of its own experiment
            want_exp = c.experiment
        want_n = 100 if job.method == "devnet" else 200
        assert src == Cell(c.dataset, want_exp, want_n, c.pollution, c.seed), job
    # the sources choose their own
    assert all(got[Job(src, job.method)] == src for job, src in got.items())


def test_per_cell_choice_is_a_switch():
    assert all(src == job.cell for job, src in sources("per_cell").items())
    with pytest.raises(ValueError, match="a3_threshold: 'largest'"):
        sources("largest")


def _scores(tmp_path, split, name, shift):
    rng = np.random.default_rng(len(name))
    write_npz(tmp_path / f"{name}.npz", val=split.a_val * shift + rng.normal(0, 1, len(split.a_val)),
              test=split.a_test * shift + rng.normal(0, 1, len(split.a_test)))
    write_json(tmp_path / f"{name}.json", {"fit_seconds": 1.0}, sealed=True)
    return [str(tmp_path / f"{name}.npz")], [str(tmp_path / f"{name}.json")]


CELL = {"dataset": "toy", "experiment": "a3-1a", "n_anomalies": 200, "pollution": 0.0, "seed": 110, "epochs": "paper"}


def test_the_reused_threshold_is_chosen_on_the_source_validation_and_applied_to_this_test(tmp_path):
    big, small = toy_split(n_anomalies=60), toy_split(n_anomalies=10)
    big.save(tmp_path / "big.npz", tmp_path / "big.json")
    small.save(tmp_path / "small.npz", tmp_path / "small.json")
    scores, info = _scores(tmp_path, big, "big_ae", 3.0)
    evaluate_stage(split_npz=str(tmp_path / "big.npz"), methods=["ae"], scores_npz=scores, info_json=info, cell=CELL,
                   max_fpr=0.05, out=str(tmp_path / "big_metrics.json"))
    (src,) = read_json(tmp_path / "big_metrics.json")
    with np.load(scores[0]) as z:
        assert src["threshold"] == threshold_at_max_fpr(big.a_val, z["val"], 0.05)
    assert src["threshold_source"] == "toy/a3-1a/n200_p0.0/seed110"

    scores, info = _scores(tmp_path, small, "small_ae", 1.0)  # a weaker model: its own threshold differs
    cell = CELL | {"experiment": "a3-2a", "n_anomalies": 25}
    for reuse in (True, False):
        evaluate_stage(split_npz=str(tmp_path / "small.npz"), methods=["ae"], scores_npz=scores, info_json=info,
                       cell=cell, max_fpr=0.05, out=str(tmp_path / "small_metrics.json"),
                       threshold_from={"ae": str(tmp_path / "big_metrics.json")} if reuse else None)
        (rec,) = read_json(tmp_path / "small_metrics.json")
        with np.load(scores[0]) as z:
            own = threshold_at_max_fpr(small.a_val, z["val"], 0.05)
            threshold = src["threshold"] if reuse else own
            want = threshold_metrics(small.a_test, z["test"], threshold)
        assert own != src["threshold"]
        assert rec["threshold"] == threshold and rec["test_f1"] == want["f1"] and rec["test_recall"] == want["recall"]
        assert rec["threshold_source"] == ("toy/a3-1a/n200_p0.0/seed110" if reuse else "toy/a3-2a/n25_p0.0/seed110")


def test_a_source_without_a_threshold_is_named(tmp_path):
    write_json(tmp_path / "m.json", [{"method": "ae", **CELL}], sealed=True)
    split = toy_split(n_anomalies=10)
    split.save(tmp_path / "s.npz", tmp_path / "s.json")
    scores, info = _scores(tmp_path, split, "ae", 1.0)
    with pytest.raises(ValueError, match=r"m.json: no threshold of method 'ae' to reuse.*per_cell"):
        evaluate_stage(split_npz=str(tmp_path / "s.npz"), methods=["ae"], scores_npz=scores, info_json=info,
                       cell=CELL, max_fpr=0.05, out=str(tmp_path / "o.json"), threshold_from={"ae": str(tmp_path / "m.json")})


def test_configcheck_refuses_an_unknown_threshold_rule():
    config = copy.deepcopy(BASE) | {"method_options": {}}
    with pytest.raises(ConfigError, match=r"a3_threshold: 'largest' is not a threshold rule.*'largest_n', 'per_cell'"):
        check_config(config | {"a3_threshold": "largest"})
    check_config(config | {"a3_threshold": "per_cell"})
