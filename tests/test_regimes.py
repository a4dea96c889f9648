"""Study regimes: label noise, per-class budgets and held-out classes are exact,
deterministic, leave the evaluation splits clean, change the spec hash, and are refused
with a clear error when they make no sense."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.api.registry import create_method
from bench.core.config import PROFILES, REGIME_FIELDS, RunSpec, TrainSettings
from bench.core.errors import UserError
from bench.run.datasets.base import TextDataset, TextSplit
from bench.run.datasets.regimes import corrupt_labels, held_out_classes, per_class_indices, prepare
from bench.run.harness import train_and_evaluate
from bench.run.metrics import ood_detection
from bench.sweep.planning import SweepRequest
from tests.conftest import separable_encoded, tiny_classifier

ROOT = Path(__file__).resolve().parent.parent
K = 5


def split(n: int, seed: int, prefix: str) -> TextSplit:
    labels = np.random.default_rng(seed).integers(0, K, n).astype(np.int64)
    return TextSplit([f"{prefix} {i}" for i in range(n)], labels)


def toy_dataset() -> TextDataset:
    return TextDataset(
        "toy",
        split(400, 0, "train"),
        split(100, 1, "val"),
        split(200, 2, "test"),
        [f"class{i}" for i in range(K)],
        "in memory",
    )


def settings(**changes) -> TrainSettings:
    base = dict(train_size=200, val_size=50, test_size=100)
    return TrainSettings(**{**base, **changes})


# ---------------------------------------------------------------- label noise


@pytest.mark.parametrize("kind", ["symmetric", "pair"])
@pytest.mark.parametrize("rate", [0.1, 0.25, 0.4])
def test_noise_rate_is_realised_exactly_and_only_on_the_chosen_labels(kind, rate):
    labels = np.random.default_rng(3).integers(0, K, 333)
    new, changed = corrupt_labels(labels, rate, kind, K)
    assert len(changed) == round(rate * len(labels))
    assert np.count_nonzero(new != labels) == len(changed)  # every chosen label moved
    assert np.array_equal(np.flatnonzero(new != labels), changed)
    if kind == "pair":
        assert np.array_equal(new[changed], (labels[changed] + 1) % K)
    else:  # uniform over the other classes: every shift occurs
        assert set(((new[changed] - labels[changed]) % K).tolist()) == {1, 2, 3, 4}


def test_noise_is_deterministic_and_leaves_evaluation_splits_clean():
    data = toy_dataset()
    clean = prepare(data, settings())
    noisy = prepare(data, settings(label_noise=0.3, noise_kind="pair"))
    again = prepare(data, settings(label_noise=0.3, noise_kind="pair"))
    assert noisy.train.texts == clean.train.texts  # the same examples, other labels
    assert np.count_nonzero(noisy.train.labels != clean.train.labels) == 60
    assert noisy.noise.changed == 60
    assert np.array_equal(noisy.train.labels, again.train.labels)
    assert noisy.noise.fingerprint == again.noise.fingerprint
    for name in ("validation", "test"):
        assert noisy.split(name).texts == clean.split(name).texts
        assert np.array_equal(noisy.split(name).labels, clean.split(name).labels)
    other = prepare(data, settings(label_noise=0.3))
    assert other.noise.fingerprint != noisy.noise.fingerprint
    assert clean.noise is None


# ---------------------------------------------------------------- per-class budgets


@pytest.mark.parametrize("n", [1, 7, 30])
def test_per_class_counts_are_exact(n):
    data = prepare(toy_dataset(), settings(train_size=None, per_class=n))
    counts = np.bincount(data.train.labels, minlength=K)
    available = np.bincount(toy_dataset().train.labels, minlength=K)
    assert counts.tolist() == np.minimum(n, available).tolist()
    again = per_class_indices(toy_dataset().train.labels, n)
    assert data.train.texts == toy_dataset().train.subset(again).texts


def test_per_class_excludes_train_size():
    with pytest.raises(UserError, match="--per-class and --train-size are exclusive"):
        TrainSettings(per_class=5, train_size=100)
    with pytest.raises(UserError, match="--per-class and --train-size are exclusive"):
        SweepRequest(overrides={"per_class": 5, "train_size": 100}).settings()
    resolved = SweepRequest(overrides={"per_class": 5}).settings()
    assert resolved.per_class == 5 and resolved.train_size is None  # the profile's 512 is off


# ---------------------------------------------------------------- held-out classes


def test_held_out_classes_are_disjoint_from_training():
    data = prepare(toy_dataset(), settings(ood_classes=2))
    original = toy_dataset()
    out = held_out_classes(K, 2)
    assert len(data.held_out) == 2
    assert data.held_out == [original.label_names[i] for i in out]
    assert not set(data.held_out) & set(data.label_names)
    assert data.num_labels == K - 2
    for name in ("train", "validation", "test"):
        part = data.split(name)
        assert part.labels.min() >= 0 and part.labels.max() < K - 2
        source = dict(
            zip(original.split(name).texts, original.split(name).labels.tolist(), strict=True)
        )
        assert all(source[t] not in out for t in part.texts)
        # renumbered, order kept: the kept class names still name each example's class
        names = [original.label_names[source[t]] for t in part.texts]
        assert names == [data.label_names[i] for i in part.labels]
    test_source = dict(zip(original.test.texts, original.test.labels.tolist(), strict=True))
    assert data.ood_test is not None and len(data.ood_test) > 0
    assert all(test_source[t] in out for t in data.ood_test.texts)
    assert not set(data.ood_test.texts) & set(data.test.texts)
    assert len(data.ood_test) + len(data.test) == 100  # test_size over all classes


@pytest.mark.parametrize("k", [4, 5, 9])
def test_too_many_held_out_classes_are_refused(k):
    with pytest.raises(UserError, match=f"ood_classes={k} with 5 classes"):
        held_out_classes(K, k)


def test_ood_scores_of_a_perfect_a_random_and_an_inverted_scorer():
    rng = np.random.default_rng(0)
    perfect = ood_detection(rng.uniform(0.6, 1.0, 500), rng.uniform(0.1, 0.5, 300))
    assert perfect.auroc == 1.0 and perfect.fpr95 == 0.0
    assert perfect.in_distribution == 500 and perfect.out_of_distribution == 300
    random = ood_detection(rng.uniform(0, 1, 4000), rng.uniform(0, 1, 4000))
    assert random.auroc == pytest.approx(0.5, abs=0.03)
    assert random.fpr95 == pytest.approx(0.95, abs=0.03)
    inverted = ood_detection(rng.uniform(0.1, 0.5, 300), rng.uniform(0.6, 1.0, 300))
    assert inverted.auroc == 0.0 and inverted.fpr95 == 1.0


def test_training_with_held_out_examples_records_detection_scores():
    data = {
        "train": separable_encoded(64, 0),
        "validation": separable_encoded(16, 1),
        "test": separable_encoded(32, 2),
        "ood_test": separable_encoded(24, 3),
    }
    model = tiny_classifier(num_labels=2, seed=0)
    outcome = train_and_evaluate(
        model,
        create_method("none"),
        data,
        TrainSettings(epochs=1, batch_size=16),
        0,
        torch.device("cpu"),
        0,
        2,
    )
    ood = outcome.metrics.ood
    assert ood is not None and 0 <= ood.auroc <= 1 and 0 <= ood.fpr95 <= 1
    assert (ood.in_distribution, ood.out_of_distribution) == (32, 24)
    assert len(outcome.predictions.pred) == 32  # predictions: in-distribution only


# ---------------------------------------------------------------- specs


def test_regime_fields_change_the_hash_and_defaults_keep_the_old_one():
    base = RunSpec("none", "r8", "minilm-l6", 0, PROFILES["quick"])
    assert not set(REGIME_FIELDS) & set(base.to_dict()["settings"])
    hashes = {base.hash}
    for change in (
        {"label_noise": 0.2},
        {"label_noise": 0.2, "noise_kind": "pair"},
        {"per_class": 10, "train_size": None},
        {"ood_classes": 2},
    ):
        spec = dataclasses.replace(base, settings=dataclasses.replace(base.settings, **change))
        assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
        hashes.add(spec.hash)
    assert len(hashes) == 5


def test_committed_records_keep_their_hashes():
    """The records under results/ were written before the regime fields existed."""
    paths = sorted((ROOT / "results" / "runs").rglob("*.json"))[:50]
    assert paths, "no committed records to check"
    for path in paths:
        data = json.loads(path.read_text())
        assert RunSpec.from_dict(data["spec"]).hash == data["spec_hash"] == path.stem.split("-")[-1]


@pytest.mark.parametrize(
    "change,match",
    [
        ({"label_noise": 1.0}, "label_noise=1.0: must be a share of labels in [0, 1)"),
        ({"label_noise": -0.1}, "label_noise=-0.1"),
        ({"per_class": 0, "train_size": None}, "per_class=0: must be >= 1"),
        ({"ood_classes": -1}, "ood_classes=-1: must be >= 0"),
        ({"noise_kind": "pair"}, "without label noise"),
        ({"label_noise": 0.1, "noise_kind": "flip"}, "invalid noise kind 'flip'"),
    ],
)
def test_invalid_regimes_are_refused(change, match):
    with pytest.raises(UserError, match=match.replace("[", r"\[").replace(")", r"\)")):
        TrainSettings(**change)


def test_encoding_the_same_texts_keeps_each_splits_own_labels():
    """The tokenization cache is keyed by texts; noisy labels must not be served from it."""
    from transformers import BertTokenizerFast

    from bench.run.batching import encode

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"]
    path = ROOT / ".pytest-vocab.txt"
    path.write_text("\n".join(vocab))
    try:
        tokenizer = BertTokenizerFast(vocab_file=str(path))
    finally:
        path.unlink()
    texts = ["a b", "b a", "a a"]
    clean = encode(TextSplit(texts, np.array([0, 1, 0])), tokenizer, 16)
    noisy = encode(TextSplit(texts, np.array([1, 1, 1])), tokenizer, 16)
    assert clean.labels.tolist() == [0, 1, 0] and noisy.labels.tolist() == [1, 1, 1]
    assert noisy.input_ids == clean.input_ids


# ---------------------------------------------------------------- input noise


def toy_encoded():
    from bench.run.batching import Encoded

    rows = [[101, *range(10 + i, 30 + i), 102] for i in range(12)]  # [CLS] ... [SEP]
    return Encoded(rows, None, np.arange(12) % 2)


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_input_noise_replaces_exactly_the_share_and_never_special_tokens(rate):
    from bench.run.input_noise import noisy_inputs

    clean = toy_encoded()
    noisy, noise = noisy_inputs(clean, rate, {0, 101, 102}, 200)
    changed = [
        (i, j)
        for i, (a, b) in enumerate(zip(clean.input_ids, noisy.input_ids, strict=True))
        for j, (x, y) in enumerate(zip(a, b, strict=True))
        if x != y
    ]
    assert len(changed) == noise.replaced == round(rate * 12 * 20)  # 240 non-special tokens
    assert all(row[0] == 101 and row[-1] == 102 for row in noisy.input_ids)
    assert all(noisy.input_ids[i][j] not in {0, 101, 102} for i, j in changed)
    assert clean.input_ids == toy_encoded().input_ids  # the (cached) clean tokens untouched
    assert np.array_equal(noisy.labels, clean.labels)


def test_input_noise_comes_from_the_data_seed():
    from bench.run.input_noise import noisy_inputs

    a, na = noisy_inputs(toy_encoded(), 0.3, {0, 101, 102}, 200)
    b, nb = noisy_inputs(toy_encoded(), 0.3, {0, 101, 102}, 200)
    assert a.input_ids == b.input_ids and na.fingerprint == nb.fingerprint
    c, nc = noisy_inputs(toy_encoded(), 0.1, {0, 101, 102}, 200)
    assert nc.fingerprint != na.fingerprint


def test_input_noise_changes_the_hash_and_its_default_keeps_the_old_one():
    base = RunSpec("none", "r8", "minilm-l6", 0, PROFILES["quick"])
    assert "input_noise" not in base.to_dict()["settings"]
    noisy = dataclasses.replace(base, settings=dataclasses.replace(base.settings, input_noise=0.1))
    assert noisy.hash != base.hash
    assert RunSpec.from_dict(json.loads(json.dumps(noisy.to_dict()))) == noisy
    with pytest.raises(UserError, match="input_noise"):
        dataclasses.replace(base.settings, input_noise=1.0)


def test_a_split_left_empty_is_a_clear_error_not_an_index_error():
    empty_validation = dataclasses.replace(toy_dataset(), validation=split(0, 3, "val"))
    with pytest.raises(UserError, match="'toy' has fewer than 2 validation examples.*validation 0"):
        prepare(empty_validation, settings())
