"""Common random numbers: named, independent streams; every method of one seed sees the same
data order, initialisation and dropout; a method that never mixes reproduces `none`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bench.run.harness as harness
from bench.api.registry import create_method
from bench.core.config import TrainSettings
from bench.core.streams import STREAMS, numpy_stream, torch_seed
from bench.run.harness import train_and_evaluate
from tests.conftest import separable_encoded, tiny_classifier

SETTINGS = TrainSettings(epochs=3, batch_size=16, lr=2e-3, warmup_ratio=0.1)


def data():
    return {
        "train": separable_encoded(80, 0),
        "validation": separable_encoded(32, 1),
        "test": separable_encoded(48, 2),
    }


def train(method: str, options=None, seed: int = 5, settings=SETTINGS):
    model = tiny_classifier(num_labels=2, seed=0)
    method = create_method(method, options or {})
    return train_and_evaluate(model, method, data(), settings, seed, torch.device("cpu"), 0, 2)


def test_streams_are_named_independent_and_reproducible():
    draws = {name: numpy_stream(7, name).integers(0, 2**32, 4).tolist() for name in STREAMS}
    assert len({tuple(v) for v in draws.values()}) == len(STREAMS)
    assert numpy_stream(7, "method").integers(0, 2**32, 4).tolist() == draws["method"]
    assert numpy_stream(8, "method").integers(0, 2**32, 4).tolist() != draws["method"]
    assert len({torch_seed(7, name) for name in STREAMS}) == len(STREAMS)
    assert 0 <= torch_seed(7, "dropout") < 2**63
    with pytest.raises(ValueError, match="unknown random stream"):
        numpy_stream(0, "shuffle")


def test_every_method_sees_the_same_batches(monkeypatch):
    seen: dict[str, list[list[int]]] = {}
    real_collate = harness.collate

    def recording(encoded, index, pad_id, device):
        if len(encoded) == 80:  # the training split
            seen.setdefault(current, []).append(sorted(index.tolist()))
        return real_collate(encoded, index, pad_id, device)

    monkeypatch.setattr(harness, "collate", recording)
    for current in ("none", "amplify", "tmix"):
        train(current)
    assert seen["none"] == seen["amplify"] == seen["tmix"]
    assert len(seen["none"]) == 3 * 5


def test_a_method_whose_lambda_is_one_reproduces_none_exactly():
    """tmix with alpha 1e-9 still draws a permutation, a layer and a lambda every step, but
    lambda is exactly 1: with common random numbers nothing else may move."""
    plain = train("none")
    inert = train("tmix", {"alpha": 1e-9})
    assert inert.mixing.mean_one_minus_lambda == 0.0
    assert inert.mixing.share_mixing_steps == 0.0
    assert np.array_equal(plain.predictions.pred, inert.predictions.pred)
    assert plain.metrics.test.nll == inert.metrics.test.nll
    assert plain.metrics.curves == inert.metrics.curves


def test_a_mixing_method_does_move_the_result():
    # the converse: the invariant above is not true by construction
    plain = train("none")
    mixed = train("tmix", {"alpha": 0.4})
    assert mixed.mixing.share_mixing_steps > 0.5
    assert plain.metrics.curves != mixed.metrics.curves


def test_last_epoch_selection_tests_the_last_epoch():
    settings = TrainSettings(epochs=3, batch_size=16, lr=2e-3, warmup_ratio=0.1, selection="last")
    result = train("none", settings=settings)
    assert result.metrics.tested_epoch == 3
    assert result.metrics.validation.accuracy == (result.metrics.curves[-1].val_accuracy)
