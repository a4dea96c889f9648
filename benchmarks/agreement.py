"""Agreement of two training settings on the same cells (run on demand, not a test): does a
faster setting (bf16, fused AdamW) tell the same story as fp32? Reads committed records.

    python benchmarks/agreement.py [--results results] [--datasets rt-polarity rt-fine r8]
        [--methods amplify word] [--fast bf16+adamw-fused] [--reference fp32+adamw]

Per (dataset, method): mean accuracy under each setting, the paired difference to `none`
with its 95% t-interval under each, whether each difference lies inside the other's
interval, the paired sd of that difference (does the fast setting add noise?) and the MDE
at the seeds both have. Prints a markdown table and a one-line verdict.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.core.config import PROFILES
from bench.core.store import Store
from bench.report.analyse.stats import paired_mde, paired_t


def setting_label(record) -> str:
    settings = record.spec.settings
    return f"{settings.precision}+{settings.optimizer}"


def frame(results: Path) -> pd.DataFrame:
    rows = []
    quick = PROFILES["quick"]
    for record in Store(results).records(warn=False):
        if not record.ok or record.method_label != record.spec.method:
            continue
        settings = dataclasses.replace(
            record.spec.settings, precision=quick.precision, optimizer=quick.optimizer
        )
        if settings != quick:
            continue
        rows.append(
            {
                "dataset": record.spec.dataset,
                "method": record.spec.method,
                "seed": record.spec.seed,
                "setting": setting_label(record),
                "accuracy": 100 * record.result.metrics.test.accuracy,
                "train_seconds": record.result.cost.train_seconds,
            }
        )
    return pd.DataFrame(rows)


def agreement_row(dataset, method, means, ref, fast, both, args) -> list[str]:
    """One cell's row: accuracy, each setting's difference to none with its interval,
    whether each lies inside the other's, paired sd, MDE and seeds."""
    return [
        dataset,
        method,
        f"{means[args.reference]:.2f}",
        f"{means[args.fast]:.2f}",
        f"{ref.mean:+.2f} [{ref.low:+.2f}, {ref.high:+.2f}]",
        f"{fast.mean:+.2f} [{fast.low:+.2f}, {fast.high:+.2f}]",
        "yes" if both else "no",
        f"{ref.sd:.2f} / {fast.sd:.2f}",
        f"{paired_mde(ref.sd, ref.n):.2f} / {paired_mde(fast.sd, fast.n):.2f}",
        f"{ref.n} / {fast.n}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--datasets", nargs="+", default=["rt-polarity", "rt-fine", "r8"])
    parser.add_argument("--methods", nargs="+", default=["amplify", "word"])
    parser.add_argument("--fast", default="bf16+adamw-fused")
    parser.add_argument("--reference", default="fp32+adamw")
    args = parser.parse_args()
    runs = frame(args.results)
    runs = runs[runs.setting.isin([args.fast, args.reference])]
    table, inside, sds = [], [], {args.reference: [], args.fast: []}
    for dataset in args.datasets:
        cell = runs[runs.dataset == dataset].pivot_table(
            index="seed", columns=["setting", "method"], values="accuracy"
        )
        for method in args.methods:
            tests = {}
            for setting in (args.reference, args.fast):
                pair = cell[[(setting, method), (setting, "none")]].dropna()
                tests[setting] = paired_t(pair.iloc[:, 0], pair.iloc[:, 1])
                sds[setting].append(tests[setting].sd)
            ref, fast = tests[args.reference], tests[args.fast]
            both = ref.low <= fast.mean <= ref.high and fast.low <= ref.mean <= fast.high
            inside.append(both)
            means = {s: cell[(s, method)].mean() for s in (args.reference, args.fast)}
            table.append(agreement_row(dataset, method, means, ref, fast, both, args))
    headers = [
        "dataset",
        "method",
        f"acc {args.reference}",
        f"acc {args.fast}",
        f"diff to none, {args.reference} [95% CI]",
        f"diff to none, {args.fast} [95% CI]",
        "each inside the other's CI",
        "paired sd (ref / fast)",
        "MDE (ref / fast)",
        "seeds",
    ]
    print(tabulate(table, headers=headers, tablefmt="github"))
    none = runs[runs.method == "none"].groupby(["dataset", "setting"]).accuracy.mean().unstack()
    print()
    print(tabulate(none.round(2), headers="keys", tablefmt="github"))
    timing = runs[runs.dataset.isin(args.datasets)].groupby("setting").train_seconds.median()
    print(
        f"\nagreement: {sum(inside)} of {len(inside)} differences inside each other's "
        f"interval; median paired sd {np.median(sds[args.reference]):.2f} ({args.reference}) "
        f"vs {np.median(sds[args.fast]):.2f} ({args.fast}); median train seconds "
        + ", ".join(f"{s} {t:.1f}" for s, t in timing.items())
    )


if __name__ == "__main__":
    main()
