"""Planning: a typed sweep request -> the run specs to do and those already done.

Everything that can be checked without training is checked here, before the first run:
names, options, settings, and (once the model's config is known) whether each method can
mix in that model.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.api.method_api import MethodOptions, options_as_items
from bench.api.registry import create_method, method_class, method_names
from bench.core.config import PROFILE_SEEDS, RunSpec, TrainSettings, profile_settings
from bench.core.errors import UserError
from bench.core.records import FAILED_STATUSES, RunStatus
from bench.core.store import Store
from bench.core.studies import Study, get_study
from bench.run.datasets.hub import LOCAL_COPY_HINT
from bench.run.datasets.registry import DatasetRegistry
from bench.run.models import Classifier, encoder_pooler

# --lambda-mode matched: the shared lambda options at their defaults (Beta(0.2, 0.2), one
# draw, the max trick), whatever a method's own defaults
MATCHED_LAMBDA = {f.name: f.default for f in dataclasses.fields(MethodOptions)}


@dataclass(frozen=True)
class SweepRequest:
    """What a user asked for, in typed form (the CLI builds it from its flags)."""

    methods: tuple[str, ...] = ("all",)
    datasets: tuple[str, ...] = ("all",)
    model: str = "minilm-l6"
    seeds: tuple[int, ...] = ()  # empty: the profile's
    profile: str = "quick"
    overrides: dict[str, Any] = field(default_factory=dict)  # TrainSettings fields
    options: tuple[str, ...] = ()  # METHOD.KEY=VALUE, as the command line gives them
    # typed method options, as a study's condition holds them: {method: {key: value}}
    typed_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    study: str = ""  # the named study this request is a condition of ("": none)
    alpha: float | None = None
    lambda_mode: str = "default"  # or "matched"
    force: bool = False
    retry_failed: bool = False

    def __post_init__(self) -> None:
        if self.alpha is not None and not (math.isfinite(self.alpha) and self.alpha > 0):
            raise UserError(f"--alpha {self.alpha}: the Beta parameter must be finite and > 0")
        if self.lambda_mode not in ("default", "matched"):
            raise UserError(f"--lambda-mode {self.lambda_mode!r}: choose default or matched")
        if self.force and self.retry_failed:
            raise UserError("--force and --retry-failed do not go together: choose one")

    def settings(self) -> TrainSettings:
        """The profile's settings with the overrides; a per-class budget replaces the
        profile's training subsample (and refuses an explicit --train-size)."""
        overrides = dict(self.overrides)
        if overrides.get("per_class") is not None:  # TrainSettings refuses both given
            overrides = {"train_size": None, **overrides}
            return dataclasses.replace(profile_settings(self.profile), **overrides)
        return profile_settings(self.profile, **overrides)


@dataclass
class Plan:
    todo: list[RunSpec] = field(default_factory=list)
    done: list[RunSpec] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def specs(self) -> list[RunSpec]:
        return self.todo + self.done


def expand_methods(names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for name in names:
        for item in method_names() if name == "all" else [name]:
            method_class(item)  # unknown: error with the known ones and a suggestion
            if item not in out:
                out.append(item)
    return out


def parse_method_options(pairs: tuple[str, ...], methods: list[str]) -> dict[str, dict[str, str]]:
    """{method: {key: text}} from METHOD.KEY=VALUE pairs, each for a chosen method."""
    options: dict[str, dict[str, str]] = defaultdict(dict)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        method, dot, name = key.partition(".")
        if not sep or not dot or not method or not name:
            raise UserError(f"--opt {pair!r}: expected METHOD.KEY=VALUE, e.g. tmix.layers=7,9,12")
        method_class(method)
        if method not in methods:
            raise UserError(f"--opt {pair!r}: method {method!r} is not in --methods")
        options[method][name] = value
    return options


def resolve_datasets(
    names: tuple[str, ...], dataset_registry: DatasetRegistry
) -> tuple[list[str], dict[str, str]]:
    """The datasets to run, and those skipped with the reason (only for 'all')."""
    chosen: list[str] = []
    unavailable: dict[str, str] = {}
    for name in names:
        if name == "all":
            for entry in dataset_registry.entries.values():
                reason = entry.availability()
                if reason is None:
                    chosen.append(entry.name)
                else:
                    unavailable[entry.name] = reason
            continue
        entry = dataset_registry.get(name)
        reason = entry.availability()
        if reason is not None:
            hint = f"; {LOCAL_COPY_HINT.format(name=name)}" if entry.kind == "hub" else ""
            raise UserError(f"dataset {name!r} cannot be loaded here: {reason}{hint}")
        chosen.append(name)
    return list(dict.fromkeys(chosen)), unavailable


def method_options(request: SweepRequest, methods: list[str]) -> dict[str, tuple]:
    """The validated, complete options of every chosen method (defaults included)."""
    raw_options = parse_method_options(request.options, methods)
    out = {}
    for method in methods:
        raw: dict[str, object] = {}
        cls = method_class(method)
        if cls.mixes and cls.draws_lambda:
            if request.lambda_mode == "matched":
                raw.update(MATCHED_LAMBDA)
            if request.alpha is not None:
                raw["alpha"] = request.alpha
        raw.update(raw_options.get(method, {}))
        raw.update(request.typed_options.get(method, {}))
        out[method] = options_as_items(create_method(method, raw).options)
    if request.alpha is not None and not any(
        method_class(m).mixes and method_class(m).draws_lambda for m in methods
    ):
        raise UserError(
            f"--alpha {request.alpha}: none of the chosen methods ({', '.join(methods)}) "
            "draws lambda from Beta(alpha, alpha); drop --alpha or add such a method"
        )
    return out


def check_protocol(settings: TrainSettings, methods: list[str]) -> None:
    """The authors' protocol settings apply only to methods they are defined for."""
    for method in methods:
        cls = method_class(method)
        if settings.label_partner == "independent" and not cls.takes_label_partner():
            raise UserError(
                f"--label-partner independent: method {method!r} has no mixed-label loss "
                "of the shared step to draw a second partner for; leave it out of --methods"
            )
        if settings.label_partner == "independent" and not cls.published_independent_labels:
            raise UserError(
                f"--label-partner independent: the AMPLIFY authors' code never trains "
                f"{method!r} on a second label permutation (it learns its input partners' "
                "labels); leave it out of --methods"
            )
        if settings.head == "published" and cls.published_head is None:
            raise UserError(
                f"--head published: method {method!r} has no head in the AMPLIFY authors' "
                "code; leave it out of --methods or use --head shared"
            )


def make_plan(request: SweepRequest, dataset_registry: DatasetRegistry, store: Store) -> Plan:
    """Every spec of the request, split into to-do and done (resume)."""
    settings = request.settings()
    methods = expand_methods(request.methods)
    check_protocol(settings, methods)
    options = method_options(request, methods)
    datasets, unavailable = resolve_datasets(request.datasets, dataset_registry)
    seeds = list(dict.fromkeys(request.seeds or PROFILE_SEEDS[request.profile]))
    plan = Plan(unavailable=unavailable)
    # seed-major order: a sweep stopped part-way leaves whole seeds, not whole datasets
    for seed in seeds:
        for dataset in datasets:
            for method in methods:
                spec = RunSpec(
                    method,
                    dataset,
                    request.model,
                    seed,
                    settings,
                    options[method],
                    profile=request.profile,
                    study=request.study,
                )
                if request.study:  # its condition, as the study labels it
                    condition = get_study(request.study).label(spec)[0]
                    spec = dataclasses.replace(spec, condition=condition)
                status = store.status(spec)
                if request.retry_failed:
                    redo = status in FAILED_STATUSES
                else:
                    redo = request.force or status is not RunStatus.OK
                (plan.todo if redo else plan.done).append(spec)
    return plan


def merge_plans(plans: list[Plan]) -> Plan:
    """One plan of several (a study's conditions), to-do runs seed-major across them."""
    merged = Plan()
    for plan in plans:
        merged.todo += plan.todo
        merged.done += plan.done
        merged.unavailable.update(plan.unavailable)
    merged.todo.sort(key=lambda spec: spec.seed)  # stable: each condition's order stays
    return merged


def check_methods_fit_model(specs: list[RunSpec], encoder: Any) -> None:
    """Before the first run: every method (with its options) can mix in this encoder (its
    family has the mixing points, its layers exist). UserError naming the method if not."""
    probe = Classifier(encoder, 2)
    seen = set()
    for spec in specs:
        key = (spec.method, spec.method_options)
        if key in seen:
            continue
        seen.add(key)
        method = create_method(spec.method, dict(spec.method_options))
        if spec.settings.head == "published" and method.published_head == "pooler":
            try:
                encoder_pooler(encoder)
            except UserError as exc:
                raise UserError(f"method {spec.method!r} on {spec.model!r}: {exc}") from None
        if not method.mixes:
            continue
        try:
            depth = probe.depth
            rng = np.random.default_rng(0)
            for _ in range(8):  # sites may be drawn: try a few draws
                for site in method.sites(depth, rng):
                    probe.site_module(site)
        except UserError as exc:
            raise UserError(f"method {spec.method!r} cannot run on {spec.model!r}: {exc}") from None
        except ValueError as exc:
            raise UserError(
                f"method {spec.method!r} with options {dict(spec.method_options)} cannot run "
                f"on {spec.model!r}: {exc}; change the option"
            ) from None


def settings_overrides(**values: Any) -> dict[str, Any]:
    """The TrainSettings fields among `values` that were given (not None)."""
    names = {f.name for f in dataclasses.fields(TrainSettings)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"not training settings: {sorted(unknown)}")
    return {k: v for k, v in values.items() if v is not None}


def study_requests(
    study: Study, seeds: tuple[int, ...] = (), model: str | None = None
) -> list[SweepRequest]:
    """One sweep request per condition of a named study (seeds and model: the study's
    unless given)."""
    return [
        SweepRequest(
            methods=study.condition_methods(condition),
            datasets=study.datasets,
            model=model or study.model,
            seeds=seeds or study.seeds,
            profile=study.profile,
            overrides=study.overrides(condition),
            typed_options=condition.get("options", {}),
            study=study.name,
        )
        for condition in study.conditions
    ]
