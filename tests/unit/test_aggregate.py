"""Aggregation over seeds (docs/protocol.md#aggregation): long format, mean / sample std."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_report_records import SEEDS, record, synthetic_records

from alarmbench.evaluate.aggregate import (
    GROUP,
    KEYS,
    collect,
    combine_runs,
    read_results,
    records_to_frame,
    summarise,
)


@pytest.fixture(scope="module")
def records():
    return synthetic_records()


def test_long_format_one_row_per_cell_method_seed_metric(records):
    df = records_to_frame(records)
    assert list(df.columns) == [*KEYS, "metric", "value", "software"]
    assert not df.duplicated([*KEYS, "metric"]).any()
    rec = records[0]
    got = df[(df["dataset"] == rec["dataset"]) & (df["method"] == rec["method"]) & (df["seed"] == rec["seed"])
             & (df["n_anomalies"] == rec["n_anomalies"]) & (df["pollution"] == rec["pollution"])
             & (df["experiment"] == rec["experiment"])].set_index("metric")["value"]
    assert set(got.index) == {"fit_seconds", "val_auc", "val_ap", "test_auc", "test_ap"}
    assert got["test_auc"] == pytest.approx(rec["test_auc"])
    # non-metric keys (options, roc, device strings) never become rows
    assert not df["metric"].isin(["options", "roc", "roc_validation", "device"]).any()
    assert {"test_f1", "test_precision", "test_recall", "threshold"} <= set(df["metric"])


def test_collect_writes_csv_and_roc_and_reads_back(tmp_path, records):
    paths = []
    for i, chunk in enumerate((records[:50], records[50:])):  # a list file and single-record files
        if i == 0:
            path = tmp_path / "many.json"
            path.write_text(json.dumps(chunk))
            paths.append(path)
        else:
            for j, rec in enumerate(chunk):
                path = tmp_path / f"r{j}.json"
                path.write_text(json.dumps(rec))
                paths.append(path)
    df = collect(paths, tmp_path / "out" / "results.csv")
    back = read_results(tmp_path / "out" / "results.csv")
    pd.testing.assert_frame_equal(df, back, check_dtype=False)
    assert back["epochs"].map(type).eq(str).all()
    roc = read_results(tmp_path / "out" / "roc.csv")
    assert {"fpr", "tpr", "split", "point"} <= set(roc.columns) and len(roc) > 0
    assert not list((tmp_path / "out").glob(".*tmp"))  # atomic writes leave no temporaries


def test_epochs_text_survives_round_trip(tmp_path):
    recs = [record("digits", "known", "ae", s, epochs=5) for s in SEEDS] + [record("digits", "known", "ae", 110)]
    collect(recs, tmp_path / "results.csv")
    assert set(read_results(tmp_path / "results.csv")["epochs"]) == {"5", "paper"}


def test_duplicates_and_missing_keys_are_refused():
    rec = record("digits", "known", "ae", 110)
    with pytest.raises(ValueError, match="duplicate"):
        records_to_frame([rec, dict(rec)])
    with pytest.raises(ValueError, match="lacks"):
        records_to_frame([{k: v for k, v in rec.items() if k != "n_anomalies"}])


def test_summarise_mean_and_sample_std(records):
    df = records_to_frame(records)
    summary = summarise(df)
    assert list(summary.columns) == [*GROUP, "mean", "std", "count"]
    values = [r["test_auc"] for r in records if (r["dataset"], r["experiment"], r["method"], r["n_anomalies"],
                                                 r["pollution"]) == ("mnist", "known", "r2ad2", 100, 0.0)]
    row = summary[(summary["dataset"] == "mnist") & (summary["experiment"] == "known") & (summary["method"] == "r2ad2")
                  & (summary["n_anomalies"] == 100) & (summary["pollution"] == 0.0) & (summary["metric"] == "test_auc")]
    assert len(row) == 1 and len(values) == 3
    assert row["mean"].iloc[0] == pytest.approx(np.mean(values))
    assert row["std"].iloc[0] == pytest.approx(np.std(values, ddof=1))
    assert row["count"].iloc[0] == 3


def test_single_seed_has_nan_std():
    summary = summarise(records_to_frame([record("digits", "known", "ae", 110)]))
    assert summary["std"].isna().all() and (summary["count"] == 1).all()


def test_library_versions_travel_with_every_row():
    rec = {"dataset": "mammography", "experiment": "known", "method": "pyod:XGBOD", "seed": 110,
           "n_anomalies": 100, "pollution": 0.0, "epochs": None, "test_auc": 0.95, "test_ap": 0.7,
           "pyod": "3.6.7", "scikit-learn": "1.9.1"}
    df = records_to_frame([rec])
    assert set(df["software"]) == {"pyod=3.6.7;scikit-learn=1.9.1"}


def test_combining_runs_replaces_whole_data_sets_and_their_roc_curves(tmp_path):
    old = [record(ds, "known", m, seed, roc=True) for ds in ("mammography", "digits") for m in ("r2ad2", "ae")
           for seed in SEEDS]
    # The later run has only Mammography, with different numbers and one seed fewer for AE.
    new = [record("mammography", "known", m, seed, roc=True, shift=0.01) for m in ("r2ad2", "ae")
           for seed in SEEDS if (m, seed) != ("ae", SEEDS[-1])]
    collect(old, tmp_path / "old" / "results.csv")
    collect(new, tmp_path / "new" / "results.csv")
    out = combine_runs(tmp_path / "old" / "results.csv", [tmp_path / "new" / "results.csv"], tmp_path / "out")
    df, want = read_results(out), read_results(tmp_path / "new" / "results.csv")
    mammo = df[df["dataset"] == "mammography"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mammo, want.sort_values(list(mammo.columns[:8]), ignore_index=True)[mammo.columns])
    pd.testing.assert_frame_equal(df[df["dataset"] == "digits"].reset_index(drop=True),
                                  read_results(tmp_path / "old" / "results.csv").query("dataset == 'digits'")
                                  .reset_index(drop=True))
    roc = read_results(tmp_path / "out" / "roc.csv")
    new_roc = read_results(tmp_path / "new" / "roc.csv")
    assert len(roc[roc["dataset"] == "mammography"]) == len(new_roc)
    assert set(roc["dataset"]) == {"mammography", "digits"}


def test_combining_runs_refuses_mismatched_files(tmp_path):
    collect([record("digits", "known", "ae", s, roc=True) for s in SEEDS], tmp_path / "a" / "results.csv")
    with pytest.warns(UserWarning, match="no record has a validation ROC"):
        collect([record("digits", "known", "ae", s) for s in SEEDS], tmp_path / "b" / "results.csv")
    (tmp_path / "b" / "roc.csv").unlink()  # a run from before roc.csv was always written
    with pytest.raises(ValueError, match="roc.csv not found"):
        combine_runs(tmp_path / "a" / "results.csv", [tmp_path / "b" / "results.csv"], tmp_path / "out")
    other = tmp_path / "c" / "results.csv"
    other.parent.mkdir()
    read_results(tmp_path / "b" / "results.csv").drop(columns="software").to_csv(other, index=False)
    (other.parent / "roc.csv").write_text((tmp_path / "a" / "roc.csv").read_text())
    with pytest.raises(ValueError, match="different columns"):
        combine_runs(tmp_path / "a" / "results.csv", [other], tmp_path / "out")


def test_no_roc_at_all_still_writes_both_files(tmp_path):
    """No cell with validation anomalies: a header-only roc.csv and a warning, never a missing output
    (Snakemake would then delete the results.csv just written)."""
    with pytest.warns(UserWarning, match="roc.csv holds only its header"):
        collect([record("digits", "known", "ae", s) for s in SEEDS], tmp_path / "results.csv")
    assert (tmp_path / "results.csv").stat().st_size > 0
    assert (tmp_path / "roc.csv").read_text().strip().split(",")[-2:] == ["fpr", "tpr"]


def test_roc_csv_reads_the_named_validation_curve_and_legacy_records():
    """`roc_validation` goes to roc.csv as split "val"; a record from before the part was named
    (`roc`, which always held the validation curve) reads the same."""
    from alarmbench.evaluate.aggregate import roc_frame

    new = record("digits", "known", "ae", 110, roc=True)
    old = {k: v for k, v in record("digits", "known", "ae", 210, roc=True).items() if k != "roc_validation"}
    old["roc"] = new["roc_validation"]
    frame = roc_frame([new, old])
    assert set(frame["split"]) == {"val"}
    by_seed = {s: part["tpr"].tolist() for s, part in frame.groupby("seed")}
    assert by_seed[110] == by_seed[210] == new["roc_validation"]["tpr"]


def test_timing_records_become_result_rows():
    """target/extract/total seconds of a fit reach results.csv beside fit_seconds."""
    rec = record("digits", "known", "ae", 110) | {"target_seconds": 12.5, "extract_seconds": 0.0,
                                                 "total_seconds": 14.0}
    got = records_to_frame([rec]).set_index("metric")["value"]
    assert got["target_seconds"] == 12.5 and got["extract_seconds"] == 0.0 and got["total_seconds"] == 14.0
