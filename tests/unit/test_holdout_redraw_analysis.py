"""benchmarks/holdout_redraw.py: which runs it reads, the sign of the effects and the statistics."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "holdout_redraw.py"
_spec = importlib.util.spec_from_file_location("holdout_redraw_analysis", _PATH)
hr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hr)


def record(seed, ap, *, rng="original", redraw=False, auc=0.9):
    return {"method": "r2ad2", "seed": seed, "epochs": "paper", "rng": rng, "test_auc": auc, "test_ap": ap,
            "options": {"holdout_redraw": True} if redraw else {}}


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_redraw_effect_is_redraw_minus_single_paired_by_seed(tmp_path):
    single = [record(s, 0.60 + 0.01 * i) for i, s in enumerate((110, 210, 310, 410))]
    redraw = [record(s, 0.62 + 0.01 * i + 0.001 * i * i, redraw=True) for i, s in enumerate((110, 210, 310, 410))]
    runs = hr.read_runs(write(tmp_path / "r.jsonl", single + redraw))
    fx = hr.redraw_effects(runs).set_index("metric").loc["test_ap"]
    diffs = np.array([0.02 + 0.001 * i * i for i in range(4)])
    assert fx.mean_diff == pytest.approx(diffs.mean()) and fx.n_pairs == 4
    assert fx.ci95_low < fx.mean_diff < fx.ci95_high and fx.ci95_low > 0  # every pair moved up
    assert fx.t_p < 0.01


def test_a_rerun_replaces_the_earlier_record(tmp_path):
    runs = hr.read_runs(write(tmp_path / "r.jsonl", [record(110, 0.5), record(110, 0.7)]))
    assert list(runs.test_ap) == [0.7]


def test_authors_first_run_per_seed_at_100_epochs_and_reruns_apart(tmp_path):
    csv = tmp_path / "a.csv"
    pd.DataFrame({"method": ["R2-AD2 (GAA-3)", "R2-AD2 (GAA-3)", "R2-AD2 (GAA-3)", "R2-AD2 (GAA-3)", "DeepSVDD"],
                  "seed": [110, 110, 110, 210, 110], "epochs": [100, 100, 1, 100, 100],
                  "test_auc": [0.95, 0.94, 0.90, np.nan, 0.6], "test_ap": [0.72, 0.71, 0.37, np.nan, 0.07],
                  "wall_s": [1, 1, 1, 1, 1]}).to_csv(csv, index=False)
    first, reruns = hr.read_authors(csv)
    assert first[["method", "seed", "test_ap"]].values.tolist() == [["r2ad2", 110, 0.72]]
    assert reruns.test_ap.tolist() == [0.71]


def test_unpaired_statistics_name_the_lower_arm():
    ours, theirs = np.array([0.60, 0.62, 0.61, 0.63, 0.59]), np.array([0.70, 0.72, 0.71, 0.69, 0.73])
    out = hr.unpaired(ours, theirs)
    assert out["mean_diff"] == pytest.approx(-0.1) and out["hedges_g"] < -3
    assert out["welch_p"] < 0.001 and out["mannwhitney_p"] == pytest.approx(2 / 252)  # exact, all ours below
