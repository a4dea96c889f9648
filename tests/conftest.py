"""Shared fixtures: tiny randomly initialised encoders (no download) and toy data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    ElectraConfig,
    ElectraModel,
    MPNetConfig,
    MPNetModel,
    RobertaConfig,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaModel,
)

from bench.report.render import figures
from bench.run.batching import Encoded
from bench.run.models import Classifier

# the unit tests train tiny encoders: one thread is faster for them than two contending
torch.set_num_threads(1)
# and in this process: a pool's start (spawned workers importing torch) would dominate a
# tiny sweep (--workers auto is tested on its own); subprocesses of the tests inherit it
os.environ["MIXUP_BENCH_WORKERS"] = "1"

VOCAB = 64
SMALL = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
)

FAMILIES = {
    "bert": (BertConfig, BertModel, SMALL),
    "roberta": (RobertaConfig, RobertaModel, {**SMALL, "pad_token_id": 1}),
    "xlm-roberta": (XLMRobertaConfig, XLMRobertaModel, {**SMALL, "pad_token_id": 1}),
    "electra": (ElectraConfig, ElectraModel, {**SMALL, "embedding_size": 32}),
    "mpnet": (MPNetConfig, MPNetModel, {**SMALL, "pad_token_id": 1}),
    "distilbert": (
        DistilBertConfig,
        DistilBertModel,
        dict(
            vocab_size=VOCAB,
            dim=32,
            n_layers=4,
            n_heads=4,
            hidden_dim=64,
            max_position_embeddings=64,
        ),
    ),
}


def tiny_encoder(family: str = "bert", seed: int = 0):
    config_cls, model_cls, kwargs = FAMILIES[family]
    torch.manual_seed(seed)
    return model_cls(config_cls(**kwargs))


def tiny_classifier(
    family: str = "bert", num_labels: int = 3, seed: int = 0, pooling: str = "mean"
) -> Classifier:
    encoder = tiny_encoder(family, seed)
    torch.manual_seed(seed)
    return Classifier(encoder, num_labels, pooling=pooling, dropout=0.1)


def toy_batch(batch_size: int = 5, length: int = 7, seed: int = 0, token_types: bool = True):
    """Random ids with ragged lengths (so padding and masks matter) and labels."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (batch_size, length), generator=gen)
    lengths = torch.randint(2, length + 1, (batch_size,), generator=gen)
    lengths[0] = length
    mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
    ids = ids * mask  # pad id 0
    batch = {"input_ids": ids, "attention_mask": mask}
    if token_types:
        batch["token_type_ids"] = torch.zeros_like(ids)
    labels = torch.randint(0, 3, (batch_size,), generator=gen)
    return batch, labels


def separable_encoded(n: int = 96, seed: int = 0) -> Encoded:
    """Class 0 uses tokens 5-14, class 1 tokens 20-29: easy to learn."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    ids = []
    for label in labels:
        base = 5 if label == 0 else 20
        length = int(rng.integers(3, 9))
        ids.append([2] + [int(x) for x in rng.integers(base, base + 10, length)] + [3])
    return Encoded(ids, None, labels.astype(np.int64))


def _unrendered(fig, out_dir, name, rect=(0, 0, 1, 1)) -> None:
    """Stand-in for `figures._save`: write both files empty, skip layout and rendering."""
    for suffix in (".png", ".svg"):
        (out_dir / f"{name}{suffix}").touch()
    figures.plt.close(fig)


def skip_figure_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that read a report's text and tables only: matplotlib's layout and
    rendering are most of a small report's time. Tests of the figures render them."""
    monkeypatch.setattr(figures, "_save", _unrendered)


@pytest.fixture
def unrendered_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    skip_figure_rendering(monkeypatch)


@pytest.fixture
def classifier() -> Classifier:
    return tiny_classifier()


# ---------------------------------------------------------------- records without training


def fake_result(
    pred=(0, 1, 1, 0), label=(0, 1, 0, 0), accuracy: float | None = None, train_seconds=1.0
):
    """A RunResult as the harness would return it, with chosen predictions."""
    from bench.core.records import (
        Cost,
        DataInfo,
        DeviceInfo,
        Metrics,
        Mixing,
        ModelInfo,
        Predictions,
        RunResult,
    )

    pred, label = np.asarray(pred), np.asarray(label)
    acc = float(np.mean(pred == label)) if accuracy is None else accuracy
    scores = {"accuracy": acc, "macro_f1": acc, "nll": 0.5, "ece": 0.1}
    return RunResult(
        metrics=Metrics.from_dict(
            {
                "test": scores,
                "validation": scores,
                "tested_epoch": 1,
                "curves": [{"epoch": 1, "train_loss": 0.5, "val_accuracy": acc, "val_nll": 0.5}],
            }
        ),
        cost=Cost(train_seconds, 0.1, 10, 40.0, 100.0, "cpu_rss", 100.0),
        mixing=Mixing(0.0, 0.0),
        data=DataInfo(
            "f" * 16, "test", {"train": 8, "validation": 4, "test": len(label)}, 2, ["a", "b"]
        ),
        model=ModelInfo("tiny", "local", "bert", 2, 100),
        device=DeviceInfo("cpu", "cpu"),
        predictions=Predictions(pred, label, np.full(len(pred), 0.8)),
    )


def fake_record(spec, status="ok", result=None, error=None, label=None):
    """A RunRecord for `spec` (a fake result when ok and none is given)."""
    from bench.core.provenance import now
    from bench.core.records import Provenance, RunRecord, RunStatus

    status = RunStatus(status)
    if status is RunStatus.OK and result is None:
        result = fake_result()
    return RunRecord(
        spec=spec,
        status=status,
        provenance=Provenance({"torch": "x"}, "abc", now(), now(), "test", "python run_bench.py"),
        method_label=label or spec.method,
        result=result if status is RunStatus.OK else None,
        error=error,
    )


def report_text(report: Path) -> str:
    """REPORT.md and, where the report has one, its APPENDIX.md (every block and study),
    as one text: what a reader of both files sees."""
    appendix = report.parent / "APPENDIX.md"
    extra = appendix.read_text() if appendix.is_file() else ""
    return report.read_text() + "\n" + extra
