"""Why the paper saw a gain: AMPLIFY's advantage over each baseline under the 2 x 2 of the
authors' protocol (label partner: same / independent; head: shared / published), from the
published-protocol study and the main reference it borrows (its `suite` cell), and claim P.

AMPLIFY's own labels always follow its input partners (as in the authors' code), so in a
cell it is the reference's AMPLIFY (shared head) or the study's (published head). Every
effect is a per-seed vector (mean over the datasets of the paired difference) with the
claims' t-interval and MDE, Bonferroni-corrected over its table. Pure pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from bench.core.studies import CLEAN, PROTOCOL_CELLS, PUBLISHED_BASELINES
from bench.report.analyse.claims import ABOVE, BELOW, Claim, Effect, effect

FOCUS = "amplify"
SUITE, LABELS, HEAD, PUBLISHED = (
    CLEAN,
    PROTOCOL_CELLS["independent", "shared"],
    PROTOCOL_CELLS["same", "published"],
    PROTOCOL_CELLS["independent", "published"],
)
CELLS = (SUITE, LABELS, HEAD, PUBLISHED)
CELL_NAMES = {SUITE: "suite", LABELS: "labels only", HEAD: "head only", PUBLISHED: "published"}
CLAIM_P = "Under the published protocol AMPLIFY reaches higher accuracy than each baseline"
# the decomposition of AMPLIFY's advantage A(cell) for one baseline, as weights on the cells
CONTRASTS = {
    "label partner (main effect)": {LABELS: 0.5, PUBLISHED: 0.5, SUITE: -0.5, HEAD: -0.5},
    "head (main effect)": {HEAD: 0.5, PUBLISHED: 0.5, SUITE: -0.5, LABELS: -0.5},
    "interaction": {PUBLISHED: 1.0, HEAD: -1.0, LABELS: -1.0, SUITE: 1.0},
}


@dataclass(frozen=True)
class ProtocolAnalysis:
    """AMPLIFY's advantage per baseline and cell, its decomposition, and claim P."""

    cells: list[Effect]  # regime: the cell's name, against: the baseline
    decomposition: list[Effect]  # regime: the contrast's name, against: the baseline
    claim: Claim
    seeds: int


def advantages(ok: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    """(baseline, cell) -> per seed, the mean over datasets of amplify - baseline in points,
    at the seeds and datasets where every cell of that baseline ran."""
    wide = ok.pivot_table(
        index=["seed", "base_dataset"], columns=["condition", "method"], values="accuracy"
    )
    out: dict[tuple[str, str], pd.Series] = {}
    for baseline in PUBLISHED_BASELINES:
        needed = [(cell, baseline) for cell in CELLS] + [(SUITE, FOCUS), (HEAD, FOCUS)]
        if any(column not in wide.columns for column in needed):
            continue
        complete = wide[needed].dropna()
        for cell in CELLS:
            amplify = complete[(HEAD if cell in (HEAD, PUBLISHED) else SUITE, FOCUS)]
            diff = 100 * (amplify - complete[(cell, baseline)])
            per_seed = diff.groupby(level="seed").mean()
            datasets = complete.groupby(level="seed").size()
            out[baseline, cell] = per_seed[datasets == datasets.max()]
    return out


def head_shift(ok: pd.DataFrame) -> dict[str, float]:
    """Per method, its own accuracy under the published head minus under the shared one
    (points, mean over seeds and datasets, same-label cells): which side of AMPLIFY's
    advantage the head moves."""
    wide = ok.pivot_table(
        index=["seed", "base_dataset"], columns=["condition", "method"], values="accuracy"
    )
    out = {}
    for method in (*PUBLISHED_BASELINES, FOCUS):
        if (HEAD, method) in wide and (SUITE, method) in wide:
            pair = wide[[(HEAD, method), (SUITE, method)]].dropna()
            out[method] = float(100 * (pair.iloc[:, 0] - pair.iloc[:, 1]).mean())
    return out


def analyse_protocol(ok: pd.DataFrame) -> ProtocolAnalysis | None:
    """The 2 x 2 of the published-protocol study's runs (`StudyAnalysis.ok`), or None
    while no baseline has every cell at two seeds or more."""
    found = advantages(ok)
    baselines = [b for b in PUBLISHED_BASELINES if len(found.get((b, SUITE), ())) >= 2]
    if not baselines:
        return None
    cells = [
        effect(CELL_NAMES[cell], f"{FOCUS} - {b}, points", found[b, cell], 4 * len(baselines), b)
        for b in baselines
        for cell in CELLS
    ]
    decomposition = [
        effect(
            name,
            f"{FOCUS} - {b}, points",
            sum(weight * found[b, cell] for cell, weight in weights.items()).to_numpy(),
            len(CONTRASTS) * len(baselines),
            b,
        )
        for b in baselines
        for name, weights in CONTRASTS.items()
    ]
    # P is read off the table's published column (corrected over the table's effects, wider
    # than over its own): one interval for each contrast wherever the report prints it
    claim_effects = [
        replace(e, regime="published protocol") for e in cells if e.regime == CELL_NAMES[PUBLISHED]
    ]
    seeds = int(min(len(found[b, SUITE]) for b in baselines))
    claim = Claim("P", CLAIM_P, claim_effects, family=len(cells))
    return ProtocolAnalysis(cells, decomposition, claim, seeds)


def carried_by(analysis: ProtocolAnalysis) -> str:
    """One sentence: does the published advantage reappear, and which factor carries it
    (read off the intervals: nothing here is assumed)."""
    published = {e.against: e for e in analysis.claim.effects}
    ahead = [b for b, e in published.items() if e.low > 0]
    behind = [b for b, e in published.items() if e.high < 0]
    gap = "; ".join(
        f"{b} {e.mean:+.2f} [{e.low:+.2f}, {e.high:+.2f}]" for b, e in published.items()
    )
    if ahead:
        first = f"AMPLIFY is ahead of {', '.join(ahead)} under the published protocol ({gap})"
    elif behind:
        first = f"AMPLIFY is behind {', '.join(behind)} under the published protocol ({gap})"
    else:
        first = f"the published advantage does not reappear under the published protocol ({gap})"
    factors = []
    for name in CONTRASTS:
        hits = [e for e in analysis.decomposition if e.regime == name and e.side in (ABOVE, BELOW)]
        if hits:
            factors.append(f"{name} for {', '.join(f'{e.against} ({e.mean:+.2f})' for e in hits)}")
    second = (
        "intervals that exclude 0: " + "; ".join(factors)
        if factors
        else "no main effect or interaction has an interval that excludes 0"
    )
    return f"{first}; {second}."


def effects_frame(effects: list[Effect]) -> pd.DataFrame:
    """The effects as a table (for the CSV beside the report)."""
    return pd.DataFrame(
        [
            {
                "baseline": e.against,
                "what": e.regime,
                "mean": e.mean,
                "low": e.low,
                "high": e.high,
                "mde": e.mde,
                "seeds": e.seeds,
            }
            for e in effects
        ]
    ).replace({np.nan: None})
