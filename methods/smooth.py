"""Label smoothing (Szegedy et al. 2016): plain fine-tuning against targets that put
1 - epsilon on the true class and spread epsilon uniformly over all classes. No mixing.

The baseline for AMPLIFY's "label smoothing" claim: mixup's mixed targets are soft
targets too, so a method that only smooths the labels separates that effect from mixing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.api import MixupMethod, Site, StepOutput, Uniform, register
from bench.core.errors import UserError


@dataclass(frozen=True)
class SmoothOptions:
    """`epsilon`: the probability mass spread over all classes (torch's label_smoothing)."""

    epsilon: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.epsilon < 1:
            raise UserError(f"option epsilon={self.epsilon} must be in [0, 1)")


@register
class LabelSmoothing(MixupMethod):
    name = "smooth"
    description = "no mixup: cross-entropy against label-smoothed targets (epsilon 0.1)"
    Options = SmoothOptions
    search_space = {"epsilon": Uniform(0.0, 0.3)}
    mixes = False
    draws_lambda = False

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        return []

    def training_step(
        self,
        model: nn.Module,
        batch: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        rng: np.random.Generator,
    ) -> StepOutput:
        logits = model(**batch)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.options.epsilon)
        return StepOutput(loss, logits, 1.0)
