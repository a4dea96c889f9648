"""Tokenize once per (dataset, tokenizer, max length), cache, and batch with dynamic padding
(pad to the longest example of the batch, never to a fixed length)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from bench.run.datasets.base import TextSplit


@dataclass
class Encoded:
    """Token ids (unpadded, one list per example), optional token types, and labels."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


_cache: dict[str, Encoded] = {}


def encode(split: TextSplit, tokenizer, max_length: int) -> Encoded:
    """Tokenize a split (truncating to max_length), cached in memory by its texts. The
    labels are always the split's own: the same texts may carry other labels (label noise)."""
    digest = hashlib.sha256()
    digest.update(f"{tokenizer.name_or_path}|{len(tokenizer)}|{max_length}|".encode())
    for text in split.texts:
        digest.update(text.encode() + b"\0")
    key = digest.hexdigest()
    if key not in _cache:
        out = tokenizer(split.texts, truncation=True, max_length=max_length, padding=False)
        types = out.get("token_type_ids")
        _cache[key] = Encoded(
            list(out["input_ids"]), list(types) if types else None, np.empty(0, np.int64)
        )
    tokens = _cache[key]
    return Encoded(tokens.input_ids, tokens.token_type_ids, split.labels.copy())


def collate(
    encoded: Encoded, index: np.ndarray, pad_id: int, device: torch.device
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Pad the examples at `index` to their longest; returns (model inputs, labels)."""
    rows = [encoded.input_ids[i] for i in index]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[r, : len(row)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if encoded.token_type_ids is not None:
        types = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(index):
            types[r, : len(encoded.token_type_ids[i])] = torch.tensor(encoded.token_type_ids[i])
        batch["token_type_ids"] = types
    labels = torch.from_numpy(encoded.labels[index])
    non_blocking = device.type == "cuda"
    return (
        {k: v.to(device, non_blocking=non_blocking) for k, v in batch.items()},
        labels.to(device, non_blocking=non_blocking),
    )


BUCKET_BATCHES = 50  # length grouping sorts within shuffled buckets of 50 batches


def train_batches(
    n: int, batch_size: int, rng: np.random.Generator, lengths: list[int] | None = None
) -> Iterator[np.ndarray]:
    """A seeded shuffle of 0..n-1 cut into batches (the last one may be smaller).

    With `lengths` (length-grouped batching): the shuffled order is cut into buckets of
    BUCKET_BATCHES batches, each bucket is sorted by length and cut into batches, and the
    batches are shuffled, so that a batch holds examples of similar length (less padding)
    while the epoch stays random."""
    order = rng.permutation(n)
    if lengths is None:
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]
        return
    batches = []
    bucket = batch_size * BUCKET_BATCHES
    for start in range(0, n, bucket):
        chunk = order[start : start + bucket]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    for index in rng.permutation(len(batches)):
        yield batches[index]


def eval_batches(encoded: Encoded, batch_size: int) -> Iterator[np.ndarray]:
    """Length-sorted batches (less padding), in a fixed order."""
    order = np.argsort([len(r) for r in encoded.input_ids], kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]
