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
from bench.report.analyse.analysis import BlockAnalysis
from bench.report.analyse.claims import (
    CONTRADICTED,
    EQUIVALENT,
    INCONCLUSIVE,
    RULE,
    SUPPORTED,
    Claim,
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
    name: str, a: BlockAnalysis, claims: list[Claim], effects: pd.DataFrame
) -> list[str]:
    ok = a.ok
    settings = ok.record.iloc[0].spec.settings
    agg = a.aggregates
    above = agg[agg.corrected_low > 0].method.tolist() if not agg.empty else []
    below = agg[agg.corrected_high < 0].method.tolist() if not agg.empty else []
    focus = agg[agg.method == FOCUS] if not agg.empty else agg
    focus_text = (
        f" `{FOCUS}` - `none`: {focus['mean'].iloc[0]:+.2f} points "
        f"[{focus.corrected_low.iloc[0]:+.2f}, {focus.corrected_high.iloc[0]:+.2f}]."
        if not focus.empty
        else ""
    )
    if above:
        verdict = f"above `none`: {', '.join(above)}"
    else:
        verdict = "no method is above `none`"
    if below:
        verdict += f"; below it: {', '.join(below)}"
    return [
        "## Summary",
        "",
        *[f"- {plain_sentence(c)}" for c in claims],
        "",
        tabulate(
            [[c.key, f"**{c.verdict}**", c.reason()] for c in claims],
            headers=["claim", "verdict", "why (the rule is under the claims section)"],
            tablefmt="github",
        ),
        "",
        f"- **Compared**: {', '.join(a.methods)} through one training harness, paired by "
        f"seed, on {ok.dataset.nunique()} packaged stand-in datasets x "
        f"{ok.seed.nunique()} seeds ({len(ok)} runs).",
        f"- **Regime**, the {name}: {settings.train_size or 'all'} training examples, "
        f"{settings.epochs} epochs of batch {settings.batch_size}, max length "
        f"{settings.max_length}, {settings.precision}; a small encoder, a short schedule.",
        f"- **Finding**: {verdict} (aggregate over datasets, t-intervals over seeds, "
        f"Bonferroni-corrected over the methods).{focus_text} Sections below give every "
        "claim's test.",
        *across_regimes(effects),
        "- **The seed paper's claims** (next section, over every regime the records cover): "
        + "; ".join(f"{c.key} *{c.verdict}*" for c in claims)
        + ".",
        "",
    ]


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
) -> list[str]:
    rows = [[c.key, c.text, f"**{c.verdict}**", c.reason()] for c in claims]
    lines = [
        "## The seed paper's claims, tested",
        "",
        "Claims of the AMPLIFY abstract (Yang & Xiang, arXiv 2309.12689), each tested on the "
        "records below. " + RULE + " Intervals are t-intervals over seeds of the "
        "dataset-averaged paired difference; MDE: the smallest difference the corrected "
        "test would detect (power 0.8). "
        "C2 compares median step times (log ratio; > 0: AMPLIFY cheaper). "
        + regimes_text()
        + " *Why* counts the intervals on each side of 0 and names the clearest deciding one "
        "(farthest from 0); every effect is listed under *The evidence* below.",
        "",
        tabulate(rows, headers=["", "claim", "verdict", "why"], tablefmt="github"),
        "",
        "**Scope**: stand-in datasets (not the paper's files), "
        + encoders(main, studies)
        + ", short schedules or small training sets on a CPU; the paper's regime (BERT-base "
        "on the full training sets for 10 epochs) is not run here. A verdict holds for the "
        "regimes listed, not beyond them." + not_yet_run(studies),
        "",
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
    return lines + evidence_section(claims, out_dir)


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
