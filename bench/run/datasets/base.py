"""What every dataset source shares: splits, deterministic splitting, the registry entry.

Every dataset yields train / validation / test. A missing split is cut deterministically
(stratified, with a fixed data seed), so it is identical for every method and run seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "validation", "test")
DATA_SEED = 20231  # fixed: splits and subsamples never depend on the run seed


@dataclass
class TextSplit:
    texts: list[str]
    labels: np.ndarray  # int64 class ids

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray) -> TextSplit:
        return TextSplit([self.texts[i] for i in index], self.labels[index])


@dataclass(frozen=True)
class LabelNoise:
    """Which training labels were changed: how many, and a fingerprint of (index, label)."""

    changed: int
    fingerprint: str


@dataclass
class TextDataset:
    """Three splits, the class names and where the data came from; after a study regime
    (bench.run.datasets.regimes) also the held-out classes' test examples and the label noise."""

    name: str
    train: TextSplit
    validation: TextSplit
    test: TextSplit
    label_names: list[str]
    source: str
    ood_test: TextSplit | None = None  # test examples of the held-out classes (label -1)
    held_out: list[str] = field(default_factory=list)  # names of the held-out classes
    noise: LabelNoise | None = None
    revision: str | None = None  # hub datasets: the revision loaded, when not the default

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def split(self, name: str) -> TextSplit:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    def fingerprint(self) -> str:
        """sha256 over texts and labels of all three splits (first 16 hex digits)."""
        digest = hashlib.sha256()
        for split in SPLITS:
            part = self.split(split)
            digest.update(split.encode())
            for text, label in zip(part.texts, part.labels.tolist(), strict=True):
                digest.update(f"{label}\t{text}\n".encode())
        if self.ood_test is not None:
            digest.update(b"ood_test")
            for text in self.ood_test.texts:
                digest.update(f"{text}\n".encode())
        return digest.hexdigest()[:16]


# ---------------------------------------------------------------- deterministic splitting


def stratified_indices(
    labels: np.ndarray, fraction: float, seed: int = DATA_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (kept, taken) with `fraction` of each class taken (rounded),
    leaving at least one example of every class in `kept`. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    kept, taken = [], []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        n_take = min(int(round(fraction * len(idx))), len(idx) - 1)
        taken.append(idx[:n_take])
        kept.append(idx[n_take:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(taken))


def stratified_sample(labels: np.ndarray, size: int, seed: int | tuple = DATA_SEED) -> np.ndarray:
    """Sorted indices of a stratified sample of exactly `size` examples (all when size >=
    len): per-class quotas by largest remainder, at least one per class while size allows."""
    if size >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    quota = np.floor(exact).astype(int)
    if size >= len(classes):
        quota = np.maximum(quota, 1)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if quota.sum() >= size:
            break
        if quota[i] < counts[i]:
            quota[i] += 1
    while quota.sum() > size:  # the minimum of one per class overshot: trim the largest
        quota[np.argmax(quota)] -= 1
    picked = []
    for label, take in zip(classes, quota, strict=True):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        picked.append(idx[:take])
    return np.sort(np.concatenate(picked))


def make_splits(
    texts: list[str], labels: np.ndarray, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> tuple[TextSplit, TextSplit, TextSplit]:
    """Seeded stratified train / validation / test from one pool of examples.

    Duplicate texts are dropped first (the first one is kept), so that no text is in two
    splits."""
    first = dict.fromkeys(range(len(texts)))
    seen: set[str] = set()
    for i, text in enumerate(texts):
        if text in seen:
            del first[i]
        seen.add(text)
    keep = np.fromiter(first, dtype=np.int64, count=len(first))
    pool = TextSplit([texts[i] for i in keep], np.asarray(labels, dtype=np.int64)[keep])
    rest, test = stratified_indices(pool.labels, test_fraction, DATA_SEED)
    rest_split = pool.subset(rest)
    train, val = stratified_indices(
        rest_split.labels, val_fraction / (1 - test_fraction), DATA_SEED + 1
    )
    return rest_split.subset(train), rest_split.subset(val), pool.subset(test)


def carve_validation(train: TextSplit, fraction: float = 0.1) -> tuple[TextSplit, TextSplit]:
    """Seeded stratified validation split taken out of an official train split."""
    keep, val = stratified_indices(train.labels, fraction, DATA_SEED + 2)
    return train.subset(keep), train.subset(val)


def encode_labels(raw: list, names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Map raw labels (strings or ints) to 0..K-1; names sorted unless given."""
    names = names if names is not None else sorted({str(x) for x in raw})
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[str(x)] for x in raw], dtype=np.int64), names


def subsample(split: TextSplit, size: int | None, seed: int | tuple = DATA_SEED) -> TextSplit:
    """A stratified subsample of a split (the same for every method and seed)."""
    return split if size is None else split.subset(stratified_sample(split.labels, size, seed))


def training_subsample_seed(data_seed: int) -> int | tuple[int, int]:
    """The seed of the training subsample: the fixed data seed (setting 0, every record
    before 2026-12-07), else its own stream of it per `data_seed`."""
    return DATA_SEED if data_seed == 0 else (DATA_SEED, 100 + data_seed)


@dataclass(frozen=True)
class DatasetEntry:
    """A registered dataset: how to load it and whether it can be loaded here."""

    name: str
    kind: str  # packaged | hub | local
    loader: Callable[[], TextDataset]
    availability: Callable[[], str | None]  # None when available, else the reason
    num_labels: int | None = None
    description: str = ""
    stands_in_for: str = ""
