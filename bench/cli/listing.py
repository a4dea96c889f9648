"""What the CLI prints: the catalogue (--list), the plan, and the summary of a sweep."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

from bench.api.method_api import options_as_items
from bench.api.registry import create_method, method_class, method_names
from bench.core.errors import UserError
from bench.core.records import RunRecord
from bench.core.studies import STUDIES
from bench.run.datasets.registry import DatasetRegistry, load_dataset_cached
from bench.run.models import MODEL_ALIASES, load_backbone, resolve_model
from bench.sweep.planning import Plan
from bench.tune.sampling import space_text


def print_list(dataset_registry: DatasetRegistry) -> None:
    rows = []
    for name in method_names():
        cls = method_class(name)
        opts = create_method(name).options
        shown = ", ".join(f"{k}={v}" for k, v in options_as_items(opts)) or "-"
        rows.append([name, cls.description, shown])
    print(tabulate(rows, headers=["method", "mixes", "options (defaults)"]))
    print()
    rows = [[name, space_text(name)] for name in method_names()]
    print(tabulate(rows, headers=["method", "search space (--study tuned)"]))
    print()
    rows = []
    for entry in dataset_registry.entries.values():
        reason = entry.availability()
        sizes = "-"
        if reason is None and entry.kind != "hub":
            try:
                data = load_dataset_cached(entry)
                sizes = f"{len(data.train)}/{len(data.validation)}/{len(data.test)}"
                classes = data.num_labels
            except UserError as exc:
                reason = str(exc)
        classes = entry.num_labels if sizes == "-" else classes
        rows.append(
            [
                entry.name,
                entry.kind,
                classes if classes is not None else "?",
                sizes,
                entry.stands_in_for or "-",
                "yes" if reason is None else f"no: {reason}",
            ]
        )
    print(
        tabulate(
            rows,
            headers=[
                "dataset",
                "source",
                "classes",
                "train/val/test",
                "stands in for",
                "available",
            ],
        )
    )
    print()
    rows = [[a, t, pooler_of(a, t)] for a, t in MODEL_ALIASES.items()]
    print(tabulate(rows, headers=["model alias", "loads", "[CLS] pooler (--head published)"]))
    print()
    print(studies_table())


def pooler_of(alias: str, target: str) -> str:
    """Whether the alias's [CLS] pooler was trained, as a run's record would say it: read
    off the packaged weights; a hub model is checked when a run loads it."""
    if not target.startswith("packaged:"):
        return "from the hub: the record says (trained / untrained / initialised)"
    try:
        encoder, _ = load_backbone(resolve_model(alias))
    except UserError as exc:
        return f"not installed ({str(exc).split(':')[0]})"
    return f"{encoder.pooler_weights} ({encoder.pooler_evidence})"


def studies_table() -> str:
    """The named studies (--study NAME): question, grid and number of runs."""
    rows = [
        [
            study.name,
            study.question,
            " ".join(study.methods),
            " ".join(study.datasets),
            "; ".join(study.condition_texts()),
            " ".join(map(str, study.seeds)),
            study.runs,
        ]
        for study in STUDIES.values()
    ]
    return tabulate(
        rows,
        headers=["study", "question", "methods", "datasets", "conditions", "seeds", "runs"],
    )


def print_plan(plan: Plan, results_dir: Path, done_minutes: float | None = None) -> None:
    """The plan in one line; when every run has a record, how to train them afresh."""
    print(
        f"plan: {len(plan.todo)} run(s) to do, {len(plan.done)} already done in "
        f"{results_dir}/ (skipped: resume)"
    )
    if plan.done and not plan.todo:
        took = f" (their runs took {done_minutes:.3g} min in all, summed)" if done_minutes else ""
        print(
            f"  every run has a record already{took}; to train them afresh, leave these "
            "intact and add --results-dir my-results (or --force to overwrite them)"
        )
    by_reason: dict[str, list[str]] = defaultdict(list)
    for name, reason in plan.unavailable.items():
        by_reason[reason].append(name)
    for reason, names in by_reason.items():
        print(f"  skipped, cannot be loaded here ({reason}): {', '.join(names)}")
    sys.stdout.flush()


def summary_table(records: list[RunRecord]) -> str:
    """One row per run: dataset, method, seed, status, accuracy, macro-F1, ECE, time."""
    if not records:
        return "(no runs)"
    rows = []
    for r in sorted(records, key=lambda r: (r.spec.dataset, r.method_label, r.spec.seed)):
        res = r.result
        test = res.metrics.test if res is not None else None
        rows.append(
            [
                r.spec.dataset,
                r.method_label,
                r.spec.seed,
                r.status.value,
                "-" if test is None else f"{100 * test.accuracy:.2f}",
                "-" if test is None else f"{100 * test.macro_f1:.2f}",
                "-" if test is None else f"{test.ece:.3f}",
                "-" if res is None else f"{res.cost.train_seconds:.1f}",
                "-" if res is None else f"{1000 * res.cost.median_step_seconds:.0f}",
            ]
        )
    return tabulate(
        rows,
        headers=[
            "dataset",
            "method",
            "seed",
            "status",
            "acc %",
            "macro-F1 %",
            "ECE",
            "train s",
            "step ms",
        ],
    )
