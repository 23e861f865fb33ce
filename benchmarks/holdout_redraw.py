"""Does R2-AD2's hold-out re-draw (docs/methods.md#r2ad2-snapshots) or the split's RNG move its AP on Mammography, and
how do our six paper methods compare with the authors' code seed by seed?

    python benchmarks/holdout_redraw.py [--runs reports/holdout_redraw/runs.jsonl]
        [--paired-runs reports/paired_seeds/runs.jsonl] [--authors ../shared/peers/authors_code_mammography.csv]
        [--out reports/holdout_redraw] [--paired-out reports/paired_seeds]

Reads the JSON-lines records of `benchmarks/mammography_grid.py` (R2-AD2 arms: `rng` ×
`options.holdout_redraw`; the other methods with `--rng original`) and the authors' per-seed
results, and writes per-arm means, the paired re-draw effect (per seed: mean difference, t 95 %
CI, paired t and Wilcoxon p), each arm against the authors' code (Welch t, Mann–Whitney U,
Hedges' g) and, with `rng = original` (our seed s draws the authors' known anomalies of seed s),
the per-seed pairs with the authors' runs. A partial run is summarised as far as it got.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

METRICS = ("test_auc", "test_ap")
# The authors' method names in the peer CSV -> our method ids (DevNet is not in their repository).
AUTHORS_NAMES = {"R2-AD2 (GAA-3)": "r2ad2", "A3 (A3v2)": "a3", "AE": "ae", "GradCon": "gradcon", "DeepSAD": "deepsad"}
PAPER_METHODS = ["r2ad2", "gradcon", "a3", "deepsad", "devnet", "ae"]


def read_runs(path: Path) -> pd.DataFrame:
    """The grid's records, one row per run, with its arm: `rng` and `redraw` (the holdout_redraw option)."""
    if not path.exists():
        raise SystemExit(f"{path}: no run records (write them with benchmarks/mammography_grid.py --out)")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    df = pd.DataFrame(rows)
    df["rng"] = df.get("rng", pd.Series("substreams", index=df.index)).fillna("substreams")
    df["redraw"] = [bool((o or {}).get("holdout_redraw", False)) for o in df.get("options", [{}] * len(df))]
    # A re-run of one (method, seed, arm) replaces the earlier record: the file is appended to.
    return df.drop_duplicates(["method", "seed", "rng", "redraw", "epochs"], keep="last").reset_index(drop=True)


def read_authors(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The authors' runs at the papers' 100 epochs: the first per (method, seed), and the later re-runs
    (their training is unseeded, so a re-run of a seed shows their run-to-run noise)."""
    df = pd.read_csv(path)
    df = df[(df.epochs == 100) & df.test_ap.notna() & df.method.isin(list(AUTHORS_NAMES))].copy()
    df["method"] = df.method.map(AUTHORS_NAMES)
    first = df.duplicated(["method", "seed"], keep="first")
    return df[~first].reset_index(drop=True), df[first].reset_index(drop=True)


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a − b) with the small-sample correction."""
    na, nb = len(a), len(b)
    pooled = math.sqrt(((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2))
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (na + nb) - 9))) if pooled > 0 else float("nan")


def paired(diff: np.ndarray) -> dict:
    """Mean of paired differences, its t 95 % CI, paired t and exact Wilcoxon signed-rank p (two-sided)."""
    n = len(diff)
    out = {"n_pairs": n, "mean_diff": float(diff.mean()) if n else float("nan")}
    if n < 2:
        return out | {"sd_diff": float("nan"), "ci95_low": float("nan"), "ci95_high": float("nan"),
                      "t_p": float("nan"), "wilcoxon_p": float("nan")}
    sd = float(diff.std(ddof=1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    t_p = float(stats.ttest_1samp(diff, 0.0).pvalue) if sd > 0 else float("nan")
    w_p = float(stats.wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    return out | {"sd_diff": sd, "ci95_low": out["mean_diff"] - half, "ci95_high": out["mean_diff"] + half,
                  "t_p": t_p, "wilcoxon_p": w_p}


def unpaired(a: np.ndarray, b: np.ndarray) -> dict:
    """a against b: difference of means, Welch t p, Mann–Whitney U p (two-sided) and Hedges' g."""
    if len(a) < 2 or len(b) < 2:
        return {"n_ours": len(a), "n_theirs": len(b), "mean_diff": float("nan"), "welch_p": float("nan"),
                "mannwhitney_p": float("nan"), "hedges_g": float("nan")}
    return {"n_ours": len(a), "n_theirs": len(b), "mean_diff": float(a.mean() - b.mean()),
            "welch_p": float(stats.ttest_ind(a, b, equal_var=False).pvalue),
            "mannwhitney_p": float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue),
            "hedges_g": hedges_g(a, b)}


def arm_name(rng: str, redraw: bool) -> str:
    return f"{rng} rng, {'re-draw' if redraw else 'single draw'}"


def arm_table(r2: pd.DataFrame, authors: pd.DataFrame) -> pd.DataFrame:
    """Per arm (and the authors' code): runs, seeds and mean ± std of test AUC and AP."""
    rows = []
    for (rng, redraw), g in r2.groupby(["rng", "redraw"]):
        rows.append({"arm": arm_name(rng, redraw), "rng": rng, "redraw": redraw, "n": len(g),
                     "seeds": " ".join(map(str, sorted(g.seed))),
                     **{f"{m}_{s}": getattr(g[m], s)(**({"ddof": 1} if s == "std" else {}))
                        for m in METRICS for s in ("mean", "std")}})
    a = authors[authors.method == "r2ad2"]
    rows.append({"arm": "authors' code (original rng, re-draw)", "rng": "original", "redraw": True, "n": len(a),
                 "seeds": " ".join(map(str, sorted(a.seed))),
                 **{f"{m}_{s}": getattr(a[m], s)(**({"ddof": 1} if s == "std" else {}))
                    for m in METRICS for s in ("mean", "std")}})
    return pd.DataFrame(rows)


def redraw_effects(r2: pd.DataFrame) -> pd.DataFrame:
    """Re-draw minus single draw, paired per seed within each rng (and over (rng, seed) pairs when
    both rngs ran)."""

    def rows(g: pd.DataFrame, index: list[str], rng: str, seeds) -> list[dict]:
        wide = g.pivot_table(index=index, columns="redraw", values=list(METRICS))
        out = []
        for m in METRICS:
            if (m, True) in wide and (m, False) in wide:
                d = (wide[(m, True)] - wide[(m, False)]).dropna()
                out.append({"rng": rng, "metric": m, "seeds": seeds(d), **paired(d.to_numpy())})
        return out

    found = [r for rng, g in r2.groupby("rng") for r in rows(g, ["seed"], rng, lambda d: " ".join(map(str, d.index)))]
    if r2.rng.nunique() > 1:
        found += rows(r2, ["rng", "seed"], "both", lambda d: f"{len(d)} (rng, seed) pairs")
    return pd.DataFrame(found)


def rng_effects(r2: pd.DataFrame) -> pd.DataFrame:
    """Original minus substreams rng within each draw (paired by seed number only: the known anomalies differ)."""
    rows = []
    for redraw, g in r2.groupby("redraw"):
        wide = g.pivot_table(index="seed", columns="rng", values=list(METRICS))
        for m in METRICS:
            if (m, "original") not in wide or (m, "substreams") not in wide:
                continue
            a, b = wide[(m, "original")].dropna(), wide[(m, "substreams")].dropna()
            rows.append({"redraw": redraw, "metric": m, **unpaired(a.to_numpy(), b.to_numpy())})
    return pd.DataFrame(rows)


def versus_authors(r2: pd.DataFrame, authors: pd.DataFrame) -> pd.DataFrame:
    """Each arm against the authors' five R2-AD2 runs, unpaired; with rng = original also paired per seed."""
    theirs = authors[authors.method == "r2ad2"].set_index("seed")
    rows = []
    for (rng, redraw), g in r2.groupby(["rng", "redraw"]):
        for m in METRICS:
            row = {"arm": arm_name(rng, redraw), "metric": m, **unpaired(g[m].to_numpy(), theirs[m].to_numpy())}
            if rng == "original":
                d = (g.set_index("seed")[m] - theirs[m]).dropna()
                row |= {f"paired_{k}": v for k, v in paired(d.to_numpy()).items()}
            rows.append(row)
    return pd.DataFrame(rows)


def seed_pairs(runs: pd.DataFrame, authors: pd.DataFrame) -> pd.DataFrame:
    """Ours (rng = original) and the authors' run of the same seed, per method and seed."""
    ours = runs[runs.rng == "original"][["method", "seed", *METRICS]]
    theirs = authors[["method", "seed", *METRICS]]
    return ours.merge(theirs, on=["method", "seed"], how="outer", suffixes=("_ours", "_theirs")).sort_values(
        ["method", "seed"]).reset_index(drop=True)


def seed_pair_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per method and metric: means, ours − theirs (unpaired and paired per seed) and whether the
    seeds rank alike in both codes (Spearman ρ of the per-seed values; n = 5 says little)."""
    rows = []
    for (method, m) in [(x, m) for x in pairs.method.unique() for m in METRICS]:
        g = pairs[pairs.method == method]
        a, b = g[f"{m}_ours"].dropna().to_numpy(), g[f"{m}_theirs"].dropna().to_numpy()
        both = g[[f"{m}_ours", f"{m}_theirs"]].dropna()
        row = {"method": method, "metric": m, "ours_mean": a.mean() if len(a) else float("nan"),
               "ours_std": a.std(ddof=1) if len(a) > 1 else float("nan"),
               "theirs_mean": b.mean() if len(b) else float("nan"),
               "theirs_std": b.std(ddof=1) if len(b) > 1 else float("nan"), **unpaired(a, b)}
        diff = (both[f"{m}_ours"] - both[f"{m}_theirs"]).to_numpy()
        row |= {f"paired_{k}": v for k, v in paired(diff).items()}
        row["spearman_rho"] = (float(stats.spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic)
                               if len(both) > 2 else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def fmt(x: float, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_p(p: float) -> str:
    return "–" if p is None or math.isnan(p) else (f"{p:.3f}" if p >= 0.001 else "< .001")


def r2ad2_markdown(arms: pd.DataFrame, effects: pd.DataFrame, rng_fx: pd.DataFrame, vs: pd.DataFrame) -> list[str]:
    lines = ["| arm | runs | test AUC | test AP |", "|---|---|---|---|"]
    for _, r in arms.iterrows():
        lines.append(f"| {r.arm} | {r.n} | {fmt(r.test_auc_mean)} ± {fmt(r.test_auc_std)} "
                     f"| {fmt(r.test_ap_mean)} ± {fmt(r.test_ap_std)} |")
    lines += ["", "Re-draw minus single draw, paired per seed:", "",
              "| rng | metric | pairs | mean diff | 95 % CI (t) | paired t p | Wilcoxon p |", "|---|---|---|---|---|---|---|"]
    for _, r in effects.iterrows():
        lines.append(f"| {r.rng} | {r.metric} | {r.n_pairs} | {fmt(r.mean_diff, 4)} | "
                     f"[{fmt(r.ci95_low, 4)}, {fmt(r.ci95_high, 4)}] | {fmt_p(r.t_p)} | {fmt_p(r.wilcoxon_p)} |")
    if len(rng_fx):
        lines += ["", "Original minus substreams rng (unpaired: the known anomalies differ):", "",
                  "| draw | metric | mean diff | Welch p | Mann–Whitney p | Hedges g |", "|---|---|---|---|---|---|"]
        for _, r in rng_fx.iterrows():
            lines.append(f"| {'re-draw' if r.redraw else 'single'} | {r.metric} | {fmt(r.mean_diff, 4)} | "
                         f"{fmt_p(r.welch_p)} | {fmt_p(r.mannwhitney_p)} | {fmt(r.hedges_g, 2)} |")
    lines += ["", "Each arm minus the authors' code (their 5 seeds; paired columns: same seed, rng = original only):", "",
              "| arm | metric | mean diff | Welch p | Mann–Whitney p | Hedges g | paired mean diff [95 % CI] | paired t p | Wilcoxon p |",
              "|---|---|---|---|---|---|---|---|---|"]
    for _, r in vs.iterrows():
        pair = (f"{fmt(r.paired_mean_diff, 4)} [{fmt(r.paired_ci95_low, 4)}, {fmt(r.paired_ci95_high, 4)}] | "
                f"{fmt_p(r.paired_t_p)} | {fmt_p(r.paired_wilcoxon_p)}") if "paired_mean_diff" in r and not (
            isinstance(r.paired_mean_diff, float) and math.isnan(r.paired_mean_diff)) else "– | – | –"
        lines.append(f"| {r.arm} | {r.metric} | {fmt(r.mean_diff, 4)} | {fmt_p(r.welch_p)} | "
                     f"{fmt_p(r.mannwhitney_p)} | {fmt(r.hedges_g, 2)} | {pair} |")
    return lines


def paired_markdown(pairs: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    lines = ["| method | metric | ours (original rng) | authors' code | ours − theirs | Welch p | Mann–Whitney p "
             "| Hedges g | paired diff [95 % CI] | paired t p | Wilcoxon p | Spearman ρ (seeds) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        lines.append(f"| {r.method} | {r.metric.removeprefix('test_').upper()} | {fmt(r.ours_mean)} ± {fmt(r.ours_std)} "
                     f"| {fmt(r.theirs_mean)} ± {fmt(r.theirs_std)} | {fmt(r.mean_diff)} | {fmt_p(r.welch_p)} "
                     f"| {fmt_p(r.mannwhitney_p)} | {fmt(r.hedges_g, 2)} | {fmt(r.paired_mean_diff)} "
                     f"[{fmt(r.paired_ci95_low)}, {fmt(r.paired_ci95_high)}] | {fmt_p(r.paired_t_p)} "
                     f"| {fmt_p(r.paired_wilcoxon_p)} | {fmt(r.spearman_rho, 2)} |")
    lines += ["", "Per seed (AP; ours with `--rng original`, i.e. the authors' known anomalies of that seed):", "",
              "| method | " + " | ".join(str(s) for s in sorted(pairs.seed.unique())) + " |",
              "|---|" + "---|" * pairs.seed.nunique()]
    for method, g in pairs.groupby("method", sort=False):
        cells = {r.seed: f"{fmt(r.test_ap_ours)} / {fmt(r.test_ap_theirs)}" for _, r in g.iterrows()}
        lines.append(f"| {method} | " + " | ".join(cells.get(s, "–") for s in sorted(pairs.seed.unique())) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("reports/holdout_redraw/runs.jsonl"))
    parser.add_argument("--paired-runs", type=Path, default=Path("reports/paired_seeds/runs.jsonl"))
    parser.add_argument("--authors", type=Path, default=Path("../shared/peers/authors_code_mammography.csv"))
    parser.add_argument("--out", type=Path, default=Path("reports/holdout_redraw"))
    parser.add_argument("--paired-out", type=Path, default=Path("reports/paired_seeds"))
    args = parser.parse_args()

    authors, reruns = read_authors(args.authors)
    runs = read_runs(args.runs)
    r2 = runs[(runs.method == "r2ad2") & (runs.epochs == "paper")]
    arms, effects, rng_fx, vs = arm_table(r2, authors), redraw_effects(r2), rng_effects(r2), versus_authors(r2, authors)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, df in {"arms": arms, "redraw_effect": effects, "rng_effect": rng_fx, "vs_authors": vs}.items():
        df.round(5).to_csv(args.out / f"{name}.csv", index=False)
    (args.out / "tables.md").write_text("\n".join(r2ad2_markdown(arms, effects, rng_fx, vs)) + "\n")

    others = read_runs(args.paired_runs) if args.paired_runs.exists() else runs.iloc[:0]
    faithful = r2[(r2.rng == "original") & r2.redraw]  # what the authors' code ran
    all_original = pd.concat([others[others.epochs == "paper"], faithful], ignore_index=True)
    pairs = seed_pairs(all_original, authors)
    pairs["method"] = pd.Categorical(pairs.method, [m for m in PAPER_METHODS if m in set(pairs.method)], ordered=True)
    pairs = pairs.sort_values(["method", "seed"])
    pairs["method"] = pairs.method.astype(str)
    summary = seed_pair_summary(pairs)
    args.paired_out.mkdir(parents=True, exist_ok=True)
    pairs.round(5).to_csv(args.paired_out / "per_seed.csv", index=False)
    summary.round(5).to_csv(args.paired_out / "summary.csv", index=False)
    reruns.to_csv(args.paired_out / "authors_reruns.csv", index=False)
    (args.paired_out / "tables.md").write_text("\n".join(paired_markdown(pairs, summary)) + "\n")
    print("\n".join(r2ad2_markdown(arms, effects, rng_fx, vs)))
    print()
    print("\n".join(paired_markdown(pairs, summary)))


if __name__ == "__main__":
    main()
