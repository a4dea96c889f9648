"""AMPLIFY (Yang & Xiang 2023): mix the output of the attention sub-layer of every layer.

The hook sits on the module whose output feeds both the feed-forward block and its
residual (BERT: `layer[i].attention`, after its output projection, residual and LayerNorm;
DistilBERT: `layer[i].sa_layer_norm`). The same perm and lam are used in every layer; the
attention scores are not mixed. Lambda as in the authors' code: the max of 5 draws of
Beta(0.1, 0.1) (mean about 0.96). `start_layer` mixes only from that layer on, as the
authors' `layermix` option.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.api import Choice, IntRange, LogUniform, MethodOptions, MixupMethod, Site, register
from bench.core.errors import UserError


@dataclass(frozen=True)
class AmplifyOptions(MethodOptions):
    alpha: float = 0.1
    draws: int = 5
    max_trick: bool = False
    start_layer: int = 1  # 1-based: mix in layers start_layer..L

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.start_layer < 1:
            raise UserError(f"option start_layer={self.start_layer} must be >= 1")


@register
class Amplify(MixupMethod):
    name = "amplify"
    description = "mix the attention sub-layer output of every layer (same perm and lam)"
    published_head = "plain-mean"  # the AMPLIFY authors' head (--head published)
    Options = AmplifyOptions
    search_space = {
        "alpha": LogUniform(0.05, 2.0),
        "draws": Choice((1, 5)),
        "start_layer": IntRange(1, 6),
    }

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        if self.options.start_layer > depth:
            raise UserError(
                f"amplify start_layer={self.options.start_layer} exceeds the encoder depth {depth}"
            )
        return [Site("attention", i) for i in range(self.options.start_layer, depth + 1)]
