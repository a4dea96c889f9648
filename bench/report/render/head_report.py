"""The report's section on the head study: every method against `none` under the same
head, every head against the suite's mean, and the published gain split into its head part
and its method part (`heads.csv` beside it)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.report.analyse.claims import Effect, describe
from bench.report.analyse.heads import SHORT, HeadAnalysis, effects_frame

# where a user with a network reruns the head study on BERT-base, whose pooler NSP trained
BERT_BASE_COMMANDS = (
    "python run_bench.py --model bert-base --profile quick --methods none word sentence "
    "amplify --datasets r52 20ng r8 rt-polarity --seeds 0 1 2 3 4 && "
    "python run_bench.py --study heads --model bert-base"
)


def pooler_states(ok: pd.DataFrame) -> str:
    """What the records say of the [CLS] pooler's weights where a head used it, counted."""
    found = Counter(
        f"{r.record.spec.model}: {r.record.result.model.pooler_weights}"
        for r in ok.itertuples()
        if r.record.result is not None and r.record.result.model.pooler_weights
    )
    return ", ".join(f"{k} ({n} runs)" for k, n in sorted(found.items())) or "none recorded"


def grid_rows(effects: list[Effect], columns: list[str]) -> list[list[str]]:
    """One row per method, one column per head."""
    by = {(e.against, e.regime): e for e in effects}
    methods = list(dict.fromkeys(e.against for e in effects))
    return [[m, *(describe(by[m, h]) if (m, h) in by else "-" for h in columns)] for m in methods]


def head_section(
    analysis: HeadAnalysis, ok: pd.DataFrame, planned_seeds: int, out_dir: Path
) -> list[str]:
    """The markdown of the section, and `heads.csv`."""
    pd.concat(
        [
            effects_frame(analysis.like_with_like).assign(table="method - none, same head"),
            effects_frame(analysis.head_effects).assign(table="head - mean head, same method"),
            effects_frame(analysis.split).assign(table="split of the published gain"),
        ]
    ).to_csv(out_dir / "heads.csv", index=False)
    return [*intro(analysis, planned_seeds), *tables(analysis), *caveat(ok)]


def intro(analysis: HeadAnalysis, planned_seeds: int) -> list[str]:
    return [
        "## What carries the published gain: heads crossed with methods",
        "",
        "The head study runs none, word, sentence and AMPLIFY under five heads on r52, 20ng, "
        "r8 and rt-polarity: the suite's masked *mean*, a linear layer on *[CLS]*, the "
        "encoder's [CLS] *pooler* (dense + tanh) as the checkpoint ships it (the authors' "
        "head of none, word and sentence), that pooler *re-initialised* N(0, 0.02), and the "
        "*plain mean* over every position of batches padded to `--max-length` (AMPLIFY's "
        "published head). Each entry: the mean over datasets of the paired difference per "
        f"seed (points), its t-interval over up to {analysis.seeds} seed(s) of "
        f"{planned_seeds} planned, Bonferroni-corrected over its table, and its MDE.",
        "",
    ]


def tables(analysis: HeadAnalysis) -> list[str]:
    """The three tables: like with like, each head's effect, the split of the gain."""
    heads = [h for h in SHORT if any(e.regime == h for e in analysis.like_with_like)]
    shifted = [h for h in SHORT if any(e.regime == h for e in analysis.head_effects)]
    split_rows = [[e.regime, e.what, describe(e)] for e in analysis.split]
    return [
        f"**Every method against `none` under the same head** (m = "
        f"{len(analysis.like_with_like)}):",
        "",
        tabulate(
            grid_rows(analysis.like_with_like, heads),
            headers=["method", *(SHORT[h] for h in heads)],
            tablefmt="github",
        ),
        "",
        f"**Every head against the mean head, for the same method** (m = "
        f"{len(analysis.head_effects)}):",
        "",
        tabulate(
            grid_rows(analysis.head_effects, shifted),
            headers=["method", *(SHORT[h] for h in shifted)],
            tablefmt="github",
        ),
        "",
        f"**The published gain, split** (m = {len(analysis.split)}): AMPLIFY under its plain "
        "mean against a baseline under the pooler is the sum of the baseline's move from the "
        "pooler to the plain mean (*AMPLIFY's head vs the baselines' head*) and AMPLIFY "
        "against the baseline at the plain mean (*AMPLIFY vs the baseline at AMPLIFY's head*); "
        "the same comparison at the pooler is shown too.",
        "",
        tabulate(split_rows, headers=["part", "contrast", "effect"], tablefmt="github"),
        "",
    ]


def caveat(ok: pd.DataFrame) -> list[str]:
    """What the records say of the pooler, and the command for an encoder whose was trained."""
    return [
        "**The pooler here is untrained**: the packaged MiniLM (all-MiniLM-L6-v2) was trained "
        "for mean pooling; its checkpoint ships the [CLS] pooler as initialised (bias exactly "
        "0, a weight spectrum of i.i.d. noise). The records: "
        f"{pooler_states(ok)} (records before 2026-12-07 say *checkpoint* for any weights "
        "loaded from it). So this finding is about this encoder; BERT-base's pooler was "
        "trained (next-sentence prediction). With the hub reachable: "
        f"`{BERT_BASE_COMMANDS}`. All numbers: `heads.csv`.",
        "",
    ]
