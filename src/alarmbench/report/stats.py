"""The statistics of the reports, in one place, thin over scipy.stats (scikit-posthocs and
statsmodels where installed):

- over data sets (Demšar, JMLR 7, 2006): average ranks, the Friedman test, Nemenyi's critical
  difference and post-hoc test, pairwise Wilcoxon signed-rank tests with Holm's correction, and
  the Wilcoxon test of a reference method against every other (SPEC §6.2, the tables' p row);
- over seeds, two independent small samples (ours vs the authors' code): Welch's t-test, the
  Mann–Whitney U test, Hedges' g and the common-language effect size.

A test that is not defined for its input (too few values, nothing differs) gives NaN and a reason;
callers decide how to show it.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Fewest methods for the Friedman test and a diagram (Demšar 2006).
MIN_METHODS = 3
#: Fewest data sets for any test over data sets (Friedman, Nemenyi's CD and post-hoc test, Wilcoxon):
#: below 6 the two-sided Wilcoxon signed-rank test cannot reach p < .05 whatever the data (its
#: smallest exact p is 2/2^N: .0625 at N = 5), so its p row would print a non-result; and Demšar
#: (2006) warns that the χ² approximation behind SciPy's Friedman test and the Nemenyi CD
#: needs "N > 10 and k > 5" as a rule of thumb. Six is the floor this project uses for all of them;
#: with fewer, tables and figures show the average ranks only and say why the test is absent.
MIN_DATASETS = 6
NEMENYI, WILCOXON_HOLM = "Nemenyi", "Wilcoxon-Holm"


# --------------------------------------------------------------------------------------------
# paired over data sets


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """Per-row ranks (1 = best; ties get their average rank) and the column means of the ranks."""
    values = -scores.to_numpy(float) if higher_is_better else scores.to_numpy(float)
    ranks = pd.DataFrame(stats.rankdata(values, axis=1), index=scores.index, columns=scores.columns)
    return ranks, ranks.mean(axis=0).sort_values(kind="stable")


def friedman(scores: pd.DataFrame) -> tuple[float, float, str]:
    """Friedman's chi-square statistic and p-value over the rows (data sets) of `scores`;
    NaN and a reason when there are fewer than 3 methods or 2 data sets, or every row ties."""
    k, n = scores.shape[1], scores.shape[0]
    if k < MIN_METHODS or n < MIN_DATASETS:
        return math.nan, math.nan, (few_datasets(n) if n < MIN_DATASETS else
                                    f"{k} method(s); the Friedman test needs at least {MIN_METHODS}")
    if (scores.nunique(axis=1) == 1).all():
        return math.nan, math.nan, "every method ties on every data set"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.friedmanchisquare(*(scores[c].to_numpy(float) for c in scores.columns))
    return float(res.statistic), float(res.pvalue), ""


@functools.lru_cache(maxsize=64)
def q_alpha(k: int, alpha: float = 0.05) -> float:
    """Demšar's q_α: the studentized range quantile for k groups and infinite d.f., over √2."""
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks, CD = q_α·sqrt(k(k+1)/(6N)) (Demšar 2006)."""
    if k < 2 or n < 1:
        return math.nan
    return q_alpha(k, alpha) * math.sqrt(k * (k + 1) / (6 * n))


def scikit_posthocs():
    """The scikit-posthocs module, or None when it is not installed (tests patch this)."""
    try:
        import scikit_posthocs
    except ImportError:
        return None
    return scikit_posthocs


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (statsmodels' `multipletests` when installed)."""
    p = np.asarray(pvalues, float)
    if p.size == 0:
        return p
    try:
        from statsmodels.stats.multitest import multipletests
    except ImportError:
        order = np.argsort(p, kind="stable")
        adjusted = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
        out = np.empty_like(p)
        out[order] = np.minimum(adjusted, 1.0)
        return out
    return multipletests(p, method="holm")[1]


def few_datasets(n: int) -> str:
    """Why a test over `n` data sets is not shown."""
    return (f"{n} data set(s), fewer than the {MIN_DATASETS} a test over data sets needs here "
            f"(with 5 or fewer a two-sided Wilcoxon test cannot reach p < .05)")


def wilcoxon(a, b) -> tuple[float, float, str]:
    """Two-sided Wilcoxon signed-rank test of paired samples (SciPy's defaults): statistic,
    p-value and "" — or NaN, NaN and why (fewer than 2 pairs, every difference zero, SciPy refused)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2:
        return math.nan, math.nan, f"{len(a)} paired data set(s); need at least 2"
    if np.all(a - b == 0):
        return math.nan, math.nan, "all differences are zero"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-sample notes; the p-value is what we report
            res = stats.wilcoxon(a, b)
    except ValueError as err:
        return math.nan, math.nan, str(err)
    return float(res.statistic), float(res.pvalue), ""


def wilcoxon_holm(scores: pd.DataFrame) -> pd.DataFrame:
    """Pairwise two-sided Wilcoxon signed-rank p-values over data sets, Holm-corrected; a pair
    that never differs gets p = 1. Symmetric method × method frame, diagonal 1."""
    methods = list(scores.columns)
    pairs, raw = [], []
    for i, a in enumerate(methods):
        for b in methods[i + 1:]:
            p = wilcoxon(scores[a], scores[b])[1]
            pairs.append((a, b))
            raw.append(1.0 if math.isnan(p) else p)
    out = pd.DataFrame(np.eye(len(methods)), index=methods, columns=methods)
    for (a, b), p in zip(pairs, holm(raw)):
        out.loc[a, b] = out.loc[b, a] = float(p)
    return out


def posthoc_pvalues(scores: pd.DataFrame, test: str = "auto") -> tuple[pd.DataFrame, str]:
    """Pairwise p-values (method × method, diagonal 1) and the test's name.

    `test`: "nemenyi" (needs scikit-posthocs), "wilcoxon-holm", or "auto" (Nemenyi when
    scikit-posthocs is installed, else Wilcoxon–Holm).
    """
    sp = scikit_posthocs() if test in ("auto", "nemenyi") else None
    if test == "nemenyi" and sp is None:
        raise ImportError("the Nemenyi test needs scikit-posthocs")
    if sp is not None:
        data = pd.DataFrame(scores.to_numpy(float), columns=list(scores.columns))
        p = sp.posthoc_nemenyi_friedman(data)
        values = p.reindex(index=scores.columns, columns=scores.columns).to_numpy(float, copy=True)
        np.fill_diagonal(values, 1.0)
        return pd.DataFrame(values, index=scores.columns, columns=scores.columns), NEMENYI
    return wilcoxon_holm(scores), WILCOXON_HOLM


def wilcoxon_vs(df_means: pd.DataFrame, reference: str = "r2ad2", value: str = "mean") -> pd.DataFrame:
    """Wilcoxon signed-rank test (two-sided, SciPy defaults) of `reference` vs every other method,
    paired over data sets of the per-data-set seed means (SPEC §6.2).

    `df_means` has columns dataset, method, `value` and any context columns (experiment,
    n_anomalies, pollution, epochs, metric); one test per context × method. Returns columns
    context…, method, n_datasets, statistic, pvalue, reason (why p is NaN, else "").
    """
    context = [c for c in ("experiment", "n_anomalies", "pollution", "epochs", "metric") if c in df_means]
    rows = []
    groups = df_means.groupby(context, sort=True, dropna=False) if context else [((), df_means)]
    for ctx, part in groups:
        ctx = ctx if isinstance(ctx, tuple) else (ctx,)
        wide = part.pivot_table(index="dataset", columns="method", values=value, aggfunc="mean")
        if reference not in wide:
            continue
        for method in (m for m in wide.columns if m != reference):
            pair = wide[[reference, method]].dropna()
            stat, p, reason = (wilcoxon(pair[reference], pair[method]) if len(pair) >= MIN_DATASETS else
                               (math.nan, math.nan, few_datasets(len(pair))))
            rows.append({**dict(zip(context, ctx)), "method": method, "n_datasets": len(pair),
                         "statistic": stat, "pvalue": p, "reason": reason})
    return pd.DataFrame(rows, columns=[*context, "method", "n_datasets", "statistic", "pvalue", "reason"])


# --------------------------------------------------------------------------------------------
# two independent small samples (e.g. five seeds of ours vs five of the authors' code)


@dataclass(frozen=True)
class TwoSamples:
    """Ours (a) against theirs (b): sizes, Welch's t-test, the Mann–Whitney U test (two-sided)
    and two effect sizes. Hedges' g = bias-corrected (mean_a − mean_b)/pooled sd; the
    common-language effect size CL = P(a > b) + ½·P(a = b) over all pairs = U_a/(n_a·n_b)."""

    n_a: int
    n_b: int
    welch_t: float = math.nan
    welch_p: float = math.nan
    mwu_u: float = math.nan
    mwu_p: float = math.nan
    hedges_g: float = math.nan
    cles: float = math.nan
    reason: str = ""


def hedges_g(a, b) -> float:
    """(mean_a − mean_b) / pooled sample sd, times the small-sample correction
    J = 1 − 3/(4(n_a + n_b) − 9); NaN when a sample has fewer than 2 values or both are constant."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan
    pooled = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return math.nan
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (na + nb) - 9)))


def two_samples(a, b) -> TwoSamples:
    """Welch's t-test and the Mann–Whitney U test (exact where SciPy can) of a against b, with
    Hedges' g and the common-language effect size; NaN and a reason below 2 values a side."""
    a = np.asarray(a, float)[~np.isnan(np.asarray(a, float))]
    b = np.asarray(b, float)[~np.isnan(np.asarray(b, float))]
    if len(a) < 2 or len(b) < 2:
        return TwoSamples(len(a), len(b), reason=f"{len(a)} vs {len(b)} value(s); need at least 2 a side")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant samples: SciPy warns and returns NaN
        welch = stats.ttest_ind(a, b, equal_var=False)
        mwu = stats.mannwhitneyu(a, b, alternative="two-sided")
    u = float(mwu.statistic)  # U of a: pairs with a > b, ties counted half
    return TwoSamples(len(a), len(b), float(welch.statistic), float(welch.pvalue), u, float(mwu.pvalue),
                      hedges_g(a, b), u / (len(a) * len(b)))


__all__ = ["MIN_DATASETS", "MIN_METHODS", "NEMENYI", "TwoSamples", "WILCOXON_HOLM", "average_ranks",
           "critical_difference", "few_datasets", "friedman", "hedges_g", "holm", "posthoc_pvalues", "q_alpha",
           "scikit_posthocs", "two_samples", "wilcoxon", "wilcoxon_holm", "wilcoxon_vs"]
