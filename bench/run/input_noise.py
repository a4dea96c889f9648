"""Input noise (a study regime): a share of the training examples' tokens replaced by
random vocabulary tokens, from the fixed data seed, so every method and run seed of a spec
trains on the same corrupted inputs. Special tokens ([CLS], [SEP], padding) are never
replaced nor counted; evaluation splits are never touched. It tests AMPLIFY's claim that
mixing inside attention limits the influence of "noises and aberrant values" in samples."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from bench.run.batching import Encoded
from bench.run.datasets.base import DATA_SEED

INPUT_NOISE_STREAM = (DATA_SEED, 4)  # its own stream of the data seed


@dataclass(frozen=True)
class InputNoise:
    """How many tokens were replaced, and a fingerprint of (example, position, token)."""

    replaced: int
    fingerprint: str


def noisy_inputs(
    encoded: Encoded, rate: float, special_ids: set[int], vocab_size: int
) -> tuple[Encoded, InputNoise]:
    """A copy of `encoded` with exactly round(rate x n) of its n non-special tokens
    replaced, each by a different, non-special vocabulary token."""
    positions = [
        (i, j)
        for i, ids in enumerate(encoded.input_ids)
        for j, token in enumerate(ids)
        if token not in special_ids
    ]
    rng = np.random.default_rng(INPUT_NOISE_STREAM)
    chosen = np.sort(
        rng.choice(len(positions), size=int(round(rate * len(positions))), replace=False)
    )
    vocabulary = np.setdiff1d(np.arange(vocab_size), sorted(special_ids))
    drawn = rng.integers(0, len(vocabulary) - 1, size=len(chosen))
    ids = [list(row) for row in encoded.input_ids]  # the tokenization cache stays clean
    digest = hashlib.sha256()
    for pick, draw in zip(chosen.tolist(), drawn.tolist(), strict=True):
        i, j = positions[pick]
        token = int(vocabulary[draw])
        if token == ids[i][j]:  # never the same token: the last one stands in for it
            token = int(vocabulary[-1])
        ids[i][j] = token
        digest.update(f"{i}:{j}:{token}\n".encode())
    noisy = Encoded(ids, encoded.token_type_ids, encoded.labels)
    return noisy, InputNoise(len(chosen), digest.hexdigest()[:16])
