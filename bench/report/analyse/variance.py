"""Where the variance comes from: the variance study's runs (`StudyAnalysis.ok`), one
source of randomness moved at a time, the reference's seed-0 run the fifth draw of each.

Per source, (dataset, method) cell: the standard deviation over the draws of the method's
accuracy and of its paired difference to `none` (points). Sources are compared by their
pooled variance of the difference (over the cells, each with draws - 1 degrees of freedom)
with an F-interval for each ratio: a source is said to move a comparison more than another
only where that interval excludes 1. Pure pandas and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bench.core.studies import CLEAN, SOURCES
from bench.report.analyse.stats import ALPHA

BASELINE = "none"


@dataclass(frozen=True)
class SourceRatio:
    """The pooled variance of the difference to `none` of source a over source b."""

    a: str
    b: str
    ratio: float
    low: float
    high: float


@dataclass(frozen=True)
class VarianceAnalysis:
    per_cell: pd.DataFrame  # source, dataset, method, draws, sd_accuracy, sd_diff, sign_changes
    per_source: pd.DataFrame  # source, cells, draws, pooled sd of accuracy and of the diff
    ratios: list[SourceRatio]  # every ordered pair, Bonferroni over the pairs

    def dominant(self) -> str | None:
        """The source whose pooled variance exceeds every other's (intervals above 1)."""
        for source in self.per_source.source:
            against = [r for r in self.ratios if r.a == source]
            if against and all(r.low > 1 for r in against):
                return source
        return None


def draws(ok: pd.DataFrame, source: str) -> pd.DataFrame:
    """(draw, dataset, method) -> accuracy (points) of one source: its own cells and the
    reference's seed-0 run (draw 0)."""
    own = ok[ok.series == source]
    clean = ok[(ok.condition == CLEAN) & (ok.seed == 0)]
    clean = clean.drop_duplicates(["base_dataset", "method"]).assign(x=0.0)
    both = pd.concat([own, clean])
    return both.pivot_table(index=["x", "base_dataset"], columns="method", values="accuracy") * 100


def cell_rows(ok: pd.DataFrame) -> pd.DataFrame:
    """Per source, dataset and method: draws, sd of accuracy and of the difference to
    `none`, the mean difference, and whether its sign changes across the draws."""
    rows = []
    for source in SOURCES.values():
        wide = draws(ok, source)
        if BASELINE not in wide:
            continue
        for dataset, part in wide.groupby(level="base_dataset"):
            for method in [m for m in wide.columns if m != BASELINE]:
                pair = part[[method, BASELINE]].dropna()
                if len(pair) < 2:
                    continue
                diff = pair[method] - pair[BASELINE]
                rows.append(
                    {
                        "source": source,
                        "dataset": dataset,
                        "method": method,
                        "draws": len(pair),
                        "sd_accuracy": float(pair[method].std(ddof=1)),
                        "sd_diff": float(diff.std(ddof=1)),
                        "mean_diff": float(diff.mean()),
                        "sign_changes": bool((diff > 0).any() and (diff < 0).any()),
                    }
                )
    return pd.DataFrame(rows)


def pooled(per_cell: pd.DataFrame) -> pd.DataFrame:
    """Per source: cells, degrees of freedom, pooled sds, cells whose sign changes; the
    source that moves the difference most first."""
    df = per_cell.draws - 1
    sums = (
        per_cell.assign(
            df=df, ss_acc=per_cell.sd_accuracy**2 * df, ss_diff=per_cell.sd_diff**2 * df
        )
        .groupby("source", sort=False)
        .agg(
            cells=("df", "size"),
            df=("df", "sum"),
            ss_acc=("ss_acc", "sum"),
            ss_diff=("ss_diff", "sum"),
            sign_changes=("sign_changes", "sum"),
        )
        .reset_index()
    )
    out = sums.assign(
        pooled_sd_accuracy=np.sqrt(sums.ss_acc / sums.df),
        pooled_sd_diff=np.sqrt(sums.ss_diff / sums.df),
    ).sort_values("pooled_sd_diff", ascending=False)
    return out[["source", "cells", "df", "pooled_sd_accuracy", "pooled_sd_diff", "sign_changes"]]


def source_ratios(per_source: pd.DataFrame) -> list[SourceRatio]:
    """Every ordered pair's ratio of pooled variances of the difference, with its
    F-interval (Bonferroni over the unordered pairs)."""
    pairs = [(a, b) for a in per_source.source for b in per_source.source if a != b]
    level = ALPHA / max(1, len(pairs) // 2)
    by = per_source.set_index("source")
    out = []
    for a, b in pairs:
        va, vb = by.pooled_sd_diff[a] ** 2, by.pooled_sd_diff[b] ** 2
        if vb == 0:
            continue
        ratio = va / vb
        low = ratio / stats.f.ppf(1 - level / 2, by.df[a], by.df[b])
        high = ratio / stats.f.ppf(level / 2, by.df[a], by.df[b])
        out.append(SourceRatio(a, b, float(ratio), float(low), float(high)))
    return out


def analyse_variance(ok: pd.DataFrame) -> VarianceAnalysis | None:
    """The tables of the variance study, or None while no source has 2 draws."""
    per_cell = cell_rows(ok)
    if per_cell.empty:
        return None
    per_source = pooled(per_cell)
    return VarianceAnalysis(per_cell, per_source, source_ratios(per_source))


def variance_sentence(analysis: VarianceAnalysis) -> str:
    """One plain sentence: which source dominates (read off the F-intervals) and how often
    a difference to `none` changes sign across a source's draws."""
    top = analysis.per_source.iloc[0]
    dominant = analysis.dominant()
    sds = ", ".join(f"{r.source} {r.pooled_sd_diff:.2f}" for r in analysis.per_source.itertuples())
    head = (
        f"the {dominant} moves a comparison with `none` most"
        if dominant
        else f"no source's variance is shown to exceed every other's (largest: {top.source})"
    )
    changes = analysis.per_cell[analysis.per_cell.source == SOURCES["data_seed"]]
    flips = int(changes.sign_changes.sum()) if not changes.empty else 0
    sub = (
        f"; across the five training subsamples {flips} of {len(changes)} differences to "
        "`none` change sign"
        if not changes.empty
        else ""
    )
    return f"{head} (pooled sd of the paired difference, points: {sds}){sub}"
