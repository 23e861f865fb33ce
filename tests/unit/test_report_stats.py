"""The statistics of the reports (`alarmbench.report.stats`): ranks, Friedman, Nemenyi's CD,
Holm, the Wilcoxon tests over data sets, and the two-sample tests and effect sizes over seeds."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alarmbench.report import stats as S


@pytest.fixture
def scores():
    """4 data sets × 3 methods, a tie on d2: ranks A 1,1.5,3,1; B 2,1.5,1,3; C 3,3,2,2."""
    return pd.DataFrame({"r2ad2": [0.90, 0.80, 0.70, 0.95], "ae": [0.80, 0.80, 0.90, 0.85],
                         "iforest": [0.70, 0.60, 0.80, 0.90]}, index=["d1", "d2", "d3", "d4"])


def test_average_ranks_with_a_tie(scores):
    ranks, avg = S.average_ranks(scores)
    assert ranks.loc["d2"].tolist() == [1.5, 1.5, 3.0]
    assert avg.to_dict() == pytest.approx({"r2ad2": 1.625, "ae": 1.875, "iforest": 2.5})
    assert list(avg.index) == ["r2ad2", "ae", "iforest"]  # best first
    assert ranks.sum(axis=1).tolist() == [6.0] * 4  # k(k+1)/2 per data set


def test_critical_difference_matches_demsar():
    # Demšar (2006), Table 5(a): q_0.05 for k = 2..10
    table = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    for k in (2, 4, 10):
        assert S.q_alpha(k, 0.05) == pytest.approx(table[k - 2], abs=1e-3)
    assert S.critical_difference(4, 10) == pytest.approx(1.48, abs=0.005)
    assert S.critical_difference(4, 10) == pytest.approx(2.569 * math.sqrt(4 * 5 / 60), abs=1e-3)
    assert math.isnan(S.critical_difference(1, 10))


def test_holm_by_hand_and_library(monkeypatch):
    raw = [0.01, 0.04, 0.03]
    expected = [0.03, 0.06, 0.06]
    assert S.holm(raw) == pytest.approx(expected)
    monkeypatch.setitem(sys.modules, "statsmodels.stats.multitest", None)  # import fails → hand-written step
    assert S.holm(raw) == pytest.approx(expected)
    assert S.holm([0.5, 0.01, 0.02]) == pytest.approx([0.5, 0.03, 0.04])  # step-down, monotone
    assert S.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def _means(n_datasets=6, shift=0.05):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_datasets):
        base = rng.uniform(0.6, 0.9)
        rows += [{"dataset": f"d{i}", "method": "r2ad2", "metric": "test_auc", "mean": base + shift},
                 {"dataset": f"d{i}", "method": "ae", "metric": "test_auc", "mean": base + rng.normal(0, 0.02)},
                 {"dataset": f"d{i}", "method": "devnet", "metric": "test_auc", "mean": base + shift + rng.normal(0, 0.03)}]
    return pd.DataFrame(rows)


def test_wilcoxon_matches_a_direct_scipy_call():
    means = _means()
    res = S.wilcoxon_vs(means).set_index("method")
    wide = means.pivot(index="dataset", columns="method", values="mean")
    for method in ("ae", "devnet"):
        direct = stats.wilcoxon(wide["r2ad2"], wide[method])
        assert res.loc[method, "pvalue"] == pytest.approx(direct.pvalue)
        assert res.loc[method, "statistic"] == pytest.approx(direct.statistic)
        assert res.loc[method, "n_datasets"] == 6 and res.loc[method, "reason"] == ""
    assert "r2ad2" not in res.index


def test_wilcoxon_pairs_only_shared_datasets_and_groups_by_context():
    means = _means(5)
    means = means[~((means["dataset"] == "d0") & (means["method"] == "ae"))]
    both = pd.concat([means, means.assign(metric="test_ap")])
    res = S.wilcoxon_vs(both)
    assert set(res["metric"]) == {"test_auc", "test_ap"}
    assert (res.loc[res["method"] == "ae", "n_datasets"] == 4).all()


def test_wilcoxon_degenerate_cases_give_nan_with_reason():
    one = _means(1)
    res = S.wilcoxon_vs(one)
    assert res["pvalue"].isna().all() and res["reason"].str.contains("fewer than the 6").all()
    five = S.wilcoxon_vs(_means(5))  # below stats.MIN_DATASETS no two-sided test can reach p < .05
    assert five["pvalue"].isna().all() and (five["n_datasets"] == 5).all()
    same = _means(6)
    same = pd.concat([same[same["method"] == "r2ad2"], same[same["method"] == "r2ad2"].assign(method="copy")])
    res = S.wilcoxon_vs(same)
    assert math.isnan(res["pvalue"].iloc[0]) and res["reason"].iloc[0] == "all differences are zero"
    assert S.wilcoxon_vs(_means(4)[lambda d: d["method"] != "r2ad2"]).empty  # no reference: nothing to test




def test_wilcoxon_holm_sees_no_difference_as_p_one(scores):
    same = scores.assign(copy=scores["ae"])
    p = S.wilcoxon_holm(same)
    assert p.loc["ae", "copy"] == 1.0 and (np.diag(p) == 1).all()
    raw = [stats.wilcoxon(same[a], same[b]).pvalue if a != "ae" or b != "copy" else 1.0
           for i, a in enumerate(same.columns) for b in list(same.columns)[i + 1:]]
    assert p.loc["r2ad2", "iforest"] == pytest.approx(S.holm(raw)[1])


# --- two independent samples --------------------------------------------------------------------

OURS = [0.9437, 0.9312, 0.9555, 0.9290, 0.9601]
THEIRS = [0.9515, 0.9454, 0.9406, 0.9471, 0.9532]


def test_welch_and_mann_whitney_match_scipy_by_hand():
    r = S.two_samples(OURS, THEIRS)
    # Welch by hand: t = Δmean / sqrt(s1²/n1 + s2²/n2), Welch–Satterthwaite d.f.
    a, b = np.array(OURS), np.array(THEIRS)
    va, vb = a.var(ddof=1) / 5, b.var(ddof=1) / 5
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 4)
    assert r.welch_t == pytest.approx(t) and r.welch_p == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert r.welch_p != pytest.approx(stats.ttest_ind(a, b).pvalue)  # not the pooled-variance test
    # U of ours: pairs (ours > theirs); 5 × 5 without ties → SciPy's exact two-sided p
    u = sum(x > y for x in OURS for y in THEIRS)
    assert r.mwu_u == u == 11 and r.cles == pytest.approx(11 / 25)
    assert r.mwu_p == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue)
    assert (r.n_a, r.n_b, r.reason) == (5, 5, "")


def test_effect_sizes_sign_and_size():
    a, b = [1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]
    g = S.hedges_g(a, b)
    d = (2.5 - 4.5) / math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)  # Cohen's d, equal n
    assert g == pytest.approx(d * (1 - 3 / (4 * 8 - 9)))
    assert S.hedges_g(b, a) == pytest.approx(-g)
    r = S.two_samples(a, b)
    assert r.hedges_g == pytest.approx(g)
    # pairs with a > b: (4, 3) only; ties (3,3), (4,4) count half → (1 + 1) / 16
    assert r.cles == pytest.approx(2 / 16) and S.two_samples(b, a).cles == pytest.approx(14 / 16)


def test_two_samples_too_small_or_constant():
    r = S.two_samples([0.9], [0.8, 0.85])
    assert math.isnan(r.welch_p) and math.isnan(r.mwu_p) and "need at least 2" in r.reason
    assert S.two_samples([0.9, np.nan], [0.8, 0.85]).n_a == 1  # missing values are not values
    flat = S.two_samples([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    assert math.isnan(flat.welch_p) and math.isnan(flat.hedges_g) and flat.cles == 0.5
