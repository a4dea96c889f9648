"""The tuned study's plan: every trial (method x dataset x trial k), then, for each method
and dataset whose trials all have records, its winner on validation retrained at the
study's seeds. Planned again after each phase, so one command runs both and a killed
study resumes where it stopped."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bench.api.registry import method_class
from bench.core.config import RunSpec
from bench.core.records import RunStatus
from bench.core.store import Store, read_record
from bench.core.studies import Study
from bench.run.datasets.registry import DatasetRegistry
from bench.sweep.planning import Plan, SweepRequest, make_plan, merge_plans
from bench.tune.sampling import LR_KEY, draw_trials, sampler_seed


@dataclass(frozen=True)
class Cell:
    """One method on one dataset: its trials' configurations, in draw order."""

    method: str
    dataset: str
    configs: tuple[dict[str, Any], ...]


def cells(study: Study) -> list[Cell]:
    """Every method x dataset of the study with its drawn trial configurations."""
    return [
        Cell(
            m, d, tuple(draw_trials(method_class(m).search_space, study.trials, sampler_seed(m, d)))
        )
        for d in study.datasets
        for m in study.methods
    ]


def request(
    study: Study, cell: Cell, config: dict[str, Any], seeds: tuple[int, ...], model: str
) -> SweepRequest:
    """The sweep request of one configuration of a cell at `seeds`."""
    options = {k: v for k, v in config.items() if k != LR_KEY}
    return SweepRequest(
        methods=(cell.method,),
        datasets=(cell.dataset,),
        model=model,
        seeds=seeds,
        profile=study.profile,
        overrides={**study.conditions[0], LR_KEY: config[LR_KEY]},
        typed_options={cell.method: options} if options else {},
        study=study.name,
    )


def winner(store: Store, trial_specs: list[RunSpec]) -> int | None:
    """The index of the trial with the best validation accuracy (the first on ties), once
    every trial has a record; None before (or when no trial ended ok)."""
    best, best_index = -1.0, None
    for index, spec in enumerate(trial_specs):
        path = store.path_for(spec)
        record = read_record(path, warn=False) if path.is_file() else None
        if record is None:
            return None
        if record.status == RunStatus.OK and record.result is not None:
            value = record.result.metrics.validation.accuracy
            if value > best:
                best, best_index = value, index
    return best_index


def tuned_plan(
    study: Study,
    dataset_registry: DatasetRegistry,
    store: Store,
    seeds: tuple[int, ...] = (),
    model: str | None = None,
    force: bool = False,
    retry_failed: bool = False,
) -> Plan:
    """The trials, and the winners' runs at the study's seeds (or `seeds`) where every
    trial of their cell has a record."""
    model = model or study.model
    plans = []
    for cell in cells(study):
        trial_plans = [
            make_plan(
                with_flags(request(study, cell, config, (seed,), model), force, retry_failed),
                dataset_registry,
                store,
            )
            for config, seed in zip(cell.configs, study.trial_seeds, strict=True)
        ]
        plans += trial_plans
        index = winner(store, [p.specs[0] for p in trial_plans if p.specs])
        if index is not None:
            final = request(study, cell, cell.configs[index], seeds or study.seeds, model)
            plans.append(make_plan(with_flags(final, force, retry_failed), dataset_registry, store))
    return merge_plans(plans)  # seed-major: the winners' runs first, then trial by trial


def with_flags(request_: SweepRequest, force: bool, retry_failed: bool) -> SweepRequest:
    return replace(request_, force=force, retry_failed=retry_failed)
