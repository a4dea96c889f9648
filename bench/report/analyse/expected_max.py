"""Expected maximum validation performance after n trials (Dodge et al. 2019, "Show your
work"): with N i.i.d. trials whose values sorted are v_(1) <= ... <= v_(N), n trials drawn
with replacement have max v_(i) with probability (i/N)^n - ((i-1)/N)^n."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def max_probabilities(trials: int, n: int) -> np.ndarray:
    """P(the max of n draws is the i-th smallest of `trials` values), i = 1..trials."""
    i = np.arange(1, trials + 1)
    return (i / trials) ** n - ((i - 1) / trials) ** n


def expected_max(values: Sequence[float], n: int) -> tuple[float, float]:
    """The expected maximum of n trials and its standard deviation."""
    v = np.sort(np.asarray(values, dtype=float))
    p = max_probabilities(len(v), n)
    mean = float(p @ v)
    return mean, float(np.sqrt(max(0.0, p @ v**2 - mean**2)))


def curve(values: Sequence[float]) -> list[tuple[int, float, float]]:
    """(n, expected max, sd) for every budget n = 1..len(values)."""
    return [(n, *expected_max(values, n)) for n in range(1, len(values) + 1)]


def budget_to_reach(values: Sequence[float], level: float) -> int | None:
    """The smallest budget whose expected maximum reaches `level`; None if none does."""
    for n, mean, _ in curve(values):
        if mean >= level - 1e-12:
            return n
    return None
