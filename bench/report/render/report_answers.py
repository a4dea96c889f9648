"""The first screen of the report: a four-line summary (the last: each claim's verdict),
the seed paper's claims tested (bench.report.analyse.claims) with the effect-vs-regime
figure, and the head-to-head comparison of the focus method
(bench.report.analyse.head_to_head) with its equivalence statements and forest plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.core.studies import CLEAN, STUDIES, find_study
from bench.report.analyse.analysis import BlockAnalysis, per_seed_difference
from bench.report.analyse.claims import (
    CONTRADICTED,
    EQUIVALENT,
    INCONCLUSIVE,
    MARGINS,
    REGIME_RULE,
    RULE,
    SUPPORTED,
    Claim,
    calibration_breakdown,
    describe,
    effect,
    judge_claims,
    matched_strength_claim,
)
from bench.report.analyse.head_to_head import FOCUS, MARGIN, head_to_head
from bench.report.analyse.stats import ALPHA
from bench.report.analyse.study_analysis import StudyAnalysis
from bench.report.render import figures
from bench.report.render.report_text import fmt_p


def profiles(runs: pd.DataFrame) -> str:
    """The profiles some runs trained with, as regime labels name them."""
    return ", ".join(sorted(set(runs.profile)))


def regime_name(block: pd.DataFrame) -> str:
    return f"reference ({profiles(block)}, {block.model.iloc[0]})"


def primary(main: list[tuple[str, BlockAnalysis]]) -> tuple[str, BlockAnalysis] | None:
    """The main block with the most successful runs (ties: the later one)."""
    usable = [(name, a) for name, a in main if not a.ok.empty]
    return max(reversed(usable), key=lambda item: len(item[1].ok)) if usable else None


def summary_lines(
    name: str,
    a: BlockAnalysis,
    claims: list[Claim],
    blocks: list[tuple[str, BlockAnalysis]] = (),
    published: str = "",
    variance: str = "",
    tuned: str = "",
) -> list[str]:
    """The first screen: five plain lines a practitioner can act on (which methods are
    equal to `none` and by how much, what each costs, what label smoothing does, what the
    published gain was, the regime's limits), then the claims table, once."""
    return [
        "## Summary",
        "",
        f"- **Equal, better or worse** ({name}, {a.ok.seed.nunique()} seeds, "
        f"{a.ok.dataset.nunique()} datasets): {equality_line(a, blocks)}",
        f"- **Cost**: {cost_line(a)}",
        f"- **Label smoothing**: {smoothing_line(a)}",
        f"- **The published gain**: {published or 'the published-protocol study has no records.'}",
        f"- **Limits of this regime**: {limits_line(a)}" + (f" {variance}" if variance else ""),
        *([f"- **Every method at its best** (the tuned study): {tuned}"] if tuned else []),
        "",
        claims_table(name, claims),
        "",
        "Each claim's rule, its regimes and every effect: [The seed paper's claims, tested]"
        "(#the-seed-papers-claims-tested); every block and study in full: "
        "[APPENDIX.md](APPENDIX.md).",
        "",
    ]


def claims_table(reference: str, claims: list[Claim]) -> str:
    """The one claims table: the reference's verdict, the verdicts per regime, the pooled
    one and why the pooled rule gives it."""
    return tabulate(
        [
            [
                c.key,
                f"**{c.per_regime()[reference]}**"
                if reference in c.per_regime()
                else "not in the reference",
                c.regime_counts(),
                f"**{c.verdict}**",
                c.reason(),
            ]
            for c in claims
        ],
        headers=[
            "claim",
            "reference",
            "per regime (corrected within each)",
            "pooled (all regimes)",
            "why (pooled)",
        ],
        tablefmt="github",
    )


def interval(mean: float, low: float, high: float) -> str:
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def equality_line(a: BlockAnalysis, blocks: list[tuple[str, BlockAnalysis]]) -> str:
    """Which methods the aggregate difference to `none` puts within, below or above the
    accuracy margin, and word's cause where it is below."""
    agg = a.aggregates
    if agg.empty:
        return "no method ran beside `none` on the same seeds."
    margin = MARGINS["C1"][0]
    groups = {
        "above `none`": agg[agg.corrected_low > 0],
        "below it": agg[agg.corrected_high < 0],
        f"equal to it within ±{margin:g} point": agg[
            (agg.corrected_low > -margin)
            & (agg.corrected_high < margin)
            & (agg.corrected_low <= 0)
            & (agg.corrected_high >= 0)
        ],
    }
    told = set().union(*(set(g.method) for g in groups.values()))
    groups["can't tell (the interval reaches beyond the margin)"] = agg[~agg.method.isin(told)]
    parts = [
        f"{label}: "
        + ", ".join(
            f"{r.method} {interval(r.mean, r.corrected_low, r.corrected_high)}"
            for r in g.itertuples()
        )
        for label, g in groups.items()
        if not g.empty
    ]
    if groups["above `none`"].empty:
        parts.insert(0, "no method is above `none`")
    cause = word_cause(agg, blocks) if "word" in set(groups["below it"].method) else ""
    return (
        "; ".join(parts)
        + " (accuracy points, method - `none` averaged over datasets, t-intervals over "
        "seeds Bonferroni-corrected over the methods)." + cause
    )


def word_cause(agg: pd.DataFrame, blocks: list[tuple[str, BlockAnalysis]]) -> str:
    """Word mixup's deficit is its union attention mask: the variant without it, where a
    block ran one, and its difference to `none`."""
    for regime, b in blocks:
        rows = b.aggregates[b.aggregates.method.str.startswith("word[union_mask=False]")]
        if not rows.empty:
            r = rows.iloc[0]
            without = interval(r["mean"], r.corrected_low, r.corrected_high)
            return (
                " Word's deficit is its union attention mask (each mixed pair attends over "
                "both examples' tokens): without it (`word[union_mask=False]`, the "
                f"{regime}) word - `none` is {without}."
            )
    return ""


def cost_line(a: BlockAnalysis) -> str:
    """Median step time of each method relative to `none`, on the block's main device."""
    cost = a.cost
    if cost.empty or "step_time_x" not in cost:
        return "no timings."
    device = a.ok.device.mode().iloc[0] if "device" in a.ok else cost.device.iloc[0]
    rows = cost[(cost.device == device) & (cost.method != "none")].sort_values("step_time_x")
    ratios = ", ".join(f"{r.method} {r.step_time_x:.2f}x" for r in rows.itertuples())
    return (
        f"median training step relative to `none` ({device}): {ratios}; every method but "
        "SSMix costs what `none` costs, within the step-time noise."
        if not rows.empty
        else "no method beside `none`."
    )


def smoothing_line(a: BlockAnalysis) -> str:
    """What label smoothing (`smooth`) does against `none`: accuracy and ECE, with the
    same interval procedure as the aggregates."""
    ok = a.ok
    if not {"smooth", "none"} <= set(ok.method):
        return "`smooth` was not run in this block."
    m = max(1, len(a.aggregates))
    acc = effect("", "", per_seed_difference(ok, "smooth", "none"), m)
    ece = effect("", "", per_seed_difference(ok, "smooth", "none", "ece"), m)
    return (
        f"`smooth` - `none`: accuracy {describe(acc)} points, ECE x 100 {describe(ece)} "
        "(< 0: better calibrated); what it does to calibration depends on whether `none` "
        "is over- or underconfident (C4's breakdown below)."
    )


def limits_line(a: BlockAnalysis) -> str:
    """The regime's limits in numbers: data, schedule, encoder and how far `none` fits."""
    ok = a.ok
    first = ok.record.iloc[0]
    settings, result = first.spec.settings, first.result
    steps = int(ok.steps.median()) if "steps" in ok else None
    model = result.model if result is not None else None
    encoder = (
        f"`{model.name}` ({model.depth} layers, {model.parameters / 1e6:.1f}M parameters)"
        if model is not None
        else f"`{first.spec.model}`"
    )
    losses = {
        r.dataset: r.record.result.metrics.curves[-1].train_loss
        for r in ok[ok.method == "none"].itertuples()
        if r.record.result is not None and r.record.result.metrics.curves
    }
    fit = ""
    if losses:
        loss = pd.Series(losses)
        fit = (
            f"; `none`'s last-epoch training loss {loss.min():.2f} ({loss.idxmin()}) to "
            f"{loss.max():.2f} ({loss.idxmax()}): not converged"
        )
    return (
        f"{settings.train_size or 'all'} training examples, {settings.epochs} epochs of batch "
        f"{settings.batch_size}"
        + (f" ({steps} steps)" if steps else "")
        + f", max length {settings.max_length}, {settings.precision}; the encoder {encoder}"
        f"{fit}. A verdict here bounds effects in this regime only."
    )


def plain_sentence(claim: Claim) -> str:
    """One plain sentence per claim, read off its verdict (nothing beyond it)."""
    regimes = len({e.regime for e in claim.effects})
    where = f"in the {regimes} regime(s) tested here" if regimes else ""
    if claim.verdict == SUPPORTED:
        return (
            f"**{claim.key}** is supported over {where.removeprefix('in ')} (at least one "
            f"corrected interval above 0, none below; not in every regime): {claim.text}."
        )
    if claim.verdict == CONTRADICTED:
        against = [m for m, v in claim.per_method().items() if v == CONTRADICTED and m]
        who = f" (against {', '.join(against)})" if against else ""
        return (
            f"**{claim.key}** is contradicted {where}{who}: an interval lies on the other "
            f'side of 0 from "{claim.text}".'
        )
    if claim.verdict == EQUIVALENT:
        return (
            f"**{claim.key}** is equivalent to no difference {where}: every corrected "
            f'interval lies within +-{claim.margin[1]} of 0, so "{claim.text}" holds by '
            "less than that, if at all."
        )
    if claim.verdict == INCONCLUSIVE:
        return (
            f'**{claim.key}** is inconclusive {where}: "{claim.text}" is neither shown nor '
            f"refuted (an interval includes 0 but reaches beyond +-{claim.margin[1]}, or "
            "intervals lie on both sides of 0)."
        )
    return f"**{claim.key}** is not tested here: no records carry it."


def across_regimes(effects: pd.DataFrame) -> list[str]:
    """One summary line: in which regimes of Figure 1 a method is above or below `none`."""
    if effects.empty or effects.regime.nunique() < 2:
        return []

    def where(side: pd.Series) -> str:
        hits = effects[side].groupby("regime", sort=False).method.apply(list)
        return "; ".join(f"{', '.join(m)} in {r}" for r, m in hits.items()) or "no method"

    return [
        f"- **Across regimes** (Figure 1: {effects.regime.nunique()} regimes, each method's "
        "aggregate difference to `none`, intervals corrected over the methods of each regime, "
        f"not over regimes): above `none`: {where(effects.low > 0)}. Below it: "
        f"{where(effects.high < 0)}. Every other interval includes 0."
    ]


def tested_claims(
    main: list[tuple[str, BlockAnalysis]], studies: list[StudyAnalysis]
) -> list[Claim]:
    """C1-C4 judged on AMPLIFY as published in every regime the records cover
    (bench.report.analyse.claims); then M1, the separate question its variants answer."""
    blocks, remade = claim_regimes(main, studies)
    published = [(name, frame) for name, frame in blocks if name not in remade]
    noisy = [
        (f"{s.study} study ({s.model}, {study_profile(s)})", s.ok)
        for s in studies
        if (entry := find_study(s.study)) is not None and entry.noise and not s.ok.empty
    ]
    claims = judge_claims(published, noisy)
    matched = [(name, frame) for name, frame in blocks if name in remade]
    return claims + [matched_strength_claim(matched)]


def study_profile(s: StudyAnalysis) -> str:
    """The profile a study's own runs trained with (its regime label names it)."""
    if s.ok.empty:  # e.g. a tuned study with trials but no retrained winner yet
        return profiles(s.trials)
    own = s.ok[s.ok.condition != CLEAN]
    return profiles(own if not own.empty else s.ok)


def study_regime(s: StudyAnalysis) -> str:
    """A study's regime in Figure 1 and on the results page."""
    return f"{s.study} ({s.model}, {study_profile(s)})"


def claims_section(
    claims: list[Claim],
    main: list[tuple[str, BlockAnalysis]],
    studies: list[StudyAnalysis],
    effects: pd.DataFrame,
    out_dir: Path,
    notes: list[str] = (),
) -> list[str]:
    """The rules, the verdicts per regime (the Summary's table holds the headline), the
    scope, Figure 1, C4's breakdown and every effect."""
    lines = [
        "## The seed paper's claims, tested",
        "",
        "Claims of the AMPLIFY abstract (Yang & Xiang, arXiv 2309.12689), each tested on the "
        "records below. " + RULE + " " + REGIME_RULE + " Intervals are t-intervals over "
        "seeds of the dataset-averaged paired difference; MDE: the smallest difference the "
        "corrected test would detect (power 0.8). "
        "C2 compares median step times (log ratio; > 0: AMPLIFY cheaper). "
        + regimes_text()
        + " *Why* counts the intervals on each side of 0 and names the clearest deciding one "
        "(farthest from 0); every effect is listed under *The evidence* below.",
        "",
        "| | claim |",
        "|---|---|",
        *[f"| {c.key} | {c.text} |" for c in claims],
        "",
        "Verdicts per regime (each corrected within its regime; blank: the regime does not "
        "carry the claim):",
        "",
        regime_matrix(claims),
        "",
        "**Scope**: stand-in datasets (not the paper's files), "
        + encoders(main, studies)
        + ", short schedules or small training sets on a CPU; the paper's regime (BERT-base "
        "on the full training sets for 10 epochs) is not run here. A verdict holds for the "
        "regimes listed, not beyond them." + not_yet_run(studies),
        "",
        *notes,
        *([""] if notes else []),
    ]
    if not effects.empty:
        figures.effect_vs_regime(effects, out_dir, "effect_vs_regime")
        lines += [
            "![Figure 1](effect_vs_regime.png)",
            "",
            "*Figure 1. Effect vs regime: each method's aggregate difference to `none` "
            "(points) with its t-interval over seeds, Bonferroni-corrected over the methods of its "
            "regime (the aggregate tables' corrected interval), in every regime the "
            "records cover (main blocks; studies pooled over their varied cells).* "
            "([SVG](effect_vs_regime.svg))",
            "",
        ]
    return lines + calibration_section(main) + evidence_section(claims, out_dir)


def regime_matrix(claims: list[Claim]) -> str:
    """Regimes x claims: each claim's verdict in each regime."""
    verdicts = {c.key: c.per_regime() for c in claims}
    regimes = list(dict.fromkeys(r for v in verdicts.values() for r in v))
    return tabulate(
        [[r, *(verdicts[c.key].get(r, "") for c in claims)] for r in regimes],
        headers=["regime", *(c.key for c in claims)],
        tablefmt="github",
    )


def calibration_section(main: list[tuple[str, BlockAnalysis]]) -> list[str]:
    """C4's breakdown: ECE none - method where `none` is over- and underconfident."""
    rows = [
        [e.regime, e.what, describe(e).split(", MDE")[0], f"{e.mde:.2f}", e.side]
        for name, a in main
        for e in calibration_breakdown(a.ok, name)
    ]
    if not rows:
        return []
    return [
        "### C4's breakdown: where `none` is over- and underconfident",
        "",
        "ECE none - method (x 100; > 0: the method is better calibrated), split by the "
        "sign of `none`'s mean confidence gap per dataset; Bonferroni over each block's "
        "rows. A description of how each method smooths, not a verdict: a smoother lowers "
        "ECE where `none` is overconfident and raises it where `none` is underconfident.",
        "",
        tabulate(
            rows,
            headers=["regime", "comparison", "effect [corrected 95% CI]", "MDE", "interval"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]


EVIDENCE_COLUMNS = ["claim", "regime", "comparison", "effect", "low", "high", "mde", "seeds"]


def evidence_frame(claims: list[Claim]) -> pd.DataFrame:
    """Every effect the verdicts rest on, one row each (`claims.csv`)."""
    rows = [
        [c.key, e.regime, e.what, e.mean, e.low, e.high, e.mde, e.seeds, e.side]
        for c in claims
        for e in c.effects
    ]
    return pd.DataFrame(rows, columns=[*EVIDENCE_COLUMNS, "interval"])


def seeds_text(regime: str, seeds: int) -> str:
    """An effect's seed count, and how many of them a study ran beyond its plan."""
    for entry in STUDIES.values():
        if (
            entry.extra_seeds
            and regime.startswith(f"{entry.name} study")
            and seeds > len(entry.seeds)
        ):
            return f"{seeds} ({seeds - len(entry.seeds)} beyond the plan, after a look)"
    return str(seeds)


def evidence_section(claims: list[Claim], out_dir: Path) -> list[str]:
    """Every effect the verdicts rest on, one row each, also written to `claims.csv`."""
    evidence = evidence_frame(claims)
    evidence.to_csv(out_dir / "claims.csv", index=False)
    if evidence.empty:
        return []
    rows = [
        [
            r.claim,
            r.regime,
            r.comparison,
            f"{r.effect:+.2f}",
            f"[{r.low:+.2f}, {r.high:+.2f}]",
            "" if np.isnan(r.mde) else f"{r.mde:.2f}",
            seeds_text(r.regime, r.seeds),
            r.interval,
        ]
        for r in evidence.itertuples()
    ]
    headers = ["claim", "regime", "comparison", "effect", "corrected 95% CI", "MDE"]
    return [
        "### The evidence, claim by claim",
        "",
        "Each effect a verdict rests on, oriented so that > 0 favours the claim "
        "(`claims.csv`); a claim with m effects has its intervals and MDEs at level "
        f"1 - {ALPHA:g}/m ({family_sizes(claims)}).",
        "",
        tabulate(
            rows, headers=[*headers, "seeds", "interval"], tablefmt="github", disable_numparse=True
        ),
        "",
    ]


def family_sizes(claims: list[Claim]) -> str:
    """`C1: m = 25, C2: m = 14, ...`: the number of effects each tested claim's correction
    counts (P: its table's, of which its own are the published column)."""
    return ", ".join(
        f"{c.key}: m = {c.family_size}"
        + (
            f" (its {len(c.effects)} effects are read off a table of {c.family_size})"
            if c.family_size != len(c.effects)
            else ""
        )
        for c in claims
        if c.effects
    )


def encoders(main: list[tuple[str, BlockAnalysis]], studies: list[StudyAnalysis]) -> str:
    """The models of the records the claims rest on: "the encoders `a` and `b`"."""
    models = {m for _, a in main for m in a.ok["model"]} | {s.model for s in studies}
    names = [f"`{m}`" for m in sorted(models)]
    if len(names) == 1:
        return f"the encoder {names[0]}"
    return "the encoders " + ", ".join(names[:-1]) + f" and {names[-1]}"


def not_yet_run(studies: list[StudyAnalysis]) -> str:
    """A sentence naming the claim regimes' studies that have no records yet, or ''."""
    have = {s.study for s in studies if not s.ok.empty}
    missing = [
        f"`{s.name}`" for s in STUDIES.values() if (s.regime or s.replaces) and s.name not in have
    ]
    return f" No records yet (not in these verdicts): {', '.join(missing)}." if missing else ""


def regimes_text() -> str:
    """Which records C1, C2 and C4 are judged on, from the study entries."""
    regime = [f"`{s.name}`" for s in STUDIES.values() if s.regime]
    own = ", ".join(regime[:-1]) + f" and {regime[-1]}" if len(regime) > 1 else "".join(regime)
    remakes = "".join(
        f"; and with each condition of `{s.name}` taking `{s.replaces}`'s place in the "
        "reference (against the reference's other methods)"
        for s in STUDIES.values()
        if s.replaces
    )
    return f"C1, C2 and C4 are judged in every main block; in the own cells of {own}{remakes}."


def claim_regimes(
    main: list[tuple[str, BlockAnalysis]], studies: list[StudyAnalysis]
) -> tuple[list[tuple[str, pd.DataFrame]], frozenset[str]]:
    """The regimes the claims on accuracy, cost and calibration are judged in: each main
    block, each regime study's own cells, and each condition of a study that remakes one
    method's runs, put in that method's place in the reference of the same model. Also
    the names of those remade regimes: their runs come from two sweeps, so their timings
    are not compared."""
    regimes = [(name, a.ok) for name, a in main if not a.ok.empty]
    remade: set[str] = set()
    reference = primary(main)
    for s in studies:
        entry = find_study(s.study)
        if entry is None or s.ok.empty:
            continue
        own = s.ok[s.ok.condition != CLEAN]
        if entry.regime and not own.empty:
            regimes.append((f"{s.study} study ({s.model}, {study_profile(s)})", own))
        if entry.replaces and reference is not None and reference[1].ok.model.iloc[0] == s.model:
            ref = reference[1].ok
            others = ref[ref.method != entry.replaces]
            remakes = own[own.method_name == entry.replaces]  # not the borrowed `none`
            for label, cell in remakes.groupby("condition", sort=False):
                in_place = cell.assign(method=entry.replaces, dataset=cell.base_dataset)
                frame = pd.concat([others, in_place[ref.columns.intersection(in_place.columns)]])
                name = (
                    f"{s.study} study, {entry.replaces} at {label} ({s.model}, {study_profile(s)})"
                )
                regimes.append((name, frame))
                remade.add(name)
    return regimes, frozenset(remade)


def regime_effects(
    main: list[tuple[str, BlockAnalysis]], studies: list[StudyAnalysis]
) -> pd.DataFrame:
    """Figure 1's rows: each regime's aggregate difference to `none` per method, with the
    regime's profile, seeds and the corrected test's MDE (the results page shows them)."""
    parts = [(name, profiles(a.ok), a.aggregates, {}) for name, a in main] + [
        (
            study_regime(s),
            study_profile(s),
            s.pooled,
            variant_names(s.ok),
        )
        for s in studies
        if (entry := find_study(s.study)) is None or entry.in_figure
    ]
    rows = [
        {
            "regime": name,
            "profile": profile,
            "method": names.get(r.method, r.method),
            "mean": r.mean,
            "low": r.corrected_low,
            "high": r.corrected_high,
            "mde": r.mde,
            "seeds": r.seeds,
        }
        for name, profile, table, names in parts
        if not table.empty
        for r in table.itertuples()
    ]
    return pd.DataFrame(rows)


def variant_names(ok: pd.DataFrame) -> dict[str, str]:
    """`amplify[alpha=1.0,...]` -> `amplify at Beta(1, 1), max trick`: a method variant that
    one study condition runs, named by that condition."""
    if ok.empty:
        return {}
    variants = ok[ok.method != ok.method_name].groupby("method")
    return {
        label: f"{part.method_name.iloc[0]} at {part.condition.iloc[0]}"
        for label, part in variants
        if part.condition.nunique() == 1
    }


def head_to_head_findings(per_dataset: pd.DataFrame, agg: pd.DataFrame, n: int) -> list[str]:
    """The head-to-head's lines: per-dataset differences that survive Holm, and each
    aggregate's equivalence."""
    significant = per_dataset[per_dataset.significant]
    lines = [
        f"- `{FOCUS}` differs from `{r.other}` on {r.dataset}: {r.diff:+.2f} points "
        f"(95% CI [{r.ci_low:+.2f}, {r.ci_high:+.2f}], Holm p = {fmt_p(r.p_holm)})."
        for r in significant.itertuples()
    ] or [f"- Per dataset, no difference survives Holm over the {n} tests."]
    return lines + [
        f"- Aggregate `{FOCUS}` - `{r.other}`: {r.equivalence} at ±{MARGIN:g} point; a "
        f"difference beyond {r.smallest_margin:.2f} points is excluded."
        for r in agg.itertuples()
    ]


def head_to_head_figure(agg: pd.DataFrame, out_dir: Path) -> list[str]:
    """Figure 2: the forest plot of the aggregates, and its caption."""
    forest_rows = agg.assign(
        label=[f"{FOCUS} - {o}" for o in agg.other],
        mean=agg["diff"],
        low=agg.corrected_low,
        high=agg.corrected_high,
    )
    figures.forest(
        forest_rows,
        "label",
        out_dir,
        "head_to_head",
        "accuracy points (Bonferroni-corrected 95% interval)",
    )
    return [
        "",
        "![Figure 2](head_to_head.png)",
        "",
        f"*Figure 2. `{FOCUS}` against every other method, aggregated over datasets: "
        f"the table's intervals, Bonferroni over its {len(agg)} comparisons (the head-to-head "
        "family). The claims correct over their own family, every effect of the claim, "
        "so their intervals are wider.* ([SVG](head_to_head.svg))",
    ]


def head_to_head_section(name: str, a: BlockAnalysis, out_dir: Path) -> list[str]:
    table = head_to_head(a.ok)
    if table.empty:
        return []
    table.to_csv(out_dir / "head_to_head.csv", index=False)
    agg = table[table.level == "aggregate"]
    per_dataset = table[table.level == "dataset"]
    n = int(per_dataset.p.notna().sum())
    rows = [
        [
            r.other,
            r.seeds,
            f"{r.diff:+.2f}{'*' if r.significant else ''}",
            f"[{r.corrected_low:+.2f}, {r.corrected_high:+.2f}]",
            fmt_p(r.p_holm),
            r.equivalence,
            f"{r.smallest_margin:.2f}",
        ]
        for r in agg.itertuples()
    ]
    lines = [
        f"## Head to head: `{FOCUS}` against every other method (primary family)",
        "",
        f"The seed paper claims `{FOCUS}` beats the other mixup methods; this is the "
        f"primary family of comparisons, in the {name} block. Per dataset: the paired "
        f"difference `{FOCUS}` - other over seeds, Holm over its {n} tests "
        f"(`head_to_head.csv`). Aggregate (below): the per-seed difference averaged over the "
        "datasets, its t-interval Bonferroni-corrected over the methods and Holm over them. "
        f"Equivalence (TOST, margin ±{MARGIN:g} point, Bonferroni over the same family as "
        f"the differences: alpha 0.05/{len(agg)} each side, so a 1 - 0.1/{len(agg)} "
        f"interval): *equivalent* when that interval lies inside ±{MARGIN:g}, *not "
        "equivalent* when it lies outside, otherwise *inconclusive*; *excluded beyond*: the "
        "smallest margin TOST accepts, so a difference larger than it in either direction "
        "is excluded. *Equivalent* can stand beside an interval that excludes 0: a "
        "difference can be real and still smaller than the margin.",
        "",
        tabulate(
            rows,
            headers=[
                "other",
                "seeds",
                f"{FOCUS} - other",
                "corrected 95% CI",
                "p (Holm)",
                f"±{MARGIN:g} pt",
                "excluded beyond",
            ],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
    lines += head_to_head_findings(per_dataset, agg, n)
    if not agg.empty:  # an aggregate needs two datasets
        lines += head_to_head_figure(agg, out_dir)
    return lines + [""]
