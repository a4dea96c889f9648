"""The interface every mixup method implements, and the mixing machinery the harness owns.

A method declares *where* it mixes (`sites`) and *how strongly* (its lambda options);
the harness owns the permutation, the hooks, the mixed loss and everything else, so all
methods run under the same conditions. A method that needs more (two passes, a saliency
backward) overrides `training_step`.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.api.search_space import Distribution
from bench.core.errors import Registry, UserError

SITE_KINDS = ("embeddings", "layer", "attention", "pooled")
# heads a method may declare as its authors' (`MixupMethod.published_head`): BERT's pooler
# ([CLS] -> dense -> tanh), or the plain mean over every position, padding included
PublishedHead = Literal["pooler", "plain-mean"]


@dataclass(frozen=True)
class Site:
    """A mixing point. `index` is the 1-based layer for kinds 'layer' and 'attention'."""

    kind: str
    index: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SITE_KINDS:
            raise ValueError(f"unknown mixing site {self.kind!r}; known: {SITE_KINDS}")


@dataclass(frozen=True)
class MethodOptions:
    """Lambda options shared by every method: l ~ Beta(alpha, alpha), the max of `draws`
    draws, then max(l, 1 - l) when `max_trick`."""

    # options added after records were made with the method: left out of the spec while
    # they hold their defaults, so those records keep their hashes
    late_options: ClassVar[tuple[str, ...]] = ()

    alpha: float = 0.2
    draws: int = 1
    max_trick: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise UserError(f"option alpha={self.alpha} must be a finite number > 0")
        if self.draws < 1:
            raise UserError(f"option draws={self.draws} must be >= 1")


@dataclass
class StepOutput:
    """What one training step returns to the harness."""

    loss: torch.Tensor
    logits: torch.Tensor
    lam: float  # 1.0 when nothing was mixed; the batch mean for per-example lambdas


class MixupMethod:
    """Base class. Subclasses set the class attributes and implement `sites`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Options: ClassVar[type[MethodOptions]] = MethodOptions
    mixes: ClassVar[bool] = True  # False: plain fine-tuning, no lambda, no permutation
    draws_lambda: ClassVar[bool] = True  # False: lambda comes from the data (SSMix's spans)
    # the head the AMPLIFY authors' code gives this method (--head published); None: none
    published_head: ClassVar[PublishedHead | None] = None
    # whether the AMPLIFY authors' code trains this method on a second, independent label
    # permutation (their word, sentence and TMix baselines); only then is
    # --label-partner independent accepted (AMPLIFY reuses its input permutation)
    published_independent_labels: ClassVar[bool] = False
    # --study tuned: a distribution per option this method is tuned over (the learning
    # rate is added for every method: bench.api.search_space.LEARNING_RATE); {}: the
    # learning rate only, and the report says so
    search_space: ClassVar[dict[str, Distribution]] = {}

    def __init__(self, options: MethodOptions | None = None) -> None:
        self.options = options if options is not None else self.Options()
        # --label-partner independent: the harness sets the run's own label-partner stream
        self.label_rng: np.random.Generator | None = None

    @classmethod
    def takes_label_partner(cls) -> bool:
        """Whether --label-partner independent applies: the method mixes through the
        shared step (a method with its own `training_step` pairs labels its own way)."""
        return cls.mixes and cls.training_step is MixupMethod.training_step

    def label_permutation(self, perm: torch.Tensor) -> torch.Tensor:
        """Whose labels the mixed loss uses: the input partners `perm`, or a second,
        independent permutation from the label-partner stream, drawn every step (also when
        nothing is mixed) so that every method of a seed sees the same draws."""
        if self.label_rng is None:
            return perm
        return torch.from_numpy(self.label_rng.permutation(len(perm))).to(perm.device)

    @property
    def union_mask(self) -> bool:
        """Whether a mixed step attends to max(mask, mask[perm]) (word's `union_mask`)."""
        return bool(getattr(self.options, "union_mask", False))

    def sites(self, depth: int, rng: np.random.Generator) -> list[Site]:
        """Where to mix in this step, for an encoder with `depth` layers."""
        raise NotImplementedError

    def sample_lambda(self, rng: np.random.Generator) -> float:
        """Draw this step's lambda from the method's options."""
        opts = self.options
        lam = float(rng.beta(opts.alpha, opts.alpha, size=opts.draws).max())
        return max(lam, 1.0 - lam) if opts.max_trick else lam

    def training_step(
        self,
        model: nn.Module,
        batch: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        rng: np.random.Generator,
    ) -> StepOutput:
        """One forward pass with this method's mixing, and the mixed loss."""
        if not self.mixes:
            return plain_step(model, batch, labels)
        # on the host: mixed_step checks it for the identity before sending it to the device
        perm = torch.from_numpy(rng.permutation(labels.shape[0]))
        lam = self.sample_lambda(rng)
        sites = self.sites(model.depth, rng)
        label_perm = self.label_permutation(perm)
        return mixed_step(model, batch, labels, perm, lam, sites, self.union_mask, label_perm)


# ---------------------------------------------------------------- the shared machinery


def mix(h: torch.Tensor, perm: torch.Tensor, lam: float) -> torch.Tensor:
    """lam * h + (1 - lam) * h[perm], along the batch dimension.

    One fused torch.lerp instead of three element-wise ops (it matters for AMPLIFY, which
    mixes in every layer); lerp is exact at lam = 1 and for an identity permutation."""
    return torch.lerp(h[perm], h, lam)


def plain_step(
    model: nn.Module, batch: Mapping[str, torch.Tensor], labels: torch.Tensor
) -> StepOutput:
    """One forward without mixing and its cross-entropy (lambda 1): `none`'s step."""
    logits = model(**batch)
    return StepOutput(F.cross_entropy(logits, labels), logits, 1.0)


def mixed_loss(
    logits: torch.Tensor, labels: torch.Tensor, perm: torch.Tensor, lam: float
) -> torch.Tensor:
    """Cross-entropy against the labels mixed with `perm`: the inputs' own permutation
    (the suite's default), or a second one (--label-partner independent)."""
    return lam * F.cross_entropy(logits, labels) + (1.0 - lam) * F.cross_entropy(
        logits, labels[perm]
    )


def per_example_mixed_loss(
    logits: torch.Tensor, labels: torch.Tensor, perm: torch.Tensor, lam: torch.Tensor
) -> torch.Tensor:
    """Mean over the batch of lam_i * CE(y_i) + (1 - lam_i) * CE(y_perm_i): a lambda per
    example (e.g. the share of tokens an example kept), same permutation as the inputs."""
    own = F.cross_entropy(logits, labels, reduction="none")
    partner = F.cross_entropy(logits, labels[perm], reduction="none")
    return (lam * own + (1.0 - lam) * partner).mean()


def input_saliency(
    model: nn.Module, batch: Mapping[str, torch.Tensor], labels: torch.Tensor
) -> torch.Tensor:
    """Per token, the L2 norm over the hidden dimension of the gradient of the mean
    cross-entropy with respect to the embeddings output (word + position + type). A
    training-mode forward (dropout on) and a backward to the embeddings only: no parameter
    gradient is accumulated (torch.autograd.grad), so nothing leaks into the optimizer step.
    Returns (batch, length); padding positions are 0."""
    captured: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: Any, output: Any) -> None:
        captured.append(output)

    handle = model.site_module(Site("embeddings")).register_forward_hook(keep)
    try:
        loss = F.cross_entropy(model(**batch), labels)
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(loss, captured[0])
    return grad.float().norm(dim=-1) * batch["attention_mask"].to(grad.dtype)


def union_attention_mask(mask: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """max(mask, mask[perm]): a position counts when it is real in either partner."""
    return torch.maximum(mask, mask[perm])


def _mixing_hook(perm: torch.Tensor, lam: float):
    def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        if isinstance(output, torch.Tensor):
            return mix(output, perm, lam)
        if isinstance(output, tuple) and output and isinstance(output[0], torch.Tensor):
            return (mix(output[0], perm, lam), *output[1:])
        if hasattr(output, "last_hidden_state"):  # ModelOutput-like
            output.last_hidden_state = mix(output.last_hidden_state, perm, lam)
            return output
        raise TypeError(f"cannot mix an output of type {type(output).__name__}")

    return hook


@contextmanager
def mixing_hooks(
    model: nn.Module, sites: list[Site], perm: torch.Tensor, lam: float
) -> Iterator[None]:
    """Install forward hooks that mix the output of each site's module; always remove them.

    A module shared by several depths (ALBERT) appears once per depth in `sites`, but gets
    one hook: the hook then fires once per depth.
    """
    handles = []
    seen: set[int] = set()
    try:
        for site in sites:
            module = model.site_module(site)
            if id(module) in seen:
                continue
            seen.add(id(module))
            handles.append(module.register_forward_hook(_mixing_hook(perm, lam)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def mixed_step(
    model: nn.Module,
    batch: Mapping[str, torch.Tensor],
    labels: torch.Tensor,
    perm: torch.Tensor,
    lam: float,
    sites: list[Site],
    union_mask: bool = False,
    label_perm: torch.Tensor | None = None,
) -> StepOutput:
    """Forward with mixing at `sites` for a given lam and perm; the mixed loss against the
    labels of `label_perm` (default: `perm`, the input partners).

    A step in which no partner contributes (lam == 1, or the identity permutation, as in a
    batch of one) is `none`'s step, bit for bit: `plain_step`. Otherwise `union_mask`
    widens the attention mask to max(mask, mask[perm]). The permutations may come on the
    host (the shared step sends them): the identity check then makes a GPU wait for nothing,
    and they go to the labels' device after it."""
    identity = bool(torch.equal(perm, torch.arange(len(perm), device=perm.device)))
    if lam == 1.0 or (
        identity and (label_perm is None or torch.equal(label_perm, perm.to(label_perm.device)))
    ):
        return plain_step(model, batch, labels)
    perm = perm.to(labels.device, non_blocking=True)
    if label_perm is not None:
        label_perm = label_perm.to(labels.device, non_blocking=True)
    batch = dict(batch)
    if union_mask:
        batch["attention_mask"] = union_attention_mask(batch["attention_mask"], perm)
    with mixing_hooks(model, sites, perm, lam):
        logits = model(**batch)
    partners = perm if label_perm is None else label_perm
    return StepOutput(mixed_loss(logits, labels, partners, lam), logits, lam)


# ---------------------------------------------------------------- options from text


def _parse_value(text: str, annotation: Any, key: str) -> Any:
    origin = typing.get_origin(annotation)
    try:
        if annotation is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return lowered in ("true", "1", "yes")
        if annotation is int:
            return int(text)
        if annotation is float:
            return float(text)
        if origin is tuple:
            (item_type, *_rest) = typing.get_args(annotation)
            return tuple(_parse_value(p, item_type, key) for p in text.split(",") if p)
        if annotation is str:
            return text
    except ValueError:
        raise UserError(f"option {key}={text!r} is not a valid {annotation}") from None
    raise TypeError(f"option {key}: unsupported option type {annotation}")


def build_options(method_cls: type[MixupMethod], raw: Mapping[str, Any]) -> MethodOptions:
    """Validated options for `method_cls` from `raw` (strings from the CLI or typed values)."""
    hints = typing.get_type_hints(method_cls.Options)
    fields = {f.name for f in dataclasses.fields(method_cls.Options)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise UserError(
                f"method {method_cls.name!r} has no option {key!r}; its options: {known}"
            )
        if isinstance(value, str):
            value = _parse_value(value, hints[key], f"{method_cls.name}.{key}")
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return method_cls.Options(**values)


def options_as_items(options: MethodOptions) -> tuple[tuple[str, Any], ...]:
    """Sorted (name, value) pairs of every option, defaults included, for the run spec; a
    late option (`Options.late_options`) only where it differs from its default."""
    defaults = type(options)()
    late = getattr(options, "late_options", ())  # options need not derive MethodOptions
    return tuple(
        sorted(
            (name, value)
            for name, value in dataclasses.asdict(options).items()
            if name not in late or value != getattr(defaults, name)
        )
    )


METHODS: Registry[type[MixupMethod]] = Registry("method", base=MixupMethod)


def register(cls: type[MixupMethod]) -> type[MixupMethod]:
    """Class decorator: add a method to the registry; a duplicate name is an error. The
    methods are found (their modules imported) by bench.api.registry."""
    name = getattr(cls, "name", None)
    if not name or not isinstance(name, str):
        raise TypeError(f"{cls.__qualname__} must set a class attribute `name`")
    return METHODS.add(name, cls, replace_same=True)
