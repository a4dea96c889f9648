"""The report's answers: head-to-head with equivalence (TOST) and the verdict rule of the
seed paper's claims, on constructed runs whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.report.analyse.analysis import per_seed_difference
from bench.report.analyse.claims import (
    CONTRADICTED,
    NOT_TESTED,
    SUPPORTED,
    Claim,
    Effect,
    verdict,
)
from bench.report.analyse.claims import (
    EQUIVALENT as CLAIM_EQUIVALENT,
)
from bench.report.analyse.claims import (
    INCONCLUSIVE as CLAIM_INCONCLUSIVE,
)
from bench.report.analyse.claims import (
    judge_claims as run_claims,
)
from bench.report.analyse.head_to_head import (
    EQUIVALENT,
    INCONCLUSIVE,
    NOT_EQUIVALENT,
    equivalence,
    head_to_head,
)
from bench.report.analyse.stats import mean_interval, paired_mde
from bench.report.render.report_answers import across_regimes, variant_names

SEEDS = range(6)
NOISE = np.array([0.3, -0.2, 0.1, -0.3, 0.2, -0.1])  # points, per seed; sums to 0


def runs(shift: dict[str, float], spread: float = 1.0, datasets=("a", "b", "c")) -> pd.DataFrame:
    """Accuracy (fraction) per dataset, method, seed: 0.7 + shift (points) + seed noise."""
    rows = []
    for d, dataset in enumerate(datasets):
        for method, points in shift.items():
            for seed in SEEDS:
                noise = spread * NOISE[(seed + d + len(method)) % 6]
                rows.append(
                    {
                        "dataset": dataset,
                        "method": method,
                        "seed": seed,
                        "accuracy": (70 + points + noise) / 100,
                        "ece": 0.1 - points / 100 + noise / 1000,
                        "median_step_seconds": 0.3 * (1 + 0.1 * (method == "sentence")),
                        "mean_one_minus_lambda": 0.0 if method == "none" else 0.05,
                    }
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "low,high,expected",
    [
        (-0.4, 0.5, EQUIVALENT),
        (1.2, 2.5, NOT_EQUIVALENT),
        (-2.1, -1.1, NOT_EQUIVALENT),
        (-0.2, 1.6, INCONCLUSIVE),
        (np.nan, np.nan, INCONCLUSIVE),
    ],
)
def test_equivalence_from_the_90_percent_interval(low, high, expected):
    assert equivalence(low, high, margin=1.0) == expected


@pytest.mark.parametrize(
    "shift,spread,expected",
    [(0.1, 0.5, EQUIVALENT), (3.0, 0.5, NOT_EQUIVALENT), (0.8, 3.0, INCONCLUSIVE)],
)
def test_head_to_head_equivalence_on_constructed_runs(shift, spread, expected):
    table = head_to_head(runs({"amplify": shift, "word": 0.0}, spread))
    agg = table[table.level == "aggregate"].set_index("other").loc["word"]
    # the aggregate is the per-seed difference averaged over datasets, a t-test over seeds
    ok = runs({"amplify": shift, "word": 0.0}, spread)
    wide = ok.pivot_table(index="seed", columns=["dataset", "method"], values="accuracy")
    per_seed = 100 * sum(wide[(d, "amplify")] - wide[(d, "word")] for d in "abc") / 3
    low90, high90 = stats.t.interval(0.90, 5, loc=per_seed.mean(), scale=stats.sem(per_seed))
    assert agg["diff"] == pytest.approx(per_seed.mean())
    assert agg.ci90_low == pytest.approx(low90)
    assert agg.equivalence == expected
    assert agg.smallest_margin == pytest.approx(max(abs(low90), abs(high90)))


def test_head_to_head_holm_runs_over_the_per_dataset_family():
    table = head_to_head(runs({"amplify": 2.0, "word": 0.0, "none": 0.0}))
    rows = table[table.level == "dataset"]
    assert len(rows) == 6  # 3 datasets x 2 others
    from statsmodels.stats.multitest import multipletests

    expected = multipletests(rows.p.to_numpy(dtype=float), method="holm")[1]
    assert np.allclose(rows.p_holm.to_numpy(dtype=float), expected)
    # the aggregate rows are their own family, not part of the per-dataset one
    assert len(table[table.level == "aggregate"]) == 2


def test_verdict_words():
    assert verdict([(0.2, 1.0), (-0.5, 0.5)]) == SUPPORTED
    assert verdict([(-1.0, -0.1)]) == CONTRADICTED
    assert verdict([(-0.5, 0.5), (-0.1, 0.9)]) == CLAIM_EQUIVALENT  # inside +-1
    assert verdict([(-0.5, 0.5), (-0.1, 1.9)]) == CLAIM_INCONCLUSIVE  # one reaches beyond
    assert verdict([(-0.5, 0.5)], margin=0.4) == CLAIM_INCONCLUSIVE  # a tighter margin
    assert verdict([(0.2, 1.0), (-1.0, -0.1)]) == CLAIM_INCONCLUSIVE  # regimes disagree
    assert verdict([]) == NOT_TESTED


def test_an_equal_case_is_equivalent_and_a_blind_case_inconclusive():
    """ "Not shown" splits in two: tight intervals around 0 (equal within the margin) and
    wide ones (the data could not see a difference of the margin's size)."""

    def claim(key, lo, hi, mde):
        return Claim(key, "text", [Effect("r", "d", (lo + hi) / 2, lo, hi, mde, "word", 5)])

    equal = claim("C2", -0.03, 0.04, 0.02)  # log step ratios within 10%
    assert equal.verdict == CLAIM_EQUIVALENT
    assert equal.reason() == "all 1 intervals include 0 and lie within +-10% step time"
    blind = claim("C3", -3.2, 4.1, 4.5)  # an MDE of 4.5 points against a margin of 1
    assert blind.verdict == CLAIM_INCONCLUSIVE
    assert "1 reach beyond +-1 accuracy point" in blind.reason()


def by_key(claims):
    return {c.key: c for c in claims}


def test_claims_supported_when_amplify_beats_every_other_mixup():
    ok = runs({"none": 0.0, "word": 0.0, "sentence": 0.0, "amplify": 3.0})
    claims = by_key(run_claims([("ref", ok)], []))
    assert claims["C1"].verdict == SUPPORTED
    assert claims["C4"].verdict == SUPPORTED  # ECE 0.03 lower on every run
    assert claims["C3"].verdict == NOT_TESTED  # no noise study


def test_claims_contradicted_when_another_mixup_beats_amplify():
    ok = runs({"none": 0.0, "word": 3.0, "sentence": 0.0, "amplify": 0.0})
    assert by_key(run_claims([("ref", ok)], []))["C1"].verdict == CONTRADICTED


def test_claims_inconclusive_when_amplify_beats_only_some():
    ok = runs({"none": 0.0, "word": 0.0, "sentence": 3.0, "amplify": 3.0})
    claims = by_key(run_claims([("ref", ok)], []))
    assert claims["C1"].verdict == CLAIM_INCONCLUSIVE
    # sentence's steps are 10% slower: cheaper than sentence, the same as word
    assert claims["C2"].verdict == CLAIM_INCONCLUSIVE


def test_noise_claim_is_the_noise_x_method_interaction():
    """C3: (amplify - none) under noise minus (amplify - none) in the clean cells. AMPLIFY
    2 points below none everywhere loses nothing more to the noise: interaction 0, not
    -2; 1 point above none when clean and 1 below under noise: interaction -2."""
    clean = runs({"none": 0.0, "amplify": -2.0}).assign(condition="clean")
    noisy = runs({"none": 0.0, "amplify": -2.0}).assign(condition="pair 0.2")
    study = pd.concat([clean, noisy]).assign(base_dataset=lambda f: f.dataset)
    effect = by_key(run_claims([], [("label noise", study)]))["C3"].effects[0]
    assert effect.mean == pytest.approx(0.0, abs=1e-9)
    clean = runs({"none": 0.0, "amplify": 1.0}).assign(condition="clean")
    noisy = runs({"none": 0.0, "amplify": -1.0}).assign(condition="pair 0.2")
    study = pd.concat([clean, noisy]).assign(base_dataset=lambda f: f.dataset)
    c3 = by_key(run_claims([], [("label noise", study)]))["C3"]
    assert c3.effects[0].mean == pytest.approx(-2.0)
    assert "pair 0.2 minus at clean" in c3.effects[0].what


def test_cost_claim_compares_timings_on_one_device_only():
    ok = runs({"none": 0.0, "word": 0.0, "sentence": 0.0, "amplify": 0.0})
    ok["device"] = np.where(ok.method == "word", "CPU (1 threads)", "CPU (2 threads)")
    c2 = by_key(run_claims([("ref", ok)], []))["C2"]
    assert {e.against for e in c2.effects} == {"sentence"}  # word ran elsewhere: left out


def test_reason_names_the_clearest_deciding_interval_for_each_verdict_word():
    """The verdict table's *why*: counts per side of 0 and the interval farthest from 0 on
    the verdict's side; per-method verdicts when a claim over every method is mixed."""

    def claim(key, *intervals, against=("word",)):
        effects = [
            Effect(f"r{i}", "d", (lo + hi) / 2, lo, hi, 0.5, against[i % len(against)], 5)
            for i, (lo, hi) in enumerate(intervals)
        ]
        return Claim(key, "text", effects)

    supported = claim("C4", (0.1, 0.9), (0.4, 1.2), (-0.2, 0.3))
    assert supported.verdict == SUPPORTED
    assert supported.reason() == (
        "of 3 intervals, 2 above 0 and 0 below; clearest: r1: d +0.80 [+0.40, +1.20], MDE 0.50"
    )
    contradicted = claim("C1", (-0.3, 0.4), (-2.0, -0.5), (-1.0, -0.1), against=("word", "tmix"))
    assert contradicted.verdict == CONTRADICTED
    assert contradicted.reason() == (
        "of 3 intervals, 0 above 0 and 2 below; contradicted against word, tmix; "
        "clearest: r1: d -1.25 [-2.00, -0.50], MDE 0.50"
    )
    mixed = claim("C1", (0.2, 0.8), (-0.3, 0.3), against=("word", "tmix"))
    assert mixed.verdict == CLAIM_INCONCLUSIVE
    assert mixed.reason().endswith("per method: word: supported, tmix: equivalent")
    disagree = claim("C3", (0.2, 0.8), (-0.9, -0.1))
    assert disagree.reason() == "of 2 intervals, 1 above 0 and 1 below; the regimes disagree"
    assert claim("C3", (-0.2, 0.3), (-0.1, 0.6)).reason() == (
        "all 2 intervals include 0 and lie within +-1 accuracy point"
    )
    assert claim("C3").reason() == "no records"
    assert claim("C3", (float("nan"), float("nan"))).verdict == NOT_TESTED


def test_claim_intervals_are_simultaneous_over_every_effect_of_the_claim():
    """One interval can decide a verdict, so each is Bonferroni-corrected over all of its
    claim's effects (regimes x compared methods), and its MDE at the same level."""
    ok = runs({"none": 0.0, "word": 0.5, "sentence": 0.0, "amplify": 1.0})
    one = by_key(run_claims([("ref", ok)], []))
    two = by_key(run_claims([("ref", ok), ("again", ok)], []))
    assert len(one["C1"].effects) == 2 and len(two["C1"].effects) == 4
    diff = per_seed_difference(ok, "amplify", "word")
    for claims, m in ((one, 2), (two, 4)):
        e = next(e for e in claims["C1"].effects if e.against == "word")
        assert (e.low, e.high) == pytest.approx(mean_interval(diff, alpha=0.05 / m))
        assert e.mde == pytest.approx(paired_mde(diff.std(ddof=1), len(diff), alpha=0.05 / m))
    ece = per_seed_difference(ok, "none", "amplify", "ece")
    against_none = next(e for e in one["C4"].effects if e.against == "none")
    assert len(one["C4"].effects) == 3  # none, sentence, word: every dataset, every mixup
    assert (against_none.low, against_none.high) == pytest.approx(
        mean_interval(ece, alpha=0.05 / 3)
    )


def test_a_regime_verdict_is_corrected_within_its_regime_and_the_pooled_over_all():
    """Per regime, a claim's intervals count only that regime's effects (C1 in "ref": 2);
    the pooled verdict counts every regime's (4). An effect the wider family hides can
    decide its regime."""
    ok = runs({"none": 0.0, "word": 0.0, "sentence": 0.0, "amplify": 1.0})
    c1 = by_key(run_claims([("ref", ok), ("again", ok)], []))["C1"]
    diff = per_seed_difference(ok, "amplify", "word")
    pooled = next(e for e in c1.effects if e.against == "word" and e.regime == "ref")
    within = next(e for e in c1.regime_effects("ref") if e.against == "word")
    assert (pooled.low, pooled.high) == pytest.approx(mean_interval(diff, alpha=0.05 / 4))
    assert (within.low, within.high) == pytest.approx(mean_interval(diff, alpha=0.05 / 2))
    assert set(c1.per_regime()) == {"ref", "again"}
    assert c1.regime_counts().endswith("of 2")
    wide = Effect("a", "d", 0.5, 0.1, 0.9, against="word", values=(0.2, 0.5, 0.8, 0.4, 0.6))
    claim = Claim("C1", "text", [wide, Effect("b", "d", 0.0, -0.3, 0.3, against="word")])
    assert claim.per_regime()["a"] == claim.judge([wide.corrected(1)])


def test_calibration_breakdown_splits_by_how_none_errs():
    """C4's breakdown: per method, ECE none - method where `none` is overconfident and
    where it is underconfident, each over those datasets only."""
    from bench.report.analyse.claims import calibration_breakdown

    ok = runs({"none": 0.0, "word": 0.0, "amplify": 0.0})
    gap = np.where(ok.dataset == ok.dataset.iloc[0], 5.0, -5.0)
    ok = ok.assign(confidence_gap=gap)
    rows = calibration_breakdown(ok, "ref")
    assert {e.against for e in rows} == {"amplify", "word"}
    assert {("overconfident" in e.what) for e in rows} == {True, False}
    over = next(e for e in rows if e.against == "amplify" and "overconfident" in e.what)
    first = {ok.dataset.iloc[0]}
    assert over.mean == pytest.approx(
        per_seed_difference(ok, "none", "amplify", "ece", datasets=first).mean()
    )


def test_the_summary_says_in_which_regimes_a_method_is_above_or_below_none():
    def effect(regime, method, low, high):
        return dict(regime=regime, method=method, mean=(low + high) / 2, low=low, high=high)

    effects = pd.DataFrame(
        [
            effect("reference", "word", -2.0, -0.1),
            effect("reference", "smooth", 0.1, 2.0),
            effect("schedule", "word", -1.0, 1.0),
            effect("schedule", "tmix", -2.0, -0.5),
            effect("schedule", "sentence", -0.5, -0.2),
        ]
    )
    (line,) = across_regimes(effects)
    assert "Figure 1: 2 regimes" in line
    assert "above `none`: smooth in reference." in line
    assert "Below it: word in reference; tmix, sentence in schedule." in line
    assert across_regimes(effects[effects.regime == "schedule"]) == []  # one regime: no line


def test_a_study_variant_is_named_by_its_condition_in_the_regime_figure():
    ok = pd.DataFrame(
        {
            "method": ["none", "amplify[alpha=1.0]", "amplify[alpha=1.0]", "amplify[x=2]"],
            "method_name": ["none", "amplify", "amplify", "amplify"],
            "condition": ["clean", "Beta(1, 1)", "Beta(1, 1)", "clean"],
        }
    )
    ok.loc[4] = ["amplify[x=2]", "amplify", "Beta(2, 2)"]  # two conditions: left as it is
    assert variant_names(ok) == {"amplify[alpha=1.0]": "amplify at Beta(1, 1)"}
