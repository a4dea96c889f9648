"""SSMix (Yoon, Kim and Park 2021): replace the least salient span of each sentence with the
most salient span of its partner, in input space, and weight the labels by the share of
tokens each sentence kept.

As the authors' code (clovaai/ssmix) does it, with the suite's one in-batch permutation as
the pairing (theirs pairs the two halves of a batch, both ways; that is one permutation):

- saliency: a training-mode forward of the unmixed batch, the mean cross-entropy against
  the own labels, its gradient with respect to the embeddings output; per token its norm
  over the hidden dimension (they take the root mean square: the same order). No parameter
  gradient is kept (`input_saliency`).
- span: l = an example's length with its special tokens; window = max(int((l - 2) *
  span_ratio), 1). The saliency is averaged over every window of that size; the first and
  the last window (which hold [CLS] and [SEP]) are never chosen. The example's least
  salient window gets the partner's most salient window (input ids only: the example
  keeps its own length and mask). A partner shorter than the window is not mixed (lambda
  1), as in their code. One rule is the suite's own: a partner of exactly window or
  window + 1 tokens has no interior window; their code mixes it anyway, with a span that
  starts at the partner's [CLS], while here it is not mixed either (lambda 1), so a
  special token is never copied into a sentence.
- lambda per example = 1 - window / (l - 2).
- loss: their default keeps the clean loss: the mean of the clean and the mixed
  cross-entropy, 0.5 x CE(clean) + 0.5 x mixed CE (their `naive_augment` drops the clean
  term: `clean_loss=false`). A step therefore holds a saliency pass (forward and
  backward), a clean forward and a mixed forward: 2.2x the step time of `none` measured.

What differs: their protocol starts SSMix from a model fine-tuned without mixup for 3
epochs; here every method starts from the same pretrained encoder (the fair comparison).
They skip odd-sized batches; here every batch is used. Examples too short to have an
interior window (fewer than 3 tokens) are not mixed instead of overwriting [CLS].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.api import (
    MixupMethod,
    Site,
    StepOutput,
    Uniform,
    input_saliency,
    per_example_mixed_loss,
    plain_step,
    register,
)
from bench.core.errors import UserError


@dataclass(frozen=True)
class SSMixOptions:
    """SSMix draws no lambda (it is the share of tokens kept), so no Beta options."""

    span_ratio: float = 0.1  # share of an example's tokens (specials excluded) replaced
    clean_loss: bool = True  # add the clean cross-entropy (the authors' default)

    def __post_init__(self) -> None:
        if not 0 <= self.span_ratio <= 1:
            raise UserError(f"option span_ratio={self.span_ratio} must be in [0, 1]")


def window_size(length: int, span_ratio: float) -> int:
    """Tokens replaced in an example of `length` tokens (two of them special)."""
    return max(int((length - 2) * span_ratio), 1)


def window_means(saliency: torch.Tensor, window: int) -> torch.Tensor:
    """Mean saliency of every window of `window` consecutive tokens (stride 1)."""
    return F.avg_pool1d(saliency[None, None, :], window, stride=1)[0, 0]


def choose_spans(own: torch.Tensor, partner: torch.Tensor, window: int) -> tuple[int, int] | None:
    """(start in the example, start in the partner): the example's least salient window and
    the partner's most salient one, never the first or last window; None when either has
    no interior window of this size (fewer than window + 2 tokens: checked before any
    pooling, which a window longer than the sequence would make fail). `own` and `partner`
    cover the real tokens only."""
    if min(len(own), len(partner)) < window + 2:
        return None
    own_means, partner_means = window_means(own, window), window_means(partner, window)
    return (
        1 + int(torch.argmin(own_means[1:-1])),
        1 + int(torch.argmax(partner_means[1:-1])),
    )


def span_mix(
    input_ids: torch.Tensor,
    lengths: torch.Tensor,
    saliency: torch.Tensor,
    perm: torch.Tensor,
    span_ratio: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixed input ids and the per-example lambda (share of its tokens each example kept)."""
    mixed = input_ids.clone()
    lam = torch.ones(len(input_ids), dtype=torch.float32)
    for i, j in enumerate(perm.tolist()):
        length, partner_length = int(lengths[i]), int(lengths[j])
        if length < 3:
            continue
        window = window_size(length, span_ratio)
        spans = choose_spans(saliency[i, :length], saliency[j, :partner_length], window)
        if spans is None:
            continue
        start, source = spans
        mixed[i, start : start + window] = input_ids[j, source : source + window]
        lam[i] = 1.0 - window / (length - 2)
    return mixed, lam.to(input_ids.device)


@register
class SSMix(MixupMethod):
    name = "ssmix"
    description = "replace the least salient span with the partner's most salient span"
    Options = SSMixOptions
    search_space = {"span_ratio": Uniform(0.05, 0.5)}
    draws_lambda = False

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        return [Site("embeddings")]  # where the saliency is taken

    def training_step(
        self,
        model: nn.Module,
        batch: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        rng: np.random.Generator,
    ) -> StepOutput:
        if self.options.span_ratio == 0:  # nothing to replace: plain fine-tuning
            return plain_step(model, batch, labels)
        perm = torch.from_numpy(rng.permutation(labels.shape[0])).to(labels.device)
        saliency = input_saliency(model, batch, labels).detach()
        lengths = batch["attention_mask"].sum(dim=1)
        mixed_ids, lam = span_mix(
            batch["input_ids"], lengths, saliency.cpu(), perm.cpu(), self.options.span_ratio
        )
        logits = model(**{**batch, "input_ids": mixed_ids})
        loss = per_example_mixed_loss(logits, labels, perm, lam)
        if self.options.clean_loss:
            loss = 0.5 * F.cross_entropy(model(**batch), labels) + 0.5 * loss
        return StepOutput(loss, logits, float(lam.mean()))
