"""The statistics on constructed inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.report.analyse.stats import (
    friedman_nemenyi,
    holm,
    paired_mde,
    paired_t,
    probability_of_improvement,
    seeds_needed,
    stratified_bootstrap,
)


def test_a_constant_difference_has_no_p_value():
    test = paired_t([0.8, 0.7, 0.9], [0.7, 0.6, 0.8])  # always +0.1: t undefined
    assert test.p is None and test.mean == pytest.approx(0.1) and np.isnan(test.low)
    assert paired_t([0.5, 0.5], [0.5, 0.5]).p is None  # all zero: also undefined
    assert paired_t([0.5], [0.4]).p is None  # one seed


def test_paired_t_matches_scipy_and_gives_its_interval():
    a, b = [80, 85, 90, 70], [60, 70, 65, 71]
    test = paired_t(a, b)
    assert test.p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    d = np.subtract(a, b)
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert (test.low, test.high) == pytest.approx((d.mean() - half, d.mean() + half))


def test_holm_adjusts_in_step_down_order_and_skips_undefined():
    adjusted = holm([0.01, None, 0.04, 0.03])
    assert adjusted[1] is None
    assert adjusted[0] == pytest.approx(0.03)  # 3 x 0.01
    assert adjusted[3] == pytest.approx(0.06)  # 2 x 0.03
    assert adjusted[2] == pytest.approx(0.06)  # max(1 x 0.04, previous)


def test_holm_equals_statsmodels_exactly_with_ties_and_caps():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    for m in (2, 17, 60):
        p = rng.uniform(0, 1, m) ** 3
        p[: m // 3] = p[0]  # ties
        expected = multipletests(p, 0.05, method="holm")[1]
        assert holm(list(p)) == [float(x) for x in expected]
        assert max(holm(list(p))) <= 1.0


def test_mde_and_seeds_needed_are_consistent():
    mde = paired_mde(1.0, 5)
    assert 1.6 < mde < 1.8  # (t_{.975,4} + t_{.8,4}) / sqrt(5) is about 1.68
    assert paired_mde(2.0, 5) == pytest.approx(2 * mde)
    assert seeds_needed(1.0, difference=mde) == 5
    assert seeds_needed(1.9) == 31  # the example: 1.9-point sd, 1-point effect
    assert np.isnan(paired_mde(1.0, 1))


def test_friedman_and_nemenyi_on_a_clear_order_and_on_ties():
    wide = pd.DataFrame(
        {"a": [0.9, 0.8, 0.7, 0.95], "b": [0.8, 0.7, 0.6, 0.9], "c": [0.7, 0.6, 0.5, 0.85]}
    )
    result = friedman_nemenyi(wide)
    assert list(result.ranks.index) == ["a", "b", "c"]
    assert result.ranks["a"] == 1.0 and result.ranks["c"] == 3.0
    assert result.friedman_p == pytest.approx(stats.friedmanchisquare(*wide.T.values).pvalue)
    q = stats.studentized_range.ppf(0.95, 3, np.inf) / np.sqrt(2)
    assert result.critical_difference == pytest.approx(q * np.sqrt(3 * 4 / (6 * 4)))
    assert 2.3 < q < 2.4  # Demsar's table: q_0.05 = 2.343 for k = 3
    tied = friedman_nemenyi(pd.DataFrame({"a": [1.0, 1.0], "b": [1.0, 1.0], "c": [1.0, 1.0]}))
    assert tied.friedman_p == 1.0 and tied.ranks["a"] == 2.0
    assert friedman_nemenyi(wide[["a", "b"]]).friedman_p is None  # 2 methods: no Friedman


def test_probability_of_improvement():
    assert probability_of_improvement(np.array([2, 3]), np.array([1, 1])) == 1.0
    assert probability_of_improvement(np.array([1, 1]), np.array([1, 1])) == 0.5
    assert probability_of_improvement(np.array([0, 2]), np.array([1, 1])) == 0.5


def test_stratified_bootstrap_covers_a_known_shift_and_is_reproducible():
    rng = np.random.default_rng(1)
    data = {}
    for d in ("x", "y", "z"):
        base = rng.normal(70, 1, 5)
        data[d] = (base + 2.0 + rng.normal(0, 0.1, 5), base)
    agg = stratified_bootstrap(data, reps=500)
    assert agg.low < agg.mean < agg.high and agg.low > 1.5 and agg.high < 2.5
    assert agg.p_improvement > 0.7
    assert stratified_bootstrap(data, reps=500) == agg
    constant = stratified_bootstrap({"x": (np.array([1.0, 1.0]), np.array([1.0, 1.0]))}, 100)
    assert constant.low == constant.high == 0.0 and constant.p_improvement == 0.5


def test_power_matches_statsmodels_and_stays_defined_for_large_effects():
    from statsmodels.stats.power import TTestPower

    from bench.report.analyse.stats import paired_power

    for effect, n in ((0.5, 10), (1.5, 6), (1.0, 3)):
        assert paired_power(effect, n) == pytest.approx(TTestPower().power(effect, n, 0.05))
    assert paired_power(20.0, 2) == pytest.approx(1.0, abs=1e-3)  # statsmodels: NaN here
    assert seeds_needed(0.05) == 2  # tiny sd: the fewest seeds a paired test can use


def test_bonferroni_interval_of_the_aggregate_is_wider_and_from_the_same_replicates():
    rng = np.random.default_rng(2)
    data = {d: (rng.normal(71, 1, 5), rng.normal(70, 1, 5)) for d in ("x", "y", "z")}
    plain = stratified_bootstrap(data, reps=1000)
    corrected = stratified_bootstrap(data, reps=1000, corrected_alpha=0.05 / 6)
    assert (corrected.low, corrected.high, corrected.mean) == (plain.low, plain.high, plain.mean)
    assert corrected.corrected_low < plain.low < plain.high < corrected.corrected_high
    assert plain.corrected_low is None


def test_only_pairs_beyond_the_critical_difference_are_named():
    from bench.report.render.findings import separated_pairs

    ranks = pd.Series({"a": 1.2, "b": 2.0, "c": 4.0})
    text = separated_pairs(ranks, critical_difference=2.5)
    assert "`a` (1.20) ranks above `c` (4.00)" in text and "`b`" not in text
    assert separated_pairs(ranks, critical_difference=3.0).startswith("- No pair")


def test_probability_of_improvement_interval_resamples_each_methods_runs_independently():
    """rliable's interval: x's and y's runs resampled apart. Resampling the same seed
    indices for both (a paired bootstrap) gives a narrower interval when the seeds
    share variance; the suite's interval must be the wider, rliable one."""
    rng = np.random.default_rng(3)
    data = {}
    for d in ("a", "b", "c"):
        seed_effect = rng.normal(0, 5, 5)  # shared by both methods of a seed
        base = 70 + seed_effect
        data[d] = (base + 0.3 + rng.normal(0, 0.2, 5), base)
    agg = stratified_bootstrap(data, reps=2000)
    joint = []
    boot = np.random.default_rng(0)
    for _ in range(2000):
        idx = {d: boot.integers(0, 5, 5) for d in data}
        joint.append(
            np.mean(
                [probability_of_improvement(x[idx[d]], y[idx[d]]) for d, (x, y) in data.items()]
            )
        )
    joint_width = np.percentile(joint, 97.5) - np.percentile(joint, 2.5)
    assert agg.p_improvement_high - agg.p_improvement_low > 1.3 * joint_width


def test_hierarchical_bootstrap_adds_the_test_examples_variance():
    from bench.report.analyse.sampling import hierarchical_interval

    rng = np.random.default_rng(0)
    # three seeds whose mean difference is exactly 0.1 (10 points): seeds alone vary nothing
    diffs = []
    for _ in range(3):
        d = np.zeros(200, dtype=np.int8)
        d[rng.choice(200, 30, replace=False)] = 1
        d[rng.choice(np.flatnonzero(d == 0), 10, replace=False)] = -1
        diffs.append(d)
    lo_s, hi_s, lo_b, hi_b = hierarchical_interval({"a": diffs}, alpha=0.05, reps=300)
    assert lo_s == pytest.approx(10.0) and hi_s == pytest.approx(10.0)
    # examples resampled: about 10 +- 1.96 * sqrt(var / 600) points
    assert lo_b < 8.5 and hi_b > 11.5 and lo_b < 10 < hi_b
