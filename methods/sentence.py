"""senMixup: mix the pooled sentence vectors before the classifier, in one forward pass.

Mixing the pooled vector of a linear head equals mixing its logits. (The AMPLIFY authors
ran two full forward passes for it, which doubles its cost; this module does not.)
"""

from __future__ import annotations

import numpy as np

from bench.api import LogUniform, MixupMethod, Site, register


@register
class SentenceMixup(MixupMethod):
    name = "sentence"
    description = "mix the pooled sentence vector before the classifier (one pass)"
    search_space = {"alpha": LogUniform(0.05, 2.0)}
    published_head = "pooler"  # the AMPLIFY authors' head (--head published)
    published_independent_labels = True  # their second label permutation

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        return [Site("pooled")]
