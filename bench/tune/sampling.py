"""Trial configurations: i.i.d. draws from a method's search space and the learning rate,
by Optuna's seeded RandomSampler, so the same study always draws the same trials (resume
re-plans the same specs) and the draws are what the expected-maximum estimator assumes."""

from __future__ import annotations

import zlib
from typing import Any

import optuna

from bench.api.registry import method_class
from bench.api.search_space import LEARNING_RATE, Choice, Distribution, IntRange, LogUniform
from bench.api.search_space import Uniform as UniformRange
from bench.core.errors import UserError

LR_KEY = "lr"  # the TrainSettings field; every other key is a method option
SIGNIFICANT = 3  # floats are kept to 3 significant digits (readable specs and labels)


def optuna_distribution(d: Distribution) -> optuna.distributions.BaseDistribution:
    """The Optuna distribution of a declared one."""
    if isinstance(d, LogUniform):
        return optuna.distributions.FloatDistribution(d.low, d.high, log=True)
    if isinstance(d, UniformRange):
        return optuna.distributions.FloatDistribution(d.low, d.high)
    if isinstance(d, IntRange):
        return optuna.distributions.IntDistribution(d.low, d.high)
    if isinstance(d, Choice):
        return optuna.distributions.CategoricalDistribution(d.values)
    raise TypeError(f"not a search-space distribution: {d!r}")


def full_space(search_space: dict[str, Distribution]) -> dict[str, Distribution]:
    """The learning rate, then the method's own options."""
    return {LR_KEY: LEARNING_RATE, **search_space}


def sampler_seed(method: str, dataset: str, seed: int = 0) -> int:
    """One stable sampler seed per method and dataset (the same on every machine)."""
    return zlib.crc32(f"{method}/{dataset}/{seed}".encode())


def draw_trials(
    search_space: dict[str, Distribution], trials: int, seed: int, sampler: str = "random"
) -> list[dict[str, Any]]:
    """`trials` configurations {key: value}, drawn in order from the full space."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen = (
        optuna.samplers.TPESampler(seed=seed)
        if sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=seed)
    )
    study = optuna.create_study(sampler=chosen, direction="maximize")
    space = {k: optuna_distribution(d) for k, d in full_space(search_space).items()}
    drawn = []
    for _ in range(trials):
        trial = study.ask(space)
        drawn.append({k: rounded(trial.params[k]) for k in space})
        study.tell(trial, 0.0)  # random search ignores the values; TPE needs real ones
    return drawn


def rounded(value: Any) -> Any:
    """A float to SIGNIFICANT digits; anything else as it is."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT}g}")
    return value


def space_text(method: str) -> str:
    """A method's search space as --list and the report show it."""
    try:
        space = method_class(method).search_space
    except UserError:  # a method the report's records name but this install lacks
        return "unknown here"
    return "; ".join(f"{k} {d}" for k, d in full_space(space).items()) + (
        "" if space else " (no declared space: the learning rate only)"
    )
