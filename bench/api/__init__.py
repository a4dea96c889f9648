"""The method API, the one stable import for method authors:
`from bench.api import MixupMethod, MethodOptions, Site, register`."""

from bench.api.method_api import (
    MethodOptions,
    MixupMethod,
    Site,
    StepOutput,
    input_saliency,
    mix,
    mixed_loss,
    mixed_step,
    mixing_hooks,
    per_example_mixed_loss,
    plain_step,
    register,
    union_attention_mask,
)
from bench.api.search_space import Choice, IntRange, LogUniform, Uniform
from bench.core.errors import UserError

__all__ = [
    "Choice",
    "IntRange",
    "LogUniform",
    "Uniform",
    "MethodOptions",
    "MixupMethod",
    "Site",
    "StepOutput",
    "UserError",
    "input_saliency",
    "mix",
    "mixed_loss",
    "mixed_step",
    "mixing_hooks",
    "per_example_mixed_loss",
    "plain_step",
    "register",
    "union_attention_mask",
]
