"""Head to head: one focus method (AMPLIFY by default) against every other method of a
block, per dataset and aggregated, with Holm over that family (the primary family of the
report) and an equivalence statement for every difference (two one-sided tests, TOST).

Equivalence, at margin m points: the 1 - 2 alpha / k interval of the difference lies
inside (-m, m) (TOST at alpha / k each side, Bonferroni over the k comparisons of its
family, as the differences are); *not equivalent*: it lies entirely outside [-m, m];
otherwise *inconclusive*. The smallest margin the data support is the larger absolute
bound of that interval: "a difference beyond it is excluded". Pure pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.analyse.stats import ALPHA, holm, mean_interval, paired_mde, paired_t

FOCUS = "amplify"
MARGIN = 1.0  # points of accuracy: the equivalence margin stated in the report
EQUIVALENT, NOT_EQUIVALENT, INCONCLUSIVE = "equivalent", "not equivalent", "inconclusive"


def equivalence(low90: float, high90: float, margin: float = MARGIN) -> str:
    """TOST verdict of a difference from its 90% interval (alpha 0.05 each side)."""
    if np.isnan(low90) or np.isnan(high90):
        return INCONCLUSIVE
    if -margin < low90 and high90 < margin:
        return EQUIVALENT
    if low90 > margin or high90 < -margin:
        return NOT_EQUIVALENT
    return INCONCLUSIVE


def smallest_margin(low90: float, high90: float) -> float:
    """The smallest symmetric margin TOST accepts: differences beyond it are excluded."""
    return float(max(abs(low90), abs(high90)))


def aggregate_diffs(rows: list[dict]) -> list[np.ndarray]:
    return [row.pop("_diffs") for row in rows]


def corrected_interval(diffs: np.ndarray, comparisons: int) -> tuple[float, float]:
    """The t-interval Bonferroni-corrected over `comparisons` (what a verdict rests on)."""
    return mean_interval(diffs, alpha=ALPHA / max(1, comparisons))


def corrected_tost(table: pd.DataFrame, diffs: list[np.ndarray]) -> pd.DataFrame:
    """TOST over the family of `table`'s rows: each row's equivalence interval at
    1 - 2 alpha / k (k rows), so "equivalent" is corrected as the differences are."""
    k = max(1, len(table))
    bounds = [mean_interval(d, alpha=2 * ALPHA / k) for d in diffs]
    table = table.drop(columns=[c for c in ("_diffs_kept",) if c in table])
    table["ci90_low"] = [b[0] for b in bounds]
    table["ci90_high"] = [b[1] for b in bounds]
    table["equivalence"] = [equivalence(lo, hi) for lo, hi in bounds]
    table["smallest_margin"] = [
        smallest_margin(lo, hi) if not np.isnan(lo) else float("nan") for lo, hi in bounds
    ]
    table["tost_family"] = k
    return table


def _row(focus: str, other: str, cell: str, diffs: np.ndarray) -> dict:
    test = paired_t(diffs, np.zeros_like(diffs))
    low90, high90 = mean_interval(diffs, alpha=2 * ALPHA)
    return {
        "focus": focus,
        "other": other,
        "dataset": cell,
        "seeds": test.n,
        "diff": test.mean,
        "ci_low": test.low,
        "ci_high": test.high,
        "p": test.p,
        "mde": paired_mde(test.sd, test.n),
        "ci90_low": low90,
        "ci90_high": high90,
        "equivalence": equivalence(low90, high90),
        "smallest_margin": smallest_margin(low90, high90) if not np.isnan(low90) else float("nan"),
        "_diffs": diffs,
    }


def head_to_head(ok: pd.DataFrame, focus: str = FOCUS) -> pd.DataFrame:
    """Per dataset and per other method, `focus` - other (points, paired by seed), then the
    same averaged over the datasets both ran at every seed ("all datasets"); Holm over the
    per-dataset rows (the family), the aggregate rows as their own family. Empty when the
    focus method is absent."""
    if focus not in set(ok.method):
        return pd.DataFrame()
    wide = ok.pivot_table(index="seed", columns=["dataset", "method"], values="accuracy") * 100
    datasets = sorted(set(ok[ok.method == focus].dataset))
    rows, aggregate = [], []
    for other in sorted(set(ok.method) - {focus}):
        per_seed = {}
        for dataset in datasets:
            if (dataset, other) not in wide:
                continue
            pair = wide[[(dataset, focus), (dataset, other)]].dropna()
            if len(pair) < 2:
                continue
            diffs = (pair.iloc[:, 0] - pair.iloc[:, 1]).to_numpy()
            row = _row(focus, other, dataset, diffs)
            row["_diffs_kept"] = row.pop("_diffs")
            rows.append(row)
            per_seed[dataset] = pair.iloc[:, 0] - pair.iloc[:, 1]
        if len(per_seed) >= 2:
            common = pd.DataFrame(per_seed).dropna()
            if len(common) >= 2:
                aggregate.append(_row(focus, other, "all datasets", common.mean(axis=1).to_numpy()))
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = corrected_tost(table, [r.pop("_diffs_kept") for r in rows])
    table["p_holm"] = holm(list(table.p))
    table["level"] = "dataset"
    if aggregate:
        diffs = aggregate_diffs(aggregate)
        agg = corrected_tost(pd.DataFrame(aggregate), diffs)
        agg["p_holm"] = holm(list(agg.p))
        corrected = [corrected_interval(d, len(agg)) for d in diffs]
        agg["corrected_low"] = [c[0] for c in corrected]
        agg["corrected_high"] = [c[1] for c in corrected]
        agg["level"] = "aggregate"
        table = pd.concat([table, agg], ignore_index=True)
    table["significant"] = [p is not None and not pd.isna(p) and p < ALPHA for p in table.p_holm]
    return table
