"""Classification metrics from logits: accuracy, macro-F1, NLL and ECE (15 bins); and
out-of-distribution detection from confidences (AUROC, FPR at 95% TPR)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, roc_auc_score, roc_curve

from bench.core.records import OODScores, Scores

ECE_BINS = 15


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> float:
    """sum_b |B_b|/n * |acc(B_b) - conf(B_b)| over equal-width confidence bins (0, 1]."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor, num_labels: int) -> Scores:
    """accuracy, macro_f1 (over all classes), nll (mean), ece (15 bins) from logits."""
    logits = logits.float()
    probs = logits.softmax(-1)
    confidence, predictions = probs.max(-1)
    correct = (predictions == labels).numpy()
    return Scores(
        accuracy=float(correct.mean()),
        macro_f1=float(
            f1_score(
                labels.numpy(),
                predictions.numpy(),
                average="macro",
                labels=list(range(num_labels)),
                zero_division=0,
            )
        ),
        nll=float(F.cross_entropy(logits, labels)),
        ece=expected_calibration_error(confidence.numpy(), correct.astype(float)),
    )


def ood_detection(in_confidence: np.ndarray, out_confidence: np.ndarray) -> OODScores:
    """How well the max-softmax probability tells in-distribution test examples (positive)
    from those of held-out classes: AUROC, and the FPR on held-out examples at the first
    threshold that keeps 95% of the in-distribution ones (FPR95)."""
    scores = np.concatenate([in_confidence, out_confidence])
    positive = np.concatenate([np.ones(len(in_confidence)), np.zeros(len(out_confidence))])
    fpr, tpr, _ = roc_curve(positive, scores)
    return OODScores(
        auroc=float(roc_auc_score(positive, scores)),
        fpr95=float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
        in_distribution=len(in_confidence),
        out_of_distribution=len(out_confidence),
    )
