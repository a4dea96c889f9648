"""What carries the published gain: the head study's methods x heads, from its runs
(`StudyAnalysis.ok`: the main reference's mean-head cell, the published-protocol study's
cells of the authors' heads, and its own).

Three tables of effects, each a per-seed vector (mean over the datasets of a paired
difference, points) with the claims' t-interval and MDE, Bonferroni-corrected over its
table: every method against `none` under the same head; every head against the suite's
mean for the same method; and the published gain split into its head part and its method
part. Pure pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from bench.core.studies import HEAD_LABELS
from bench.report.analyse.claims import ABOVE, BELOW, Claim, Effect, effect

FOCUS, BASELINE = "amplify", "none"
MEAN, CLS, POOLER, REINIT, PLAIN = (
    HEAD_LABELS[p] for p in ("mean", "cls", "pooler", "pooler-reinit", "plain-mean")
)
SHORT = {
    MEAN: "mean",
    CLS: "[CLS]",
    POOLER: "pooler",
    REINIT: "pooler re-init",
    PLAIN: "plain mean",
}
HEAD_BASELINES = ("word", "sentence")  # the authors' baselines in the head study
GAIN = "published gain"
HEAD_PART = "AMPLIFY's head vs the baselines' head"
METHOD_PART = "AMPLIFY vs the baseline at AMPLIFY's head"
OTHER_HEAD = "AMPLIFY vs the baseline at the baselines' head"


@dataclass(frozen=True)
class HeadAnalysis:
    """The three tables of the head study."""

    like_with_like: list[Effect]  # regime: the head, against: the method (method - none)
    head_effects: list[Effect]  # regime: the head, against: the method (head - mean)
    split: list[Effect]  # regime: the part of the gain, against: the baseline
    seeds: int


Cell = tuple[str, str]  # (head label, method)


def per_seed(wide: pd.DataFrame, a: Cell, b: Cell) -> pd.Series | None:
    """Per seed, the mean over datasets of a - b (points), at the seeds that ran every
    dataset both cells ran; None when either cell is missing or fewer than 2 seeds remain."""
    if a not in wide.columns or b not in wide.columns:
        return None
    pair = wide[[a, b]].dropna()
    if pair.empty:
        return None
    diff = 100 * (pair[a] - pair[b])
    datasets = diff.groupby(level="base_dataset").size()
    complete = pair.index.get_level_values("base_dataset").isin(datasets.index)
    by_seed = diff[complete].groupby(level="seed")
    counts = by_seed.size()
    means = by_seed.mean()[counts == len(datasets)]
    return means if len(means) >= 2 else None


def table(wide: pd.DataFrame, rows: list[tuple[str, str, str, Cell, Cell]]) -> list[Effect]:
    """Effects of (regime, what, against, a, b) rows that have data, corrected over them."""
    found = [(r, w, ag, per_seed(wide, a, b)) for r, w, ag, a, b in rows]
    found = [f for f in found if f[3] is not None]
    return [effect(r, w, v.to_numpy(), len(found), ag) for r, w, ag, v in found]


def analyse_heads(ok: pd.DataFrame) -> HeadAnalysis | None:
    """The head study's tables, or None while no cell pair has two seeds."""
    wide = ok.pivot_table(
        index=["seed", "base_dataset"], columns=["condition", "method"], values="accuracy"
    )
    heads = [h for h in SHORT if any(c == h for c, _ in wide.columns)]
    methods = [m for m in ("word", "sentence", FOCUS) if any(x == m for _, x in wide.columns)]
    like = table(
        wide,
        [(h, f"{m} - none, points", m, (h, m), (h, BASELINE)) for h in heads for m in methods],
    )
    shift = table(
        wide,
        [
            (h, f"{m}: {SHORT[h]} - mean head, points", m, (h, m), (MEAN, m))
            for m in (BASELINE, *methods)
            for h in heads
            if h != MEAN
        ],
    )
    rows = []
    for b in HEAD_BASELINES:
        rows += [
            (GAIN, f"amplify (plain mean) - {b} (pooler)", b, (PLAIN, FOCUS), (POOLER, b)),
            (HEAD_PART, f"{b}: plain mean - pooler", b, (PLAIN, b), (POOLER, b)),
            (METHOD_PART, f"amplify - {b}, plain mean", b, (PLAIN, FOCUS), (PLAIN, b)),
            (OTHER_HEAD, f"amplify - {b}, pooler", b, (POOLER, FOCUS), (POOLER, b)),
        ]
    none_gain = "amplify (plain mean) - none (pooler)"
    rows += [
        (GAIN, none_gain, BASELINE, (PLAIN, FOCUS), (POOLER, BASELINE)),
        (HEAD_PART, "none: plain mean - pooler", BASELINE, (PLAIN, BASELINE), (POOLER, BASELINE)),
        (METHOD_PART, "amplify - none, plain mean", BASELINE, (PLAIN, FOCUS), (PLAIN, BASELINE)),
        (OTHER_HEAD, "amplify - none, pooler", BASELINE, (POOLER, FOCUS), (POOLER, BASELINE)),
    ]
    split = table(wide, rows)
    if not (like or shift or split):
        return None
    seeds = max((e.seeds for e in like + shift + split), default=0)
    return HeadAnalysis(like, shift, split, seeds)


def carried_by_head(analysis: HeadAnalysis) -> str:
    """One plain sentence: which part of the published gain has an interval away from 0
    (read off the split table: nothing is assumed)."""
    parts = {}
    for e in analysis.split:
        parts.setdefault(e.regime, []).append(e)

    def said(regime: str) -> str:
        effects = parts.get(regime, [])
        if not effects:
            return "(no paired runs yet)"
        return "; ".join(
            f"{e.against} {e.mean:+.2f} [{e.low:+.2f}, {e.high:+.2f}]" for e in effects
        )

    head_part, method_part = HEAD_PART, METHOD_PART
    head = [e for e in parts.get(head_part, ()) if e.side in (ABOVE, BELOW)]
    method = [e for e in parts.get(method_part, ()) if e.side in (ABOVE, BELOW)]
    if not parts.get(head_part) and not parts.get(method_part):
        return "not measured yet: the head study has no paired runs of both parts"
    if head and not method:
        verdict = "the head carries the published gain, not AMPLIFY's mixing"
    elif method and not head:
        verdict = "AMPLIFY's mixing carries the published gain, not the head"
    elif head and method:
        verdict = "both the head and AMPLIFY's mixing move the published gain"
    else:
        verdict = "neither the head nor AMPLIFY's mixing has an interval away from 0"
    return (
        f"{verdict}: the baselines' accuracy from the pooler to AMPLIFY's plain mean "
        f"{said(head_part)}; AMPLIFY against the baseline at AMPLIFY's head "
        f"{said(method_part)} (points, corrected t-intervals)"
    )


def effects_frame(effects: list[Effect]) -> pd.DataFrame:
    """A table of effects for the CSV beside the report."""
    return pd.DataFrame(
        [
            {
                "what": e.regime,
                "contrast": e.what,
                "against": e.against,
                "mean": e.mean,
                "low": e.low,
                "high": e.high,
                "mde": e.mde,
                "seeds": e.seeds,
            }
            for e in effects
        ]
    )


CLAIM_P2 = (
    "At the same head (AMPLIFY's published plain mean), AMPLIFY reaches higher accuracy "
    "than each baseline"
)


def same_head_claim(analysis: HeadAnalysis) -> Claim:
    """P restated by the head study: AMPLIFY against each baseline when both classify
    from AMPLIFY's head (the split's method part, with the split table's correction)."""
    effects = [
        replace(e, regime="heads study (plain mean)")
        for e in analysis.split
        if e.regime == METHOD_PART
    ]
    return Claim("P2", CLAIM_P2, effects, family=len(analysis.split))
