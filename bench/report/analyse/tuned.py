"""The tuned study: expected maximum validation accuracy against the budget of trials per
method and dataset (Dodge et al. 2019), the budget each method needs to reach `none`'s
tuned level, the compute each spent, and the winners' test verdicts at fresh seeds with
the report's one interval procedure. Test accuracy never enters the selection."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bench.report.analyse.analysis import per_seed_difference
from bench.report.analyse.claims import Claim, Effect, effect
from bench.report.analyse.expected_max import budget_to_reach, curve, expected_max

BASELINE, FOCUS = "none", "amplify"
REGIME = "tuned study (winners at fresh seeds)"
DEFAULTS = "reference at defaults (the tuned study's datasets)"
TUNED_C1 = "tuned: AMPLIFY reaches higher accuracy than the other mixup methods"
DEFAULTS_C1 = "at defaults: AMPLIFY reaches higher accuracy than the other mixup methods"


@dataclass
class TunedAnalysis:
    curves: pd.DataFrame  # dataset, method, budget, mean, sd (validation accuracy, %)
    trials: pd.DataFrame  # dataset, method, trials, best, budget_to_none, minutes, winner
    losses: pd.Series  # dataset -> the winners' median last-epoch training loss
    against_none: list[Effect] = field(default_factory=list)  # method - none, tested
    claim: Claim | None = None  # C1 on the tuned winners
    defaults_none: list[Effect] = field(default_factory=list)  # the same, at defaults
    defaults_claim: Claim | None = None  # C1 at defaults, on the same datasets
    # dataset, runs (trials/winners), best_epoch, late_gain, none_loss: converged?
    convergence: pd.DataFrame = field(default_factory=pd.DataFrame)
    finals: int = 0  # the winners' runs at the test seeds so far


def dataset_of(runs: pd.DataFrame) -> pd.Series:
    """Each run's dataset, without a study's condition label (`base_dataset` where set)."""
    return runs.base_dataset if "base_dataset" in runs else runs.dataset


def method_of(runs: pd.DataFrame) -> pd.Series:
    """Each run's method name, without its options (`method_name` where set)."""
    return runs.method_name if "method_name" in runs else runs.method


def validation_accuracy(runs: pd.DataFrame) -> pd.Series:
    """Each run's validation accuracy (%) at its selected epoch."""
    return runs.record.map(lambda r: 100 * r.result.metrics.validation.accuracy)


def winner_text(record) -> str:
    """The winning configuration: its learning rate and options."""
    options = ", ".join(f"{k}={v}" for k, v in record.spec.method_options)
    lr = f"lr={record.spec.settings.lr:g}"
    return f"{lr}, {options}" if options else lr


def searched(trials: pd.DataFrame) -> str:
    """What a method's trials varied, read off their specs: the learning rate, and the
    options its search space declares (none: "lr only")."""
    options = [dict(r.spec.method_options) for r in trials.record]
    keys = sorted({k for o in options for k in o})
    varied = [k for k in keys if len({repr(o.get(k)) for o in options}) > 1]
    return "lr, " + ", ".join(varied) if varied else "lr only (no declared search space)"


def trial_tables(trials: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The expected-max curves and one row per method and dataset."""
    trials = trials.assign(
        val=validation_accuracy(trials), method=method_of(trials), key=dataset_of(trials)
    )
    curve_rows, rows = [], []
    for dataset, part in trials.groupby("key"):
        values = {m: g.val.to_numpy() for m, g in part.groupby("method")}
        none_level = (
            expected_max(values[BASELINE], len(values[BASELINE]))[0] if BASELINE in values else None
        )
        for method, v in values.items():
            curve_rows += [
                {"dataset": dataset, "method": method, "budget": n, "mean": m, "sd": sd}
                for n, m, sd in curve(v)
            ]
            g = part[part.method == method]
            best = g.loc[g.val.idxmax()]
            rows.append(
                {
                    "dataset": dataset,
                    "method": method,
                    "trials": len(v),
                    "best": float(v.max()),
                    "budget_to_none": None
                    if none_level is None
                    else budget_to_reach(v, none_level),
                    "minutes": float(g.train_seconds.sum()) / 60,
                    "winner": winner_text(best.record),
                    "searched": searched(g),
                }
            )
    return pd.DataFrame(curve_rows), pd.DataFrame(rows)


def final_losses(finals: pd.DataFrame) -> pd.Series:
    """Per dataset, the winners' median last-epoch training loss."""
    loss = finals.record.map(lambda r: r.result.metrics.curves[-1].train_loss)
    return loss.groupby(dataset_of(finals).to_numpy()).median()


LATE = 3  # the last epochs whose validation gain tells whether training still improves


def convergence(trials: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, over some runs (every trial, or the winners): the median epoch of best
    validation accuracy, the median gain (points) of the last LATE epochs' best over the
    earlier epochs' best, and `none`'s median last-epoch training loss (plain cross-entropy,
    no mixed targets)."""
    trials = trials.assign(key=dataset_of(trials), method=method_of(trials))
    rows = []
    for dataset, part in trials.groupby("key"):
        curves = [r.result.metrics.curves for r in part.record]
        best_epoch = [max(c, key=lambda p: p.val_accuracy).epoch for c in curves]
        val = [[p.val_accuracy for p in c] for c in curves]
        late = [100 * (max(v[-LATE:]) - max(v[:-LATE])) for v in val if len(v) > LATE]
        loss = [
            r.result.metrics.curves[-1].train_loss for r in part[part.method == BASELINE].record
        ]
        rows.append(
            {
                "dataset": dataset,
                "epochs": max(len(c) for c in curves),
                "best_epoch": float(pd.Series(best_epoch).median()),
                "late_gain": float(pd.Series(late).median()) if late else float("nan"),
                "none_loss": float(pd.Series(loss).median()) if loss else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def tested(
    runs: pd.DataFrame, regime: str = REGIME, claim_text: str = TUNED_C1
) -> tuple[list[Effect], Claim | None]:
    """Each method against `none`, and AMPLIFY against each other mixup (C1), over the
    datasets, t-intervals over seeds Bonferroni-corrected per family."""
    ok = runs.assign(method=method_of(runs))
    methods = sorted(set(ok.method) - {BASELINE})
    if BASELINE not in set(ok.method):
        return [], None
    diffs = {m: per_seed_difference(ok, m, BASELINE) for m in methods}
    usable = {m: d for m, d in diffs.items() if len(d) >= 2}
    against_none = [
        effect(regime, f"{m} - none, points", d, len(usable), m) for m, d in usable.items()
    ]
    if FOCUS not in set(ok.method):
        return against_none, None
    others = [m for m in methods if m not in (FOCUS, "smooth")]
    c1 = {m: per_seed_difference(ok, FOCUS, m) for m in others}
    c1 = {m: d for m, d in c1.items() if len(d) >= 2}
    effects = [effect(regime, f"{FOCUS} - {m}, points", d, len(c1), m) for m, d in c1.items()]
    return against_none, Claim("C1", claim_text, effects)


def at_defaults(reference: pd.DataFrame, finals: pd.DataFrame) -> tuple[list[Effect], Claim | None]:
    """The same comparisons in the reference block (every method at its defaults), on the
    tuned study's datasets and methods, with the same interval procedure."""
    datasets, methods = set(dataset_of(finals)), set(method_of(finals))
    part = reference[reference.dataset.isin(datasets) & reference.method.isin(methods)]
    if part.empty:
        return [], None
    return tested(part, DEFAULTS, DEFAULTS_C1)


def analyse_tuned(
    trials: pd.DataFrame, finals: pd.DataFrame, reference: pd.DataFrame | None = None
) -> TunedAnalysis | None:
    """The tuned study's analysis, or None without trials; `reference`: the primary
    block's successful runs, for the verdicts at defaults beside the tuned ones."""
    if trials.empty:
        return None
    curves, table = trial_tables(trials)
    converged = convergence(trials).assign(runs="trials")
    if finals.empty:
        return TunedAnalysis(curves, table, pd.Series(dtype=float), convergence=converged)
    converged = pd.concat([converged, convergence(finals).assign(runs="winners")])
    against_none, claim = tested(finals)
    defaults = at_defaults(reference, finals) if reference is not None else ([], None)
    return TunedAnalysis(
        curves, table, final_losses(finals), against_none, claim, *defaults, converged, len(finals)
    )
