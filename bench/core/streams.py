"""Common random numbers: one independent, named random stream per purpose and run seed.

Every method of one run seed sees the same data order (every epoch), the same head
initialisation and the same dropout masks; a method's own draws (permutation, lambda,
sites) come from a stream that nothing else reads. So two methods of one seed differ only
by what the methods do, and their paired difference carries no avoidable noise.
"""

from __future__ import annotations

import numpy as np
import torch

# The position of a name is part of its stream's identity: append, never reorder.
STREAMS: tuple[str, ...] = (
    "data_order",
    "init",
    "dropout",
    "method",
    "label_partner",
    "pooler",  # a re-initialised [CLS] pooler (--pooling pooler-reinit)
)


def _sequence(seed: int, stream: str) -> np.random.SeedSequence:
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; known: {', '.join(STREAMS)}")
    return np.random.SeedSequence(entropy=seed, spawn_key=(STREAMS.index(stream),))


def numpy_stream(seed: int, stream: str) -> np.random.Generator:
    """A numpy generator for `stream` of run seed `seed` (independent of the others)."""
    return np.random.default_rng(_sequence(seed, stream))


def torch_seed(seed: int, stream: str) -> int:
    """A 63-bit integer seed for torch's generators, derived from `stream` of `seed`."""
    return int(_sequence(seed, stream).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)


def seed_torch(seed: int, stream: str) -> None:
    """Seed torch's global generators (CPU and every CUDA device) from `stream`."""
    torch.manual_seed(torch_seed(seed, stream))
