"""Manifold mixup (Verma et al. 2019): the TMix hook with the layer drawn uniformly from all
depths, the embeddings output (depth 0) included.

This is the worked example of README "Adding a method": it uses only the public interface
(`MixupMethod`, `Site`, `register`).
"""

from __future__ import annotations

import numpy as np

from bench.api import LogUniform, MixupMethod, Site, register


@register
class ManifoldMixup(MixupMethod):
    name = "manifold"
    description = "mix the hidden states at a depth drawn from {embeddings, 1..L}"
    search_space = {"alpha": LogUniform(0.05, 2.0)}

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        k = int(rng.integers(0, depth + 1))
        return [Site("embeddings")] if k == 0 else [Site("layer", k)]
