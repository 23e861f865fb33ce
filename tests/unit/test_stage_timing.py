"""Timing records of the workflow's jobs (stages/timing.py): train_target and extract record their
seconds, fit_score adds what it read to `total_seconds`, so AE/GradCon/Deep SVDD are not timed at
the second their fit job spends loading a trained network."""

from __future__ import annotations


import pytest
from toydata import toy_split

from alarmbench.fileio import read_json, write_json
from alarmbench.stages.extract import extract_stage
from alarmbench.stages.fit import fit_score_stage
from alarmbench.stages.target import train_target_stage
from alarmbench.stages.timing import FEATURE_FILE, target_record

DATASET = "breast_cancer"  # registered without fixed sizes: the toy split's shape sizes the nets
RUN = {"epochs": 1, "device": "cpu", "threads": 1}


@pytest.fixture()
def cell(tmp_path):
    split = toy_split(n_anomalies=10, n=400)
    split.save(tmp_path / "split.npz", tmp_path / "split.json")
    return tmp_path, str(tmp_path / "split.npz")


def _train(folder, split_npz, target, inputs=()):
    out = folder / "targets" / f"{target}.pt"
    train_target_stage(split_npz=split_npz, dataset=DATASET, seed=110, target=target, run=RUN, code="test",
                       out=str(out), inputs=[str(p) for p in inputs])
    return out


def _fit(folder, split_npz, method, targets, features=None):
    info = folder / method / "fit.json"
    feats = features or {}
    fit_score_stage(split_npz=split_npz, dataset=DATASET, seed=110, method=method, run=RUN, code="test",
                    targets_dir=str(folder / "targets"), features=feats, work_dir=str(folder / method / "work"),
                    out_scores=str(folder / method / "scores.npz"), out_info=str(info),
                    inputs=[*map(str, targets), *(d for parts in feats.values() for d in parts.values())])
    return read_json(info)


def test_a_target_records_its_seconds_and_those_it_starts_from(cell):
    folder, split_npz = cell
    ae = _train(folder, split_npz, "deepsvdd_ae")
    first = read_json(target_record(ae))
    assert first["target"] == "deepsvdd_ae" and first["seconds"] > 0 and first["total_seconds"] == first["seconds"]
    write_json(target_record(ae), first | {"total_seconds": 1000.0}, sealed=True)  # a slow pretraining, as recorded
    svdd = _train(folder, split_npz, "deepsvdd", inputs=[ae])
    rec = read_json(target_record(svdd))
    assert rec["upstream_seconds"] == 1000.0
    assert rec["total_seconds"] == pytest.approx(rec["seconds"] + 1000.0, abs=2e-3)


def test_fit_total_adds_the_target_and_feature_jobs_it_read(cell):
    folder, split_npz = cell
    ae = _train(folder, split_npz, "ae")
    write_json(target_record(ae), read_json(target_record(ae)) | {"total_seconds": 500.0}, sealed=True)
    info = _fit(folder, split_npz, "ae", [ae])
    assert info["target_seconds"] == 500.0 and info["extract_seconds"] == 0.0
    assert info["total_seconds"] == pytest.approx(info["fit_seconds"] + 500.0, abs=2e-3)

    dirs = {part: str(folder / "features" / part) for part in ("train", "val", "test")}
    extract_stage(split_npz=split_npz, dataset=DATASET, seed=110, kind="activations", run=RUN, target=str(ae),
                  out_dirs=dirs)
    recorded = read_json(folder / "features" / "train" / FEATURE_FILE)
    assert recorded["kind"] == "activations" and recorded["seconds"] > 0
    write_json(folder / "features" / "train" / FEATURE_FILE, recorded | {"seconds": 70.0}, sealed=True)
    info = _fit(folder, split_npz, "a3", [ae], {"activations": dirs})
    assert info["extract_seconds"] == 70.0 and info["target_seconds"] == 500.0
    assert info["total_seconds"] == pytest.approx(info["fit_seconds"] + 570.0, abs=2e-3)


def test_a_missing_record_leaves_the_total_out(cell, caplog):
    folder, split_npz = cell
    ae = _train(folder, split_npz, "ae")
    target_record(ae).unlink()  # a target trained before the records existed
    info = _fit(folder, split_npz, "ae", [ae])
    assert "target_seconds" not in info and "total_seconds" not in info and info["extract_seconds"] == 0.0
    assert "no timing record" in caplog.text


def test_devnet_reads_nothing_so_its_total_is_its_fit(cell):
    folder, split_npz = cell
    info = _fit(folder, split_npz, "devnet", [])
    assert info["target_seconds"] == 0.0 and info["total_seconds"] == info["fit_seconds"]
