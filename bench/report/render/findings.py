"""Findings: what the tests carry, in words, and nothing else. Each function turns an
analysis table into claim lines (a difference that survives Holm, an aggregate interval,
the power a table had); the report modules place them, this module decides them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.analyse.analysis import CALIBRATION, BlockAnalysis
from bench.report.analyse.stats import ALPHA
from bench.report.analyse.study_analysis import StudyAnalysis, own_cells
from bench.report.render.report_text import fmt_p

POOLED_OVER = "dataset · condition cells"


def main_findings(a: BlockAnalysis) -> list[str]:
    """What a main block's tests carry, in the order the report gives it."""
    lines = per_dataset_claims(a.differences)
    lines += aggregate_claims(a.aggregates)
    lines += test_sampling_line(a.sampling, a.aggregates)
    lines += rank_and_power_claims(a)
    return lines + calibration_claims(a)


def per_dataset_claims(d: pd.DataFrame, cell: str = "dataset", metric: str = "points") -> list[str]:
    """Differences to none that survive Holm correction, and nothing else. `cell` names
    what a row compares on (a dataset, or a dataset under a study's condition)."""
    out = []
    n = int(d.p.notna().sum())
    untested = len(d) - n
    if untested:
        out.append(
            f"- {untested} of {len(d)} comparisons have no p-value (one seed, or the same "
            "difference in every seed: the t statistic is undefined); they support no claim."
        )
    significant = d[d.significant]
    if significant.empty:
        out.append(
            f"- No method differs from `none` on any {cell} after Holm correction over the "
            f"{n} tested comparisons of the difference table (alpha {ALPHA})."
        )
        return out
    for r in significant.itertuples():
        side = "above" if r.diff > 0 else "below"
        out.append(
            f"- `{r.method}` is {side} `none` on {r.dataset}: {r.diff:+.2f} {metric} "
            f"(95% CI [{r.ci_low:+.2f}, {r.ci_high:+.2f}], Holm p = {fmt_p(r.p_holm)})."
        )
    out.append(f"- Every other difference is not significant after Holm correction over {n} tests.")
    return out


def aggregate_claims(aggregates: pd.DataFrame, over: str = "datasets") -> list[str]:
    """The aggregate difference of each method; 'excludes 0' rests on the interval
    Bonferroni-corrected over the methods compared, not on the per-method one."""
    out = []
    for r in aggregates.itertuples():
        excludes = r.corrected_low > 0 or r.corrected_high < 0
        out.append(
            f"- Aggregate `{r.method}` - `none` over {r.datasets} {over}: {r.mean:+.2f} points, "
            f"95% t-interval over {r.seeds} seeds [{r.low:+.2f}, {r.high:+.2f}]; "
            "Bonferroni-corrected over "
            f"{r.compared} methods [{r.corrected_low:+.2f}, {r.corrected_high:+.2f}]"
            + (" (excludes 0)" if excludes else " (includes 0)")
            + f"; probability of improvement (all pairs of runs, as rliable) {r.p_improvement:.2f} "
            f"[{r.p_improvement_low:.2f}, {r.p_improvement_high:.2f}]."
        )
    return out


def test_sampling_line(sampling: pd.DataFrame, aggregates: pd.DataFrame) -> list[str]:
    """Whether test-set sampling would change an aggregate claim: a diagnostic (`sampling`),
    not an interval the report states. Each method's corrected t-interval is widened by its
    ratio of the two bootstraps' widths, and checked for whether it still excludes 0."""
    if sampling.empty or aggregates.empty:
        return []
    agg = aggregates.set_index("method")
    changed = []
    for r in sampling.itertuples():
        if r.method not in agg.index or np.isnan(r.widening):
            continue
        a = agg.loc[r.method]
        half = (a.corrected_high - a.corrected_low) / 2 * r.widening
        if (a.corrected_low > 0 or a.corrected_high < 0) != (abs(a["mean"]) > half):
            changed.append(r.method)
    widening = 100 * (sampling.widening.median() - 1)
    text = (
        "- Test-set sampling (a diagnostic, `sampling.csv`): a bootstrap that also resamples "
        "the test examples within each seed is "
        f"{widening:.0f}% wider than the same bootstrap over seeds alone (median over "
        "methods), so the t-intervals, which see the seeds' spread, leave out that much; "
        "widening each corrected t-interval by its method's ratio "
    )
    if changed:
        return [text + f"changes whether it excludes 0 for {', '.join(changed)}."]
    return [text + "changes no aggregate claim."]


def calibration_claims(a: BlockAnalysis) -> list[str]:
    """ECE and NLL differences to none that survive Holm, per metric; nothing else."""
    out = []
    for metric, name in CALIBRATION.items():
        table = a.calibration.get(metric, pd.DataFrame())
        if table.empty:
            continue
        out += [
            claim.replace("differs from `none`", f"differs in {name} from `none`")
            for claim in per_dataset_claims(table, metric=f"{name} points (x 100)")
        ]
    return out


def rank_and_power_claims(a: BlockAnalysis) -> list[str]:
    """The rank test, the power of the difference table and the degenerate runs."""
    out = []
    ranks = a.ranks
    if ranks.friedman_p is not None:
        verdict = (
            "the methods' ranks differ (Friedman)"
            if ranks.friedman_p < ALPHA
            else "no ranking of the methods is supported (Friedman)"
        )
        out.append(
            f"- Across {ranks.datasets} datasets: {verdict}, p = {fmt_p(ranks.friedman_p)}; "
            f"average ranks closer than the critical difference "
            f"{ranks.critical_difference:.2f} are not distinguishable (Nemenyi)."
        )
        if ranks.friedman_p < ALPHA:
            out.append(separated_pairs(ranks.ranks, ranks.critical_difference))
    out += power_claim(a.differences)
    degenerate = a.baselines[a.baselines.degenerate_runs > 0]
    if not degenerate.empty:
        names = ", ".join(
            f"{r.dataset} ({r.degenerate_runs}/{r.runs})" for r in degenerate.itertuples()
        )
        out.append(
            f"- Degenerate runs (accuracy not significantly above the majority class, or "
            f"the predicted classes hold less than half of the test examples): {names}. "
            "Differences on those datasets say little."
        )
    return out


def separated_pairs(ranks: pd.Series, critical_difference: float) -> str:
    """The pairs of methods whose average ranks differ by more than the critical
    difference (the only ranking claims the Nemenyi test carries)."""
    ordered = ranks.sort_values()
    pairs = [
        f"`{better}` ({ordered[better]:.2f}) ranks above `{worse}` ({ordered[worse]:.2f})"
        for i, better in enumerate(ordered.index)
        for worse in ordered.index[i + 1 :]
        if ordered[worse] - ordered[better] > critical_difference
    ]
    if not pairs:
        return "- No pair of methods is separated by more than the critical difference."
    return "- Separated by more than the critical difference: " + "; ".join(pairs) + "."


def study_findings(a: StudyAnalysis) -> list[str]:
    """What a study's tests carry: its own cells' differences, the pooled aggregate,
    AUROC where measured, and its power."""
    if a.differences.empty:
        return ["No method was run next to `none` on the same seeds."]
    lines = per_dataset_claims(own_cells(a.differences), cell="dataset and condition")
    if not a.pooled.empty:
        lines += aggregate_claims(a.pooled, over=POOLED_OVER)
        lines.append(
            "- The pooled intervals take these cells as fixed and resample only their seeds; "
            "treated as a sample of conditions (or with more seeds) they would be wider, so "
            "an interval that only just excludes 0 is weak evidence."
        )
    if not a.ood.empty:
        lines.append(
            f"- Max-softmax AUROC ranges {a.ood.auroc.min():.1f}-{a.ood.auroc.max():.1f}% "
            "over the methods (50% is chance, 100% a perfect detector)."
        )
    if not a.auroc_differences.empty:
        lines += [
            claim.replace("differs from", "differs in AUROC from")
            for claim in per_dataset_claims(
                a.auroc_differences, cell="dataset", metric="AUROC points"
            )
        ]
    return lines + power_claim(own_cells(a.differences), show_range=False)


def power_claim(differences: pd.DataFrame, show_range: bool = True) -> list[str]:
    """The median minimum detectable difference of a difference table's tested rows."""
    tested = differences.dropna(subset=["mde"])
    if tested.empty:
        return []
    mde, low, high = tested.mde, tested.seeds.min(), tested.seeds.max()
    spread = f" (range {mde.min():.2f}-{mde.max():.2f})" if show_range else ""
    return [
        f"- Power: median minimum detectable difference {mde.median():.2f} points{spread} at "
        f"{low if low == high else f'{low}-{high}'} seeds; smaller true differences could go "
        "undetected."
    ]
