"""The authors'-code reference (`alarmbench.report.peers`): which runs of a peer file count, the
columns beside the paper comparison, and that a missing peer file leaves them out."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alarmbench.errors import InputError
from alarmbench.evaluate.aggregate import collect, records_to_frame, summarise
from alarmbench.report import peers as P
from alarmbench.report.build import build_reports
from alarmbench.report.latex import braces_balanced
from alarmbench.report.paper import compare

SEEDS = (110, 210, 310, 410, 510)
OURS_AUC = [0.94, 0.93, 0.95, 0.92, 0.96]
OURS_AP = [0.66, 0.60, 0.70, 0.62, 0.72]
THEIRS_AUC = [0.95, 0.945, 0.94, 0.947, 0.953]
THEIRS_AP = [0.72, 0.71, 0.67, 0.72, 0.74]
PEER_CSV = """method,seed,epochs,test_auc,test_ap,wall_s
R2-AD2 (GAA-3),210,100,,,45074
R2-AD2 (GAA-3),110,100,0.95,0.72,243.4
R2-AD2 (GAA-3),210,100,0.945,0.71,183.2
R2-AD2 (GAA-3),310,100,0.94,0.67,142.4
R2-AD2 (GAA-3),410,100,0.947,0.72,184.7
R2-AD2 (GAA-3),510,100,0.953,0.74,145.3
AE,310,1,0.50,0.10,5.0
AE,110,100,0.89,0.25,13.4
AE,210,100,0.90,0.26,13.8
R2-AD2 (GAA-3),110,100,0.20,0.10,137.8
R2-AD2 (GAA-3),110,1,0.10,0.05,512.4
"""


def _records(epochs="paper"):
    recs = []
    for i, seed in enumerate(SEEDS):
        recs.append({"dataset": "mammography", "experiment": "known", "method": "r2ad2", "seed": seed,
                     "n_anomalies": 100, "pollution": 0.0, "epochs": None if epochs == "paper" else epochs,
                     "test_auc": OURS_AUC[i], "test_ap": OURS_AP[i]})
        recs.append({**recs[-1], "method": "devnet", "test_auc": 0.94, "test_ap": 0.65 + i / 100})
    return recs


@pytest.fixture
def peer_file(tmp_path) -> Path:
    path = tmp_path / "authors_code_mammography.csv"
    path.write_text(PEER_CSV)
    return path


def test_the_runs_that_count(peer_file):
    runs = P.read_peer_runs(peer_file, "mammography")
    r2 = runs[(runs["method"] == "r2ad2") & (runs["metric"] == "auc")]
    # the rerun of seed 110, its 1-epoch trial and the unfinished run are left out; one run per seed
    assert r2["seed"].tolist() == list(SEEDS) and r2["value"].tolist() == THEIRS_AUC
    assert runs.loc[(runs["method"] == "r2ad2") & (runs["metric"] == "ap"), "value"].tolist() == THEIRS_AP
    assert set(runs["method"]) == {"r2ad2", "ae"} and set(runs["dataset"]) == {"mammography"}
    assert sorted(runs.loc[runs["method"] == "ae", "seed"].unique()) == [110, 210]  # a 1-epoch trial only
    assert set(runs["experiment"]) == {"known"} and set(runs["n_anomalies"]) == {100}


def test_bad_peer_files_name_file_line_and_value(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("method,seed,test_auc\nAE,110,0.9\n")
    with pytest.raises(InputError, match=r"bad\.csv: lacks column\(s\) test_ap"):
        P.read_peer_runs(bad, "mammography")
    bad.write_text("method,seed,test_auc,test_ap\nAE,110,0.9,0.3\nDeepSVD,110,0.6,0.1\n")
    with pytest.raises(InputError, match=r"bad\.csv: line 3: method 'DeepSVD'"):
        P.read_peer_runs(bad, "mammography")
    bad.write_text("method,seed,test_auc,test_ap\nAE,110,0.9,0.3\nAE,210,high,0.1\n")
    with pytest.raises(InputError, match=r"line 3: test_auc = 'high' is not a number"):
        P.read_peer_runs(bad, "mammography")


def test_peer_columns_known_numbers(peer_file):
    results = records_to_frame(_records())
    cmp = P.peer_columns(compare(summarise(results)), results, P.load_peers({"mammography": peer_file}))
    row = cmp.set_index(["method", "metric"]).loc[("r2ad2", "auc")]
    assert row["peer_mean"] == pytest.approx(np.mean(THEIRS_AUC))
    assert row["peer_std"] == pytest.approx(np.std(THEIRS_AUC, ddof=1)) and row["peer_n"] == 5
    assert row["peer_diff"] == pytest.approx(np.mean(OURS_AUC) - np.mean(THEIRS_AUC))
    # Welch's t-test by hand from scipy's t distribution (Welch–Satterthwaite d.f.)
    va, vb = np.var(OURS_AUC, ddof=1) / 5, np.var(THEIRS_AUC, ddof=1) / 5
    t = (np.mean(OURS_AUC) - np.mean(THEIRS_AUC)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 4)
    assert row["welch_p"] == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert row["mannwhitney_p"] == pytest.approx(stats.mannwhitneyu(OURS_AUC, THEIRS_AUC).pvalue)
    pairs = [(a, b) for a in OURS_AUC for b in THEIRS_AUC]  # two ties (.94, .95) count half
    assert row["cles"] == pytest.approx((sum(a > b for a, b in pairs) + sum(a == b for a, b in pairs) / 2) / 25)
    assert row["cles"] == pytest.approx(0.36)
    assert row["hedges_g"] < 0  # ours lower
    ap = cmp.set_index(["method", "metric"]).loc[("r2ad2", "ap")]
    assert ap["peer_mean"] == pytest.approx(np.mean(THEIRS_AP))
    assert ap["welch_p"] == pytest.approx(stats.ttest_ind(OURS_AP, THEIRS_AP, equal_var=False).pvalue)
    devnet = cmp.set_index(["method", "metric"]).loc[("devnet", "auc")]  # not in the peer file
    assert pd.isna(devnet["peer_mean"]) and pd.isna(devnet["welch_p"])


def test_no_peer_reference_at_reduced_epochs(peer_file):
    results = records_to_frame(_records(epochs=3))
    cmp = P.peer_columns(compare(summarise(results)), results, P.load_peers({"mammography": peer_file}))
    assert cmp["peer_mean"].isna().all()


def test_missing_peer_file_omits_the_columns(peer_file, tmp_path):
    collect(_records(), tmp_path / "results.csv")
    assert P.resolve_peers(None, root=tmp_path) == {}  # the default file is absent here: no error
    build_reports(tmp_path / "results.csv", tmp_path / "plain", peers=P.resolve_peers(None, root=tmp_path))
    plain = pd.read_csv(tmp_path / "plain" / "paper_comparison.csv")
    assert not set(P.PEER_COLUMNS) & set(plain.columns)
    assert "authors' code" not in (tmp_path / "plain" / "paper_comparison.md").read_text()
    build_reports(tmp_path / "results.csv", tmp_path / "peer", peers={"mammography": peer_file})
    cmp = pd.read_csv(tmp_path / "peer" / "paper_comparison.csv")
    assert set(P.PEER_COLUMNS) <= set(cmp.columns) and cmp["peer_mean"].notna().sum() == 2
    pd.testing.assert_frame_equal(cmp[plain.columns], plain)  # the paper columns are untouched
    md = (tmp_path / "peer" / "paper_comparison.md").read_text()
    assert "## Ours vs the authors' code on this machine" in md
    assert "| Mammography | R2-AD2 | AUC | .940 ± .016 (n=5) | .947 ± .005 (n=5) | -.007 |" in md
    tex = (tmp_path / "peer" / "paper_comparison.tex").read_text()
    assert "tab:authors_code_comparison" in tex and braces_balanced(tex)


def test_default_and_configured_peer_files(peer_file, tmp_path):
    root = tmp_path / "repo"  # a checkout beside shared/
    root.mkdir()
    assert P.resolve_peers(None, root=root) == {}
    default = tmp_path / "shared" / "peers" / "authors_code_mammography.csv"
    default.parent.mkdir(parents=True)
    default.write_text(PEER_CSV)
    assert P.resolve_peers(None, root=root) == {"mammography": root / P.DEFAULT_PEERS["mammography"]}
    assert P.resolve_peers({}, root=root) == {}
    with pytest.raises(InputError, match="peers: mammography: nope.csv is not a file"):
        P.resolve_peers({"mammography": "nope.csv"}, root=root)
    assert P.parse_peers(["mammography=a.csv"]) == {"mammography": "a.csv"}
    with pytest.raises(InputError, match="DATASET=CSV"):
        P.parse_peers(["a.csv"])


def test_cli_finds_the_default_peer_file_and_refuses_a_missing_one(tmp_path, monkeypatch, capsys):
    from alarmbench.cli import main

    collect(_records(), tmp_path / "results.csv")
    shared = tmp_path / "shared" / "peers"
    shared.mkdir(parents=True)
    (shared / "authors_code_mammography.csv").write_text(PEER_CSV)
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)  # ../shared/peers/… seen from the repository root
    args = ["report", "--results", str(tmp_path / "results.csv"), "--out"]
    assert main([*args, str(tmp_path / "default")]) == 0
    assert "authors' code" in (tmp_path / "default" / "paper_comparison.md").read_text()
    assert main([*args, str(tmp_path / "none"), "--peers"]) == 0
    assert "authors' code" not in (tmp_path / "none" / "paper_comparison.md").read_text()
    capsys.readouterr()
    assert main([*args, str(tmp_path / "bad"), "--peers", "mammography=missing.csv"]) == 2
    assert "peers: mammography: missing.csv is not a file" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # refused before anything is written
