"""Which quick profile has the most power per minute? Train candidate designs under common
random numbers and measure the paired sd of (method - none) and the minimum detectable
effect (MDE) at 5 seeds.

    python benchmarks/design_study.py run                 # trains every design (resumes)
    python benchmarks/design_study.py analyse             # the table for benchmarks/README.md

Each design is a set of run_bench.py flags; its runs go to ROOT/<design>/ like any sweep,
so the study resumes. Test-set size is studied without training again: a design trained
with test sets of up to 2000 examples is also scored on a fixed random subset of 400 of
them. Minutes per seed of the default sweep (7 datasets x 6 methods) are estimated from the
median wall time of the design's runs (start to end of each record) times 42.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

ROOT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT_DIR))

from bench.core.records import RunRecord  # noqa: E402
from bench.core.store import Store  # noqa: E402
from bench.report.analyse.stats import paired_mde  # noqa: E402

DESIGNS: dict[str, list[str]] = {
    # 48 steps of 32: 512 examples x 3 epochs, the last epoch tested
    "512x3-last": [
        *("--epochs", "3", "--train-size", "512", "--batch-size", "32"),
        *("--selection", "last"),
    ],
    # the same examples seen as often, in 96 steps of 16 (about the same compute)
    "512x3-b16-last": [
        *("--epochs", "3", "--train-size", "512", "--batch-size", "16"),
        *("--selection", "last"),
    ],
    # as above, with the epoch picked on validation (200 examples) instead of the last
    "512x3-b16-bestval": [
        *("--epochs", "3", "--train-size", "512", "--batch-size", "16"),
        *("--selection", "best-val"),
    ],
    # fewer examples, more epochs: 384 x 4 in 96 steps of 16
    "384x4-b16-last": [
        *("--epochs", "4", "--train-size", "384", "--batch-size", "16"),
        *("--selection", "last"),
    ],
}
# every design names its batch size, epochs and selection: the quick profile it starts from
# has changed since the study (it is now the study's winner)
COMMON = ["--profile", "quick", "--test-size", "2000", "--no-report", "--no-progress"]
DATASETS = ["rt-polarity", "rt-fine", "r8"]
METHODS = ["none", "amplify", "word"]
SEEDS = [0, 1, 2, 3, 4]
SUBSET = 400  # the smaller test set scored from the same predictions
DEFAULT_SWEEP_RUNS = 42


def run(root: Path, designs: list[str], seeds: list[int]) -> None:
    """Seed-major, so that a study stopped part-way compares designs at equal seeds."""
    for seed in seeds:
        for name in designs:
            run_design(root, name, seed)


def run_design(root: Path, name: str, seed: int) -> None:
    cmd = [
        sys.executable,
        str(ROOT_DIR / "run_bench.py"),
        *COMMON,
        *DESIGNS[name],
        "--methods",
        *METHODS,
        "--datasets",
        *DATASETS,
        "--seeds",
        str(seed),
        "--results-dir",
        str(root / name),
    ]
    print(f"[{datetime.now():%H:%M:%S}] design {name} seed {seed}", flush=True)
    subprocess.run(cmd, check=False)


def accuracy_on(record: RunRecord, subset: int | None) -> float:
    pred, label = record.result.predictions.pred, record.result.predictions.label
    if subset is not None and subset < len(label):
        keep = np.random.default_rng(0).choice(len(label), size=subset, replace=False)
        pred, label = pred[keep], label[keep]
    return float(np.mean(pred == label) * 100)


def seconds(record: RunRecord) -> float:
    prov = record.provenance
    elapsed = datetime.fromisoformat(prov.finished) - datetime.fromisoformat(prov.started)
    return elapsed.total_seconds()


def analyse_design(folder: Path, subset: int | None) -> tuple[pd.DataFrame, float, float]:
    """Per (dataset, method): paired sd and MDE at the seeds present; mean run seconds and
    the share of runs whose model predicts fewer than half the classes."""
    records = [r for r in Store(folder).records(warn=False) if r.ok]
    rows = []
    for r in records:
        pred = r.result.predictions.pred
        rows.append(
            {
                "dataset": r.spec.dataset,
                "method": r.spec.method,
                "seed": r.spec.seed,
                "accuracy": accuracy_on(r, subset),
                "seconds": seconds(r),
                "degenerate": len(np.unique(pred)) < r.result.data.num_labels / 2,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(), float("nan"), float("nan")
    wide = frame.pivot_table(index=["dataset", "seed"], columns="method", values="accuracy")
    out = []
    for dataset, block in wide.groupby(level="dataset"):
        for method in [m for m in METHODS if m != "none" and m in block]:
            diff = (block[method] - block["none"]).dropna()
            sd = float(diff.std(ddof=1)) if len(diff) > 1 else float("nan")
            out.append(
                {
                    "dataset": dataset,
                    "method": method,
                    "seeds": len(diff),
                    "none": float(block["none"].mean()),
                    "mean_diff": float(diff.mean()),
                    "sd_diff": sd,
                    "mde": paired_mde(sd, len(diff)),
                    "mde_at_5": paired_mde(sd, 5),
                }
            )
    # the median run (not the mean): robust to runs slowed by other work on the machine
    return pd.DataFrame(out), float(frame["seconds"].median()), float(frame["degenerate"].mean())


def analyse(root: Path) -> None:
    summary, details = [], []
    for name in DESIGNS:
        if not (root / name / "runs").is_dir():
            continue
        for subset in (None, SUBSET):
            table, mean_seconds, degenerate = analyse_design(root / name, subset)
            if table.empty:
                continue
            label = f"{name}, test {'2000' if subset is None else subset}"
            minutes = mean_seconds * DEFAULT_SWEEP_RUNS / 60
            summary.append(
                [
                    label,
                    f"{minutes:.1f}",
                    int(table["seeds"].min()),
                    f"{table['sd_diff'].median():.2f}",
                    f"{table['mde'].median():.2f}",
                    f"{table['mde_at_5'].median():.2f}",
                    f"{table['mde_at_5'].max():.2f}",
                    f"{degenerate:.0%}",
                ]
            )
            details.append(table.assign(design=label))
    print(
        tabulate(
            summary,
            headers=[
                "design",
                "min/seed (est.)",
                "seeds",
                "median sd",
                "median MDE",
                "median MDE at 5 seeds",
                "max MDE at 5 seeds",
                "degenerate runs",
            ],
            tablefmt="github",
        )
    )
    print()
    frame = pd.concat(details)
    print(frame.round(2).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("run", "analyse"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/design-study"))
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    parser.add_argument("--seeds", nargs="+", type=int, default=SEEDS)
    args = parser.parse_args()
    if args.action == "run":
        run(args.root, args.designs, args.seeds)
    else:
        analyse(args.root)


if __name__ == "__main__":
    main()
