"""The report's section on the tuned study: the trials per method and dataset, the
expected-maximum validation curves (Figure), the budget each method needs to reach tuned
`none`, the winners' training loss, and their test verdicts (`tuned_trials.csv`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tabulate import tabulate

from bench.report.analyse.claims import describe
from bench.report.analyse.tuned import TunedAnalysis
from bench.report.render import figures

FIGURE = "tuned_expected_max"


def tuned_sentence(a: TunedAnalysis) -> str:
    """One plain line for the first screen: what tuned methods do against tuned `none`."""
    if not a.against_none:
        done = int(a.trials.trials.sum())
        return f"trials so far: {done}; no winner retrained at the test seeds yet."
    above = [e.against for e in a.against_none if e.side == "above 0"]
    below = [e.against for e in a.against_none if e.side == "below 0"]
    told = ", ".join(f"{e.against} {describe(e).split(', MDE')[0]}" for e in a.against_none)
    verdict = (
        f"above tuned `none`: {', '.join(above) or 'no method'}; below it: "
        f"{', '.join(below) or 'no method'}"
    )
    c1 = f"; C1 tuned: *{a.claim.verdict}*" if a.claim is not None and a.claim.effects else ""
    return f"{verdict} ({told}, points){c1}."


def tuned_section(a: TunedAnalysis, out_dir: Path, planned_trials: int) -> list[str]:
    """The markdown of the section, its CSV and its figure."""
    a.trials.to_csv(out_dir / "tuned_trials.csv", index=False)
    figures.expected_max_curves(a.curves, out_dir, FIGURE)
    rows = trial_rows(a, planned_trials)
    lines = [
        "## Every method at its best: the tuned study",
        "",
        f"**Finding**: {tuned_sentence(a)}",
        "",
        "Equal budgets: every method, `none` and `smooth` included, gets the same number of "
        "trials, i.i.d. draws from its declared search space and the learning rate (Optuna's "
        "seeded RandomSampler); 10 epochs, the epoch tested picked on validation; the trial "
        "with the best validation accuracy is retrained at seeds 0-4 and tested. *budget to "
        "reach none*: the smallest number of trials whose expected maximum validation "
        "accuracy reaches tuned `none`'s (with all its trials); *minutes*: the trials' "
        "training time summed (the compute each method spent).",
        "",
        tabulate(
            rows,
            headers=[
                "dataset",
                "method",
                "trials",
                "best val %",
                "budget to reach none",
                "minutes",
                "winner",
                "searched",
            ],
            tablefmt="github",
            disable_numparse=True,
        ),  # fmt: skip
        "",
        "*searched*: what a method's trials varied besides the learning rate, from its "
        "module's search space (`python run_bench.py --list` prints every space).",
        "",
        f"![Expected maximum validation accuracy]({FIGURE}.png)",
        "",
        "*Expected maximum validation accuracy after n trials (Dodge et al. 2019), with a band "
        f"of one standard deviation, per dataset and method.* ([SVG]({FIGURE}.svg))",
        "",
    ]
    if not a.losses.empty:
        losses = ", ".join(f"{d} {v:.3f}" for d, v in a.losses.items())
        lines += [f"**Training loss at the last epoch** (winners, median): {losses}.", ""]
    if a.against_none:
        lines += [
            "**Tuned against tuned `none`** (test accuracy, mean over datasets per seed, "
            f"Bonferroni over {len(a.against_none)} methods): "
            + "; ".join(f"{e.against} {describe(e)}" for e in a.against_none)
            + ".",
            "",
        ]
    if a.claim is not None and a.claim.effects:
        lines += [f"**C1, tuned**: *{a.claim.verdict}*: {a.claim.reason()}.", ""]
    return lines


def trial_rows(a: TunedAnalysis, planned_trials: int) -> list[list]:
    """One row per dataset and method of the trials table."""
    return [
        [
            r.dataset,
            r.method,
            f"{r.trials} of {planned_trials}",
            f"{r.best:.1f}",
            "-"
            if r.budget_to_none is None or np.isnan(r.budget_to_none)
            else int(r.budget_to_none),
            f"{r.minutes:.1f}",
            r.winner,
            r.searched,
        ]
        for r in a.trials.itertuples()
    ]
