"""The report's section on the tuned study: the trials per method and dataset, the
expected-maximum validation curves (Figure), the budget each method needs to reach tuned
`none`, the winners' training loss, and their test verdicts (`tuned_trials.csv`,
`tuned_curves.csv`)."""

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
        if not a.finals:
            return f"trials so far: {done}; no winner retrained at the test seeds yet."
        return (
            f"trials so far: {done}; winners retrained so far: {a.finals} run(s), too few "
            "for a verdict (each needs two seeds of the method and of `none`)."
        )
    above = [e.against for e in a.against_none if e.side == "above 0"]
    below = [e.against for e in a.against_none if e.side == "below 0"]
    told = ", ".join(f"{e.against} {describe(e).split(', MDE')[0]}" for e in a.against_none)
    verdict = (
        f"above tuned `none`: {', '.join(above) or 'no method'}; below it: "
        f"{', '.join(below) or 'no method'}"
    )
    c1 = ""
    if a.claim is not None and a.claim.effects:
        c1 = f"; C1 tuned: *{a.claim.verdict}*"
        if a.defaults_claim is not None and a.defaults_claim.effects:
            c1 += f" (at defaults on the same datasets: *{a.defaults_claim.verdict}*)"
    return f"{verdict} ({told}, points){c1}."


def tuned_section(a: TunedAnalysis, out_dir: Path, planned_trials: int) -> list[str]:
    """The markdown of the section, its CSV and its figure."""
    a.trials.to_csv(out_dir / "tuned_trials.csv", index=False)
    a.curves.to_csv(out_dir / "tuned_curves.csv", index=False)
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
    lines += convergence_lines(a)
    if not a.losses.empty:
        losses = ", ".join(f"{d} {v:.3f}" for d, v in a.losses.items())
        lines += [f"**Training loss at the last epoch** (winners, median): {losses}.", ""]
    if a.against_none:
        lines += verdict_lines(a)
    return lines


def convergence_lines(a: TunedAnalysis) -> list[str]:
    """Whether the schedule converged, per dataset, over the trials and the winners."""
    if a.convergence.empty:
        return []
    return [
        "**Has the schedule converged?** Per dataset, over every trial and over the "
        "winners' runs at seeds 0-4: the median epoch of best validation accuracy, the "
        "median gain of the last 3 epochs' best validation accuracy over the earlier "
        "epochs' best (points; near 0: no longer improving), and `none`'s median "
        "last-epoch training loss (plain cross-entropy; the mixup methods' loss is on "
        "mixed targets).",
        "",
        tabulate(
            [
                [
                    r.dataset,
                    r.runs,
                    r.epochs,
                    f"{r.best_epoch:g}",
                    "-" if np.isnan(r.late_gain) else f"{r.late_gain:+.1f}",
                    "-" if np.isnan(r.none_loss) else f"{r.none_loss:.3g}",
                ]
                for r in a.convergence.sort_values(["dataset", "runs"]).itertuples()
            ],
            headers=["dataset", "runs", "epochs", "best-val epoch", "late gain", "none's loss"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]


def verdict_lines(a: TunedAnalysis) -> list[str]:
    """Each comparison tuned beside at defaults (the reference on the same datasets), and
    C1 both ways: the same t-interval over seeds, Bonferroni within each family."""
    defaults = {e.what: e for e in a.defaults_none}
    if a.defaults_claim is not None:
        defaults |= {e.what: e for e in a.defaults_claim.effects}
    tuned = list(a.against_none) + (list(a.claim.effects) if a.claim is not None else [])
    rows = [
        [
            e.what.removesuffix(", points"),
            f"{describe(defaults[e.what])} ({defaults[e.what].seeds} seeds)"
            if e.what in defaults
            else "-",
            f"{describe(e)} ({e.seeds} seeds)",
        ]
        for e in tuned
    ]
    lines = [
        "**Tuned beside at defaults** (test accuracy, the per-seed mean over the tuned "
        "study's datasets; t-interval over seeds, Bonferroni over each family: the methods "
        "against `none`, and AMPLIFY against each other mixup for C1). *At defaults*: the "
        "reference block on the same datasets (its profile and seeds); *tuned*: each "
        "winner retrained at seeds 0-4.",
        "",
        tabulate(
            rows,
            headers=["comparison", "at defaults", "tuned winners"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
    if a.claim is not None and a.claim.effects:
        before = (
            f"at defaults *{a.defaults_claim.verdict}*, "
            if a.defaults_claim is not None and a.defaults_claim.effects
            else ""
        )
        lines += [
            f"**C1, tuned**: {before}tuned *{a.claim.verdict}*: {a.claim.reason()}.",
            "",
        ]
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
