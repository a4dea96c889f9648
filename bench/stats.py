"""Statistics for the report: summaries over seeds, paired tests against `none`, ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import TTestPower

ALPHA = 0.05
POWER = 0.8


def paired_mde(sd_diff: float, seeds: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest mean paired difference (same unit as `sd_diff`) that a two-sided paired
    t-test over `seeds` pairs detects at level `alpha` with probability `power`; NaN when
    it is undefined (fewer than 2 seeds or an undefined sd)."""
    if seeds < 2 or not np.isfinite(sd_diff):
        return float("nan")
    effect = TTestPower().solve_power(nobs=seeds, alpha=alpha, power=power)
    return float(effect * sd_diff)


def seeds_needed(
    sd_diff: float, difference: float = 1.0, alpha: float = ALPHA, power: float = POWER
) -> float:
    """Seeds a paired t-test needs to detect `difference` given `sd_diff` (ceil); 2 when
    the sd is 0, NaN when it is undefined."""
    if not np.isfinite(sd_diff):
        return float("nan")
    if sd_diff == 0:
        return 2.0
    n = TTestPower().solve_power(effect_size=difference / sd_diff, alpha=alpha, power=power)
    return float(max(2, int(np.ceil(n))))


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Exact McNemar test: two-sided binomial test on the discordant pairs."""
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    if b + c == 0:
        return 1.0
    return float(stats.binomtest(b, b + c, 0.5).pvalue)


def paired_t(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sided paired t-test over seeds; None with fewer than 2 pairs or no variance."""
    if len(a) < 2:
        return None
    diff = np.asarray(a) - np.asarray(b)
    if np.allclose(diff, diff[0]):
        return 0.0 if diff[0] != 0 else 1.0
    return float(stats.ttest_rel(a, b).pvalue)


def summary_over_seeds(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """mean, std (ddof 1) and n of `metric` per dataset and method."""
    grouped = frame.groupby(["dataset", "method"])[metric]
    return grouped.agg(mean="mean", std="std", n="count").reset_index()


def average_ranks(means: pd.DataFrame) -> pd.Series:
    """Average rank (1 = best) of each method over the datasets where all methods ran."""
    wide = means.pivot(index="dataset", columns="method", values="mean").dropna()
    if wide.empty:
        return pd.Series(dtype=float)
    return wide.rank(axis=1, ascending=False).mean().sort_values()
