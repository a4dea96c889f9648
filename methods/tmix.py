"""TMix (Chen et al. 2020, MixText): mix the hidden states after encoder layer m, with m
drawn per step from a set of layers ({7, 9, 12} for 12-layer encoders, 1-based).

For an encoder of depth L each k becomes ceil(k * L / 12), so a 6-layer model mixes after
layer 4, 5 or 6. Default lambda as in the AMPLIFY and SSMix code: Beta(0.2, 0.2) with
max(l, 1 - l); MixText's own README used Beta(16, 16) without the max trick
(--opt tmix.alpha=16 --opt tmix.max_trick=false).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.api import LogUniform, MethodOptions, MixupMethod, Site, register
from bench.core.errors import UserError


def scale_layers(layers: tuple[int, ...], depth: int) -> list[int]:
    """Map layers given for a 12-layer encoder onto one of `depth` layers: ceil(k * L / 12)."""
    return sorted({min(depth, max(1, math.ceil(k * depth / 12))) for k in layers})


@dataclass(frozen=True)
class TMixOptions(MethodOptions):
    layers: tuple[int, ...] = (7, 9, 12)  # 1-based, for a 12-layer encoder

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.layers or any(not 1 <= k <= 12 for k in self.layers):
            raise UserError(f"option layers={self.layers} must be layers between 1 and 12")


@register
class TMix(MixupMethod):
    name = "tmix"
    description = "mix the hidden states after a layer drawn from {7, 9, 12} (scaled to depth)"
    published_head = "pooler"  # the AMPLIFY authors' head (--head published)
    published_independent_labels = True  # their second label permutation
    Options = TMixOptions
    search_space = {"alpha": LogUniform(0.05, 2.0)}

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        candidates = scale_layers(self.options.layers, depth)
        return [Site("layer", int(rng.choice(candidates)))]
