"""wordMixup ("embed mixup"): mix the output of the embeddings module.

Guo et al. (2019) mixed the word embeddings of zero-padded sentences. The AMPLIFY and
SSMix code, which is what the compared papers ran, mix the whole embeddings output (word +
position + token type, after its LayerNorm) position by position and let the model attend
to the union of both partners' masks, max(mask, mask[perm]). This module does the latter.
"""

from __future__ import annotations

import numpy as np

from bench.method_api import MixupMethod, Site
from bench.registry import register


@register
class WordMixup(MixupMethod):
    name = "word"
    description = "mix the embeddings output position by position (union attention mask)"
    union_mask = True

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        return [Site("embeddings")]
