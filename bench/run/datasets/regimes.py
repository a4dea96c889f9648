"""The data one run trains and tests on: the profile's subsamples, and the study regimes
(training-label noise, a per-class budget, classes held out as out-of-distribution).

Everything here draws from the fixed data seed, never from the run seed: every method and
every run seed of a spec sees the same examples, the same noisy labels and the same
held-out classes, so the comparisons stay paired. Validation and test labels stay clean.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from bench.core.config import MIN_SPLIT_SIZE, TrainSettings
from bench.core.errors import UserError
from bench.run.datasets.base import (
    DATA_SEED,
    SPLITS,
    LabelNoise,
    TextDataset,
    TextSplit,
    subsample,
    training_subsample_seed,
)

# one independent stream of the data seed per regime (numpy SeedSequence entropy lists)
HOLD_OUT_STREAM = (DATA_SEED, 1)
PER_CLASS_STREAM = (DATA_SEED, 2)
NOISE_STREAM = (DATA_SEED, 3)


def held_out_classes(num_labels: int, k: int) -> np.ndarray:
    """The sorted ids of the `k` classes held out (from the data seed)."""
    if not 0 <= k < num_labels - 1:
        raise UserError(
            f"ood_classes={k} with {num_labels} classes: hold out between 0 and "
            f"{max(num_labels - 2, 0)} (at least 2 classes must stay in training)"
        )
    rng = np.random.default_rng(HOLD_OUT_STREAM)
    return np.sort(rng.choice(num_labels, size=k, replace=False))


def hold_out(dataset: TextDataset, k: int) -> TextDataset:
    """Train and validation without the `k` held-out classes (the rest renumbered 0..);
    the test split's held-out examples move to `ood_test` (label -1)."""
    out = held_out_classes(dataset.num_labels, k)
    kept = np.setdiff1d(np.arange(dataset.num_labels), out)
    renumber = np.full(dataset.num_labels, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))

    def keep(split: TextSplit) -> TextSplit:
        part = split.subset(np.flatnonzero(np.isin(split.labels, kept)))
        return TextSplit(part.texts, renumber[part.labels])

    ood = dataset.test.subset(np.flatnonzero(np.isin(dataset.test.labels, out)))
    return dataclasses.replace(
        dataset,
        train=keep(dataset.train),
        validation=keep(dataset.validation),
        test=keep(dataset.test),
        label_names=[dataset.label_names[i] for i in kept],
        ood_test=TextSplit(ood.texts, np.full(len(ood), -1, dtype=np.int64)),
        held_out=[dataset.label_names[i] for i in out],
    )


def per_class_indices(labels: np.ndarray, n: int) -> np.ndarray:
    """Sorted indices of `n` examples of every class (all of a class that has fewer)."""
    rng = np.random.default_rng(PER_CLASS_STREAM)
    picked = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        picked.append(idx[:n])
    return np.sort(np.concatenate(picked))


def corrupt_labels(
    labels: np.ndarray, rate: float, kind: str, num_labels: int
) -> tuple[np.ndarray, np.ndarray]:
    """(new labels, sorted indices changed): exactly round(rate * n) labels changed, each
    to another class: uniformly (symmetric) or class c to c + 1 mod K (pair)."""
    rng = np.random.default_rng(NOISE_STREAM)
    changed = np.sort(rng.choice(len(labels), size=int(round(rate * len(labels))), replace=False))
    new = labels.copy()
    if kind == "pair":
        new[changed] = (labels[changed] + 1) % num_labels
    else:  # a uniform draw among the K - 1 other classes
        shift = rng.integers(1, num_labels, size=len(changed))
        new[changed] = (labels[changed] + shift) % num_labels
    return new, changed


def check_noise_below_majority(rate: float, kind: str, data: TextDataset) -> None:
    """Refuse a rate at which a wrong label is at least as common as the right one: at
    (K-1)/K for symmetric noise (each other class gets rate / (K-1)), at 1/2 for pair."""
    k = data.num_labels
    limit = (k - 1) / k if kind == "symmetric" else 0.5
    if rate >= limit:
        raise UserError(
            f"--label-noise {rate:g} ({kind}) on {data.name!r} ({k} classes): at or above "
            f"{limit:.2f} a wrong label is as common as the right one in each class, so "
            "nothing true is left to learn; choose a rate below it"
        )


def noise_fingerprint(changed: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.sha256()
    for index in changed.tolist():
        digest.update(f"{index}:{labels[index]}\n".encode())
    return digest.hexdigest()[:16]


def prepare(dataset: TextDataset, settings: TrainSettings) -> TextDataset:
    """The data of one spec: held-out classes first, then the training subsample (a
    per-class budget or the stratified train_size), the noise on that subsample, and the
    validation / test subsamples (the test one drawn over all classes, held-out included)."""
    test = subsample(dataset.test, settings.test_size)
    data = dataclasses.replace(dataset, test=test)
    if settings.ood_classes:
        data = hold_out(data, settings.ood_classes)
    if settings.per_class is not None:
        train = data.train.subset(per_class_indices(data.train.labels, settings.per_class))
    else:
        train = subsample(
            data.train, settings.train_size, training_subsample_seed(settings.data_seed)
        )
    noise = None
    if settings.label_noise:
        check_noise_below_majority(settings.label_noise, settings.noise_kind, data)
        labels, changed = corrupt_labels(
            train.labels, settings.label_noise, settings.noise_kind, data.num_labels
        )
        train = TextSplit(train.texts, labels)
        noise = LabelNoise(len(changed), noise_fingerprint(changed, labels))
    prepared = dataclasses.replace(
        data,
        train=train,
        validation=subsample(data.validation, settings.val_size),
        noise=noise,
    )
    check_not_empty(prepared)
    return prepared


def check_not_empty(data: TextDataset) -> None:
    """UserError naming a split with fewer than MIN_SPLIT_SIZE examples (a tiny dataset
    whose carved validation split rounds to nothing, a 1-example test file, a test set of
    held-out classes only): the same minimum as --val-size and --test-size."""
    for name in ("train", "validation", "test"):
        if len(data.split(name)) < MIN_SPLIT_SIZE:
            sizes = ", ".join(f"{split} {len(data.split(split))}" for split in SPLITS)
            raise UserError(
                f"dataset {data.name!r} has fewer than {MIN_SPLIT_SIZE} {name} examples for "
                f"this run ({sizes}): give more examples per class, or a {name}.csv of "
                "its own (--data-dir)"
            )
