"""The seed paper's claims (AMPLIFY, arXiv 2309.12689), tested on the records: one verdict
per claim, by a rule written here and in the report, over every regime the records cover.

A regime is a main block (one model and training setting: the reference) or a study's
pooled cells (label noise, low resource). Per claim and regime the evidence is one or more
effects, each with a 95% interval oriented so that > 0 favours the claim and corrected
(Bonferroni) over every effect of its claim: the rule's "at least one" looks at all of
them, so the whole family keeps a 5% error rate.

Rule: *supported* when some interval lies above 0 and none below; *contradicted* when some
lies below 0 and none above; *equivalent within +-delta* when every interval lies inside
the claim's margin, declared here before any record was read (TOST: the corrected
two-sided interval inside +-delta is a test of equivalence at half its level per side);
*inconclusive* when an interval includes 0 but reaches beyond the margin (the data could
not tell a difference of delta from none: the MDE exceeds it), or when the regimes
disagree; *not tested here* when no regime has the data. Pure pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.report.analyse.analysis import per_seed_difference
from bench.report.analyse.stats import ALPHA, mean_interval, paired_mde

SUPPORTED, CONTRADICTED = "supported", "contradicted"
EQUIVALENT, INCONCLUSIVE, NOT_TESTED = "equivalent", "inconclusive", "not tested here"
# the equivalence margin of each claim, in its effects' unit, declared before the verdicts
# were read (2026-12-07): 1 point of accuracy or ECE; 10% of step time (C2's effects are
# log step-time ratios); the same for the claims on accuracy that join later
MARGINS: dict[str, tuple[float, str]] = {
    "C1": (1.0, "1 accuracy point"),
    "C2": (float(np.log(1.1)), "10% step time"),
    "C3": (1.0, "1 accuracy point"),
    "C4": (1.0, "1 ECE point"),
    "P": (1.0, "1 accuracy point"),
    "P2": (1.0, "1 accuracy point"),
    "M1": (1.0, "1 accuracy point"),
}
DEFAULT_MARGIN = (1.0, "1 point")
ABOVE, BELOW, ACROSS, NO_INTERVAL = "above 0", "below 0", "includes 0", "no interval"
RULE = (
    "A claim is *supported* when at least one of its 95% intervals (oriented so that "
    "> 0 favours the claim) lies above 0 and none lies below; *contradicted* when at least "
    "one lies below 0 and none above; *equivalent within +-delta* when every interval lies "
    "inside the claim's margin delta, declared before the verdicts were read (1 accuracy or "
    "ECE point; 10% step time for C2): a TOST; *inconclusive* when an interval includes 0 "
    "but reaches beyond delta (the data could not tell a difference of delta from none: "
    "its MDE exceeds delta), or when intervals lie on both sides of 0; *not tested here* "
    "when no regime has the data. A claim "
    "against *the other* methods (C1, C2) is judged per method and holds only if it holds "
    "against each: supported against every one, contradicted against any one, equivalent "
    "to every one. Since one "
    "interval can decide, a claim's intervals are simultaneous: Bonferroni-corrected over "
    "all its effects (every regime and compared method), so a verdict's family-wise error "
    "stays at 5%."
)
UNIVERSAL = ("C1", "C2", "C4", "P", "P2", "M1")  # claims over every other method: judged per method
CLAIMS = {
    "C1": "AMPLIFY reaches higher accuracy than the other mixup methods",
    "C2": "AMPLIFY costs less computation than the other mixups, sentence mixup in particular",
    "C3": "AMPLIFY limits the influence of noise in the samples (noisy labels or inputs): "
    "its gain over no mixup is larger with noise than without (a noise x method interaction)",
    "C4": "AMPLIFY smooths labels: it is better calibrated (lower ECE, on every dataset) than "
    "no mixup and than each other mixup",
}
REGIME_RULE = (
    "Each claim is judged twice, by rules fixed on 2026-12-07 before the heads and variance "
    "studies had records: *per regime*, its intervals Bonferroni-corrected over that "
    "regime's effects only (the headline is the reference's: the packaged encoder in the "
    "default profile); and *pooled*, every regime at once with the correction over all "
    "the claim's effects (the rule above)."
)


@dataclass(frozen=True)
class Effect:
    """One piece of evidence: an effect in a regime with its corrected interval."""

    regime: str
    what: str  # e.g. "amplify - word, accuracy points"
    mean: float
    low: float
    high: float
    mde: float = float("nan")
    against: str = ""  # the compared method, for claims judged per method
    seeds: int = 0
    values: tuple[float, ...] = ()  # the per-seed differences it was computed from

    def corrected(self, comparisons: int) -> Effect:
        """The same effect with its interval and MDE at the Bonferroni level over
        `comparisons` (itself where its per-seed values are not kept)."""
        if not self.values:
            return self
        return effect(self.regime, self.what, np.array(self.values), comparisons, self.against)

    @property
    def side(self) -> str:
        """Where the corrected interval lies: above 0, below 0, or across it."""
        if np.isnan(self.low) or np.isnan(self.high):
            return NO_INTERVAL
        return ABOVE if self.low > 0 else BELOW if self.high < 0 else ACROSS


@dataclass
class Claim:
    key: str
    text: str
    effects: list[Effect] = field(default_factory=list)
    scope: str = ""
    # how many effects its Bonferroni correction counts: its own (None), or more where its
    # effects are read off a larger table so that one contrast has one interval everywhere
    family: int | None = None

    @property
    def family_size(self) -> int:
        return self.family if self.family is not None else len(self.effects)

    @property
    def margin(self) -> tuple[float, str]:
        """The claim's equivalence margin and how the report names it."""
        return MARGINS.get(self.key, DEFAULT_MARGIN)

    @property
    def verdict(self) -> str:
        """The pooled verdict: every regime at once, Bonferroni over all its effects."""
        return self.judge(self.effects)

    def judge(self, effects: list[Effect]) -> str:
        """The rule over `effects` (per compared method for the claims judged so)."""
        if self.key not in UNIVERSAL:
            return verdict([(e.low, e.high) for e in effects], self.margin[0])
        return universal_verdict(list(self.per_method(effects).values()))

    def per_method(self, effects: list[Effect] | None = None) -> dict[str, str]:
        """The verdict against each compared method (claims judged per method)."""
        effects = self.effects if effects is None else effects
        return {
            against: verdict(
                [(e.low, e.high) for e in effects if e.against == against], self.margin[0]
            )
            for against in dict.fromkeys(e.against for e in effects)
        }

    def regime_effects(self, regime: str) -> list[Effect]:
        """The effects of one regime, corrected within it (over that regime's effects);
        a claim of one regime keeps its own family (P: its table's)."""
        mine = [e for e in self.effects if e.regime == regime]
        if len({e.regime for e in self.effects}) == 1:
            return mine
        return [e.corrected(len(mine)) for e in mine]

    def per_regime(self) -> dict[str, str]:
        """The verdict in each regime, its intervals corrected within that regime."""
        regimes = dict.fromkeys(e.regime for e in self.effects)
        return {r: self.judge(self.regime_effects(r)) for r in regimes}

    def regime_counts(self) -> str:
        """`equivalent in 3, inconclusive in 2 of 5 regimes`: the per-regime verdicts."""
        verdicts = list(self.per_regime().values())
        if not verdicts:
            return NOT_TESTED
        counts = ", ".join(f"{v} in {verdicts.count(v)}" for v in dict.fromkeys(verdicts))
        return f"{counts} of {len(verdicts)}"

    def reason(self) -> str:
        """Why the rule gives this verdict, in a line: the count of intervals on each side
        of 0 and the clearest deciding one (its interval farthest from 0)."""
        sides = [e.side for e in self.effects if e.side != NO_INTERVAL]
        if not sides:
            return "no records"
        above, below = sides.count(ABOVE), sides.count(BELOW)
        counts = f"of {len(sides)} intervals, {above} above 0 and {below} below"
        v = self.verdict
        delta, named = self.margin
        if (
            v in (INCONCLUSIVE, EQUIVALENT)
            and self.key in UNIVERSAL
            and len(set(self.per_method().values())) > 1
        ):
            split = ", ".join(f"{m}: {w}" for m, w in self.per_method().items())
            return f"{counts}; per method: {split}"
        if v == EQUIVALENT:
            return f"all {len(sides)} intervals include 0 and lie within +-{named}"
        if v == INCONCLUSIVE and not (above or below):
            wide = [e for e in self.effects if e.side == ACROSS and max(-e.low, e.high) >= delta]
            widest = max(wide, key=lambda e: e.high - e.low) if wide else None
            worst = f"; widest: {widest.regime}: {describe(widest)}" if widest else ""
            reach = f"{len(wide)} reach beyond +-{named}"
            return f"all {len(sides)} intervals include 0, {reach}{worst}"
        if v == INCONCLUSIVE:
            return counts + "; the regimes disagree"
        deciding = [e for e in self.effects if e.side == (ABOVE if v == SUPPORTED else BELOW)]
        if self.key in UNIVERSAL and v == CONTRADICTED:
            losing = [m for m, w in self.per_method().items() if w == CONTRADICTED]
            deciding = [e for e in deciding if e.against in losing]
            counts += f"; contradicted against {', '.join(losing)}"
        clearest = max(deciding, key=lambda e: e.low if v == SUPPORTED else -e.high)
        return f"{counts}; clearest: {clearest.regime}: {clearest.what} {describe(clearest)}"


def describe(e: Effect) -> str:
    """`+0.41 [+0.13, +0.69], MDE 0.39`: an effect's mean, interval and MDE."""
    mde = "" if np.isnan(e.mde) else f", MDE {e.mde:.2f}"
    return f"{e.mean:+.2f} [{e.low:+.2f}, {e.high:+.2f}]{mde}"


def universal_verdict(per_method: list[str]) -> str:
    """Supported against every compared method, contradicted against any one, equivalent
    to every one; else inconclusive."""
    if not per_method:
        return NOT_TESTED
    if CONTRADICTED in per_method:
        return CONTRADICTED
    for state in (SUPPORTED, EQUIVALENT):
        if all(v == state for v in per_method):
            return state
    return INCONCLUSIVE


def verdict(intervals: list[tuple[float, float]], margin: float = DEFAULT_MARGIN[0]) -> str:
    """The rule (see RULE) over intervals oriented so that > 0 favours the claim, with the
    equivalence margin `margin` in their unit."""
    usable = [(lo, hi) for lo, hi in intervals if not (np.isnan(lo) or np.isnan(hi))]
    if not usable:
        return NOT_TESTED
    above = any(lo > 0 for lo, _ in usable)
    below = any(hi < 0 for _, hi in usable)
    if above and not below:
        return SUPPORTED
    if below and not above:
        return CONTRADICTED
    if not above and all(-margin < lo and hi < margin for lo, hi in usable):
        return EQUIVALENT
    return INCONCLUSIVE


def effect(
    regime: str, what: str, per_seed: np.ndarray, comparisons: int = 1, against: str = ""
) -> Effect:
    """Mean of a per-seed vector with its t-interval and MDE, both at the Bonferroni level
    over `comparisons` (the claim's effects)."""
    per_seed = np.asarray(per_seed, dtype=float)
    level = ALPHA / max(1, comparisons)
    low, high = mean_interval(per_seed, alpha=level)
    sd = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan")
    mde = paired_mde(sd, len(per_seed), alpha=level)
    return Effect(
        regime,
        what,
        float(per_seed.mean()),
        low,
        high,
        mde,
        against,
        len(per_seed),
        tuple(float(v) for v in per_seed),
    )


M1 = (
    "with lambda drawn as the baselines draw it (a question of this suite, not a claim of the "
    "paper: the same distribution of lambda, not the same realised mixing, which compounds "
    "over AMPLIFY's layers), mixing at AMPLIFY's site reaches higher accuracy than mixing at "
    "the other methods' sites"
)
MATCHED = {"alpha": 0.2, "draws": 1, "max_trick": True}  # how the baselines draw lambda


def draws_like(ok: pd.DataFrame, method: str, options: dict) -> bool:
    """Whether every record of `method` draws lambda with these options."""
    runs = ok[ok.method == method].record
    return not runs.empty and all(
        options.items() <= dict(r.spec.method_options).items() for r in runs
    )


def matched_strength_claim(
    regimes: list[tuple[str, pd.DataFrame]], focus: str = "amplify"
) -> Claim:
    """M1: AMPLIFY's variant that draws lambda as the baselines do, against each mixup
    that draws it the same way (a variant at another strength answers nothing here: it is
    the strength study's dose-response against `none`). Judged per method, as C1."""
    found = []
    for regime, ok in regimes:
        if focus not in set(ok.method) or not draws_like(ok, focus, MATCHED):
            continue
        for other in mixup_methods(ok, focus):
            if draws_like(ok, other, MATCHED):
                diff = per_seed_difference(ok, focus, other)
                found.append((regime, f"{focus} - {other}, points", diff, other))
    usable = [f for f in found if len(f[2]) >= 2]
    effects = [effect(r, what, d, len(usable), against) for r, what, d, against in usable]
    return Claim("M1", M1, effects)


def noise_interactions(
    ok: pd.DataFrame, method: str, clean: str = "clean"
) -> dict[str, np.ndarray]:
    """Per noisy condition, per seed: (method - none) in the noisy cells minus (method -
    none) in the matching clean cells, averaged over the datasets both have (points;
    > 0: the method loses less to the noise than `none` does). "Limits the influence of
    noise" is this interaction, not the noisy cells' difference alone."""
    if not {method, "none"} <= set(ok.method):
        return {}
    wide = ok[ok.method.isin([method, "none"])].pivot_table(
        index=["seed", "base_dataset"], columns=["condition", "method"], values="accuracy"
    )
    gap = {
        condition: 100 * (wide[(condition, method)] - wide[(condition, "none")])
        for condition in dict.fromkeys(c for c, _ in wide.columns)
        if (condition, method) in wide and (condition, "none") in wide
    }
    if clean not in gap:
        return {}
    out = {}
    for condition, noisy_gap in gap.items():
        if condition == clean:
            continue
        per_cell = (noisy_gap - gap[clean]).dropna()
        out[condition] = per_cell.groupby(level="seed").mean().to_numpy()
    return out


def overconfident_datasets(ok: pd.DataFrame) -> set[str]:
    """The datasets where `none`'s mean confidence exceeds its accuracy (C4's breakdown:
    where `none` is underconfident any smoothing raises ECE). All datasets when the runs
    carry no confidence gap."""
    none = ok[ok.method == "none"]
    if "confidence_gap" not in none or none.confidence_gap.isna().all():
        return set(none.dataset)
    gap = none.groupby("dataset").confidence_gap.mean()
    return set(gap[gap > 0].index)


def calibration_breakdown(ok: pd.DataFrame, regime: str) -> list[Effect]:
    """C4 split by how `none` errs: per method, ECE none - method (x 100) on the datasets
    where `none` is overconfident and on those where it is underconfident, Bonferroni over
    the table's rows (a described breakdown, not a verdict)."""
    if "none" not in set(ok.method):
        return []
    over = overconfident_datasets(ok)
    under = set(ok.dataset) - over
    found = [
        (f"ECE none - {m}, x 100, {kind} ({len(names)} of {ok.dataset.nunique()})", m, diff)
        for m in sorted(set(ok.method) - {"none"})
        for kind, names in (("none overconfident", over), ("none underconfident", under))
        if names and len(diff := per_seed_difference(ok, "none", m, "ece", datasets=names)) >= 2
    ]
    return [effect(regime, what, d, len(found), m) for what, m, d in found]


def mixup_methods(ok: pd.DataFrame, focus: str) -> list[str]:
    """The methods that mix (their records' mean 1 - lambda is above 0), focus excluded."""
    mixing = ok.groupby("method").mean_one_minus_lambda.median()
    return sorted(m for m, v in mixing.items() if v > 0 and m != focus)


def judge_claims(
    blocks: list[tuple[str, pd.DataFrame]],
    noisy: list[tuple[str, pd.DataFrame]],
    focus: str = "amplify",
    untimed: frozenset[str] = frozenset(),
) -> list[Claim]:
    """`blocks`: (regime, ok runs of a main block); `noisy`: (regime, ok runs of a noise
    study, clean cells included, with `condition` and `base_dataset`: C3 tests the noise
    x method interaction); `untimed`: regimes whose runs come from different sweeps, so
    their timings do not compare (no C2 there). Returns
    C1-C4 with evidence, each interval Bonferroni-corrected over its claim's effects."""
    found: dict[str, list[tuple[str, str, np.ndarray, str]]] = {key: [] for key in CLAIMS}
    for regime, ok in blocks:
        if focus not in set(ok.method):
            continue
        others = mixup_methods(ok, focus)
        for other in others:  # C1: accuracy against every other mixup
            diff = per_seed_difference(ok, focus, other)
            found["C1"].append((regime, f"{focus} - {other}, points", diff, other))
        # C2: timings compare only within one sweep (not in an untimed regime) and on one
        # device (its name holds the thread count): the one most of the focus's runs used
        timed = ok
        if "device" in ok:
            timed = ok[ok.device == ok[ok.method == focus].device.mode().iloc[0]]
        for other in [] if regime in untimed else others:
            log_ratio = per_seed_difference(
                timed.assign(log_step=np.log(timed.median_step_seconds)),  # > 0: focus cheaper
                other,
                focus,
                "log_step",
                1,
            )
            found["C2"].append((regime, f"log step time {other} / {focus}", log_ratio, other))
        for other in ["none", *others] if "none" in set(ok.method) else others:
            diff = per_seed_difference(ok, other, focus, "ece")  # C4: > 0: focus calibrated
            what = f"ECE {other} - {focus}, x 100, every dataset"
            found["C4"].append((regime, what, diff, other))
    for regime, ok in noisy:  # C3: the noise x method interaction of the focus
        for condition, diff in noise_interactions(ok, focus).items():
            what = f"({focus} - none) at {condition} minus at clean, points"
            found["C3"].append((regime, what, diff, ""))
    claims = []
    for key, text in CLAIMS.items():
        usable = [f for f in found[key] if len(f[2]) >= 2]
        effects = [effect(r, what, d, len(usable), against) for r, what, d, against in usable]
        claims.append(Claim(key, text, effects))
    return claims
