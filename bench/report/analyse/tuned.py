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
TUNED_C1 = "tuned: AMPLIFY reaches higher accuracy than the other mixup methods"


@dataclass
class TunedAnalysis:
    curves: pd.DataFrame  # dataset, method, budget, mean, sd (validation accuracy, %)
    trials: pd.DataFrame  # dataset, method, trials, best, budget_to_none, minutes, winner
    losses: pd.Series  # dataset -> the winners' median last-epoch training loss
    against_none: list[Effect] = field(default_factory=list)  # method - none, tested
    claim: Claim | None = None  # C1 on the tuned winners


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
    trials = trials.assign(val=validation_accuracy(trials), method=trials.method_name)
    curve_rows, rows = [], []
    for dataset, part in trials.groupby("base_dataset" if "base_dataset" in trials else "dataset"):
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
    key = finals.base_dataset if "base_dataset" in finals else finals.dataset
    return loss.groupby(key.to_numpy()).median()


def tested(finals: pd.DataFrame) -> tuple[list[Effect], Claim | None]:
    """Each tuned method against tuned `none`, and AMPLIFY against each other tuned mixup
    (C1), over the datasets, t-intervals over seeds Bonferroni-corrected per family."""
    ok = finals.assign(method=finals.method_name)
    methods = sorted(set(ok.method) - {BASELINE})
    if BASELINE not in set(ok.method):
        return [], None
    diffs = {m: per_seed_difference(ok, m, BASELINE) for m in methods}
    usable = {m: d for m, d in diffs.items() if len(d) >= 2}
    against_none = [
        effect(REGIME, f"{m} - none, points", d, len(usable), m) for m, d in usable.items()
    ]
    if FOCUS not in set(ok.method):
        return against_none, None
    others = [m for m in methods if m not in (FOCUS, "smooth")]
    c1 = {m: per_seed_difference(ok, FOCUS, m) for m in others}
    c1 = {m: d for m, d in c1.items() if len(d) >= 2}
    effects = [effect(REGIME, f"{FOCUS} - {m}, points", d, len(c1), m) for m, d in c1.items()]
    return against_none, Claim("C1", TUNED_C1, effects)


def analyse_tuned(trials: pd.DataFrame, finals: pd.DataFrame) -> TunedAnalysis | None:
    """The tuned study's analysis, or None without trials."""
    if trials.empty:
        return None
    curves, table = trial_tables(trials)
    against_none, claim = tested(finals) if not finals.empty else ([], None)
    losses = final_losses(finals) if not finals.empty else pd.Series(dtype=float)
    return TunedAnalysis(curves, table, losses, against_none, claim)
