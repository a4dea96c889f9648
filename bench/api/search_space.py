"""Search spaces a method declares beside its options (`MixupMethod.search_space`), for
`--study tuned`: one distribution per option, plus the learning rate every method is
tuned over (none and smooth included, so the baseline is tuned as hard as the rest).

Plain frozen dataclasses, so a method module needs no tuning library; bench.tune turns
them into Optuna distributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.core.errors import UserError


@dataclass(frozen=True)
class LogUniform:
    """A float drawn log-uniformly in [low, high]."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high:
            raise UserError(f"LogUniform({self.low}, {self.high}): need 0 < low < high")

    def __str__(self) -> str:
        return f"log-uniform [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly in [low, high]."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise UserError(f"Uniform({self.low}, {self.high}): need low < high")

    def __str__(self) -> str:
        return f"uniform [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class IntRange:
    """An integer drawn uniformly in low..high (both included)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise UserError(f"IntRange({self.low}, {self.high}): need low <= high")

    def __str__(self) -> str:
        return f"integer {self.low}..{self.high}"


@dataclass(frozen=True)
class Choice:
    """One of a few values, each equally likely."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise UserError("Choice(): give at least one value")

    def __str__(self) -> str:
        return "one of " + ", ".join(map(str, self.values))


Distribution = LogUniform | Uniform | IntRange | Choice
# the learning rate every method is tuned over (the quick profile's 1e-4 lies inside)
LEARNING_RATE = LogUniform(2e-5, 5e-4)
