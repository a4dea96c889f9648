"""Statistics for the report, each a known procedure from scipy or statsmodels (Holm's
arithmetic written here, checked against statsmodels in the tests):

- paired t over seeds (no p-value when the statistic is undefined: fewer than 2 pairs or
  every difference the same), Holm correction over the comparisons of a table;
- power: the minimum detectable effect (MDE) of that test and the seeds a difference needs;
- across datasets: Friedman test of the ranks and the Nemenyi critical difference
  (Demsar 2006);
- an aggregate difference over datasets and seeds with a stratified bootstrap interval, and
  the probability of improvement (as in rliable, Agarwal et al. 2021).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import TTestPower

ALPHA = 0.05
POWER = 0.8
# paired differences closer than this to each other count as one constant (rounding noise of
# accuracies like 0.8 - 0.7 must not produce p = 1e-31)
CONSTANT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PairedTest:
    """Mean paired difference, its t-interval, and the two-sided p-value (None when the
    t statistic is undefined)."""

    n: int
    mean: float
    sd: float
    low: float
    high: float
    p: float | None


def paired_t(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> PairedTest:
    """Paired t-test of a - b over seeds. With fewer than 2 pairs, or when every difference
    is the same (sd 0: t is undefined), there is no p-value and no interval: a constant
    difference over 3 seeds is not evidence of anything the test can quantify."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(diff)
    mean = float(diff.mean()) if n else float("nan")
    sd = float(diff.std(ddof=1)) if n > 1 else float("nan")
    if n < 2 or np.allclose(diff, diff[0], rtol=0, atol=CONSTANT_TOLERANCE):
        return PairedTest(n, mean, sd, float("nan"), float("nan"), None)
    result = stats.ttest_1samp(diff, 0.0)
    low, high = result.confidence_interval(1 - alpha)
    return PairedTest(n, mean, sd, float(low), float(high), float(result.pvalue))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values over the defined ones (None stays None): the i-th smallest of m
    p-values times (m - i), made monotone, capped at 1. The arithmetic of statsmodels'
    `multipletests(method="holm")`, which runs a full garbage collection on every call (0.23 s
    once torch is loaded, on an idle 2-core machine; the committed report makes 19 calls)."""
    defined = [i for i, p in enumerate(pvalues) if p is not None and np.isfinite(p)]
    out: list[float | None] = [None] * len(pvalues)
    if defined:
        p = np.array([pvalues[i] for i in defined], dtype=float)
        order = np.argsort(p)
        stepped = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
        adjusted = np.empty_like(p)
        adjusted[order] = np.minimum(stepped, 1.0)
        for i, value in zip(defined, adjusted, strict=True):
            out[i] = float(value)
    return out


def paired_mde(sd_diff: float, seeds: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest mean paired difference (same unit as `sd_diff`) that a two-sided paired
    t-test over `seeds` pairs detects at level `alpha` with probability `power`; NaN when
    it is undefined (fewer than 2 seeds or an undefined sd)."""
    if seeds < 2 or not np.isfinite(sd_diff):
        return float("nan")
    return float(standardised_mde(int(seeds), float(alpha), float(power)) * sd_diff)


@functools.cache
def standardised_mde(seeds: int, alpha: float, power: float) -> float:
    """The detectable mean / sd of a paired t-test (a root-find: 3 ms, so kept per
    seeds and level; a report asks for a few distinct ones hundreds of times)."""
    return float(TTestPower().solve_power(nobs=seeds, alpha=alpha, power=power))


def paired_power(effect: float, seeds: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired t-test over `seeds` pairs for a standardised effect
    (mean / sd), from scipy's noncentral t (statsmodels returns NaN for large effects)."""
    df = seeds - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    noncentrality = effect * np.sqrt(seeds)
    value = stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)
    if not np.isfinite(value):  # far in the tail: certain detection
        return 1.0 if abs(noncentrality) > critical else 0.0
    return float(value)


def seeds_needed(
    sd_diff: float, difference: float = 1.0, alpha: float = ALPHA, power: float = POWER
) -> float:
    """Seeds a paired t-test needs to detect `difference` given `sd_diff` (rounded up, at
    least 2); NaN when the sd is undefined."""
    if not np.isfinite(sd_diff):
        return float("nan")
    effect = difference / sd_diff if sd_diff > CONSTANT_TOLERANCE else np.inf
    if not np.isfinite(effect):
        return 2.0

    def enough(n: int) -> bool:
        return paired_power(effect, n, alpha) >= power

    # power grows with n: double until enough, then bisect (the root finder of statsmodels
    # does not converge for small effects)
    low, high = 1, 2
    while not enough(high):
        low, high = high, high * 2
        if high > 10**7:
            return float("inf")
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return float(max(2, high))


def average_ranks(wide: pd.DataFrame) -> pd.Series:
    """Average rank (1 = best, ties share the mean rank) of each column (method) over the
    rows (datasets) with no missing value."""
    complete = wide.dropna()
    if complete.empty:
        return pd.Series(dtype=float)
    return complete.rank(axis=1, ascending=False).mean().sort_values()


@dataclass(frozen=True)
class RankTest:
    ranks: pd.Series
    datasets: int
    friedman_p: float | None  # None with fewer than 3 methods or 2 datasets
    critical_difference: float | None  # Nemenyi, at ALPHA


def friedman_nemenyi(wide: pd.DataFrame, alpha: float = ALPHA) -> RankTest:
    """Friedman test over datasets (rows) x methods (columns) and the Nemenyi critical
    difference of average ranks, CD = q_alpha * sqrt(k (k + 1) / (6 N)), where q_alpha is
    the studentized range quantile over sqrt(2) (Demsar 2006)."""
    complete = wide.dropna()
    ranks = average_ranks(complete)
    k, n = complete.shape[1], complete.shape[0]
    if k < 3 or n < 2:
        return RankTest(ranks, n, None, None)
    columns = [complete[c].to_numpy() for c in complete.columns]
    if np.all(complete.to_numpy() == complete.to_numpy()[:, :1]):
        p = 1.0  # every method equal on every dataset: no evidence of a difference
    else:
        p = float(stats.friedmanchisquare(*columns).pvalue)
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return RankTest(ranks, n, p, float(q * np.sqrt(k * (k + 1) / (6 * n))))


@dataclass(frozen=True)
class Aggregate:
    """Mean over datasets of the per-dataset mean difference, its bootstrap interval, and
    the probability of improvement with its interval."""

    datasets: int
    mean: float
    low: float
    high: float
    p_improvement: float
    p_improvement_low: float
    p_improvement_high: float
    corrected_low: float | None = None  # the mean's interval at corrected_alpha, if asked
    corrected_high: float | None = None


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) + P(X = Y) / 2 over all pairs of runs (the Mann-Whitney statistic / n m)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    greater = (x[:, None] > y[None, :]).mean()
    ties = (x[:, None] == y[None, :]).mean()
    return float(greater + 0.5 * ties)


def stratified_bootstrap(
    per_dataset: dict[str, tuple[np.ndarray, np.ndarray]],
    reps: int = 2000,
    alpha: float = ALPHA,
    seed: int = 0,
    corrected_alpha: float | None = None,
) -> Aggregate:
    """Aggregate of method - baseline over datasets. `per_dataset` maps a dataset to the
    (method, baseline) scores of the seeds both ran, paired by position. Each replicate
    resamples the seeds within every dataset (stratified), keeping the pairs together for
    the mean difference; the probability of improvement compares unpaired runs, so, as
    rliable does, its replicate resamples the baseline's runs independently of the
    method's.
    `corrected_alpha` adds the mean's interval at that level from the same replicates
    (e.g. alpha / m, Bonferroni over m methods)."""
    names = sorted(per_dataset)
    rng = np.random.default_rng(seed)
    baseline_rng = np.random.default_rng([seed, 1])  # the baseline's own resamples (PoI)
    sizes = [len(per_dataset[d][0]) for d in names]
    scores = [tuple(np.asarray(v, float) for v in per_dataset[d]) for d in names]

    def draws(generator: np.random.Generator) -> list[np.ndarray]:
        """Per dataset, the (reps, n) seed indices of every replicate, in the stream's
        order replicate by replicate, dataset by dataset: one call with a bound per draw
        takes the same numbers as a call per dataset and replicate, 100x faster."""
        bounds = np.tile(np.repeat(sizes, sizes), reps)
        flat = generator.integers(0, bounds).reshape(reps, -1)
        return np.split(flat, np.cumsum(sizes)[:-1], axis=1)

    def statistic(samples: list[np.ndarray], baseline: list[np.ndarray]) -> np.ndarray:
        return replicate_statistics(scores, samples, baseline)

    full = [np.arange(n)[None, :] for n in sizes]
    mean, poi = (float(v) for v in statistic(full, full)[0])
    boot = statistic(draws(rng), draws(baseline_rng)) if reps else np.empty((0, 2))
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    corrected: tuple[float | None, float | None] = (None, None)
    if corrected_alpha is not None:
        c_lo, c_hi = 100 * corrected_alpha / 2, 100 * (1 - corrected_alpha / 2)
        corrected = (
            float(np.percentile(boot[:, 0], c_lo)),
            float(np.percentile(boot[:, 0], c_hi)),
        )
    return Aggregate(
        len(names),
        mean,
        float(np.percentile(boot[:, 0], lo)),
        float(np.percentile(boot[:, 0], hi)),
        poi,
        float(np.percentile(boot[:, 1], lo)),
        float(np.percentile(boot[:, 1], hi)),
        *corrected,
    )


def replicate_statistics(
    scores: list[tuple[np.ndarray, np.ndarray]],
    samples: list[np.ndarray],
    baseline: list[np.ndarray],
) -> np.ndarray:
    """(reps, 2): per replicate, the mean over datasets of the mean paired difference and
    of the probability of improvement, from (reps, n) index arrays per dataset: `samples`
    for the pairs, `baseline` for the baseline's own draw (PoI)."""
    diff, poi = [], []
    for (x, y), drawn, drawn_baseline in zip(scores, samples, baseline, strict=True):
        xs, ys, yb = x[drawn], y[drawn], y[drawn_baseline]
        diff.append((xs - ys).mean(axis=1))
        greater = (xs[:, :, None] > yb[:, None, :]).mean(axis=(1, 2))
        ties = (xs[:, :, None] == yb[:, None, :]).mean(axis=(1, 2))
        poi.append(greater + 0.5 * ties)
    return np.stack([np.mean(diff, axis=0), np.mean(poi, axis=0)], axis=1)


def mean_interval(values: Sequence[float], alpha: float = ALPHA) -> tuple[float, float]:
    """The (1 - alpha) t-interval of a mean over seeds; NaN with fewer than 2 values or no
    spread (the interval is then undefined, not zero-width)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2 or np.allclose(x, x[0], rtol=0, atol=CONSTANT_TOLERANCE):
        return float("nan"), float("nan")
    low, high = stats.t.interval(1 - alpha, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return float(low), float(high)
