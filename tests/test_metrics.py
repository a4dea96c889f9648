import math

import numpy as np
import pytest
import torch

from bench.run.metrics import classification_metrics, expected_calibration_error


def test_metrics_equal_hand_computed_values():
    # probabilities chosen by hand; logits = log(probs) so softmax gives them back
    probs = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    labels = torch.tensor([0, 1, 1, 0])
    m = classification_metrics(probs.log(), labels, num_labels=2)
    # predictions 0, 0, 1, 1 -> correct, wrong, correct, wrong
    assert m.accuracy == pytest.approx(0.5)
    # class 0: tp=1 fp=1 fn=1 -> F1 0.5; class 1: tp=1 fp=1 fn=1 -> 0.5
    assert m.macro_f1 == pytest.approx(0.5)
    nll = -(math.log(0.9) + math.log(0.4) + math.log(0.7) + math.log(0.2)) / 4
    assert m.nll == pytest.approx(nll, rel=1e-6)
    # confidences 0.9, 0.6, 0.7, 0.8 fall in four different bins of width 1/15:
    # ECE = 1/4 * (|1-0.9| + |0-0.6| + |1-0.7| + |0-0.8|)
    assert m.ece == pytest.approx((0.1 + 0.6 + 0.3 + 0.8) / 4, rel=1e-6)


def test_ece_bins_pool_examples():
    # both confidences in bin (0.6, 0.667]: |mean acc 0.5 - mean conf 0.65| = 0.15
    assert expected_calibration_error(
        np.array([0.62, 0.68 - 0.02]), np.array([1.0, 0.0])
    ) == pytest.approx(abs(0.5 - (0.62 + 0.66) / 2))


def test_perfectly_calibrated_is_zero():
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0


def test_macro_f1_counts_absent_classes():
    logits = torch.tensor([[5.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    m = classification_metrics(logits, torch.tensor([0, 0]), num_labels=3)
    assert m.macro_f1 == pytest.approx(1 / 3)
