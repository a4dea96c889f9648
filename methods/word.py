"""wordMixup ("embed mixup"): mix the output of the embeddings module.

Guo et al. (2019) mixed the word embeddings of zero-padded sentences. The AMPLIFY and
SSMix code, which is what the compared papers ran, mix the whole embeddings output (word +
position + token type, after its LayerNorm) position by position and let the model attend
to the union of both partners' masks, max(mask, mask[perm]), on every step. This module
does the same by default (`union_mask=true`), with one difference: the union applies only
where a partner contributes (lambda < 1), so a step at lambda 1 is `none`'s step; the
authors widen the mask also then. `union_mask=false` keeps each example's own mask: its
padding positions then hold (1 - lambda) of the partner's embeddings but are not attended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bench.api import LogUniform, MethodOptions, MixupMethod, Site, register


@dataclass(frozen=True)
class WordOptions(MethodOptions):
    """`union_mask`: attend to the union of both partners' masks on mixed steps."""

    late_options: ClassVar[tuple[str, ...]] = ("union_mask",)

    union_mask: bool = True


@register
class WordMixup(MixupMethod):
    name = "word"
    description = "mix the embeddings output position by position (union attention mask)"
    published_head = "pooler"  # the AMPLIFY authors' head (--head published)
    published_independent_labels = True  # their second label permutation
    Options = WordOptions
    search_space = {"alpha": LogUniform(0.05, 2.0)}

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        return [Site("embeddings")]
