"""Plain fine-tuning with cross-entropy: the baseline every method is compared with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.api import MixupMethod, Site, register


@dataclass(frozen=True)
class NoOptions:
    """`none` has no options (and no lambda)."""


@register
class NoMixup(MixupMethod):
    name = "none"
    description = "no mixup: plain fine-tuning with cross-entropy"
    Options = NoOptions
    mixes = False
    # the authors' no-mixup script trains BertForSequenceClassification: [CLS] pooler,
    # dropout, linear (--head published)
    published_head = "pooler"

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        return []
