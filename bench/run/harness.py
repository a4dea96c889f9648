"""The one training and evaluation loop that every method runs through.

harness.run(spec): load data -> tokenize (cached) -> model + head -> train with the
method's mixing -> evaluate on validation each epoch -> test metrics of the selected epoch
(the last one, or the one with the best validation accuracy).
"""

from __future__ import annotations

import copy
import math
import os
import platform
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from bench.api.method_api import MixupMethod
from bench.api.registry import create_method
from bench.core.config import RunSpec, TrainSettings
from bench.core.errors import UserError
from bench.core.precision import cpu_bf16_fast
from bench.core.records import (
    Cost,
    DataInfo,
    DeviceInfo,
    EpochPoint,
    Metrics,
    Mixing,
    ModelInfo,
    OODScores,
    Predictions,
    RunResult,
    Scores,
    TrainOutcome,
)
from bench.core.streams import numpy_stream, seed_torch
from bench.run.batching import Encoded, collate, encode, eval_batches, train_batches
from bench.run.datasets.regimes import prepare
from bench.run.datasets.registry import DatasetRegistry, load_dataset_cached
from bench.run.input_noise import noisy_inputs
from bench.run.measure import PeakRSS, StepTimer, memory_report, reset_cuda_peak
from bench.run.metrics import classification_metrics, ood_detection
from bench.run.models import Classifier, load_backbone, reinitialise_pooler, resolve_model
from bench.run.training import Trainer, autocast_for, configure_cuda, subnormals_for


@dataclass
class Runtime:
    """How to run (not what): never part of a spec or its hash."""

    device: str = "auto"
    progress: bool = True
    trust_remote_code: bool = False
    threads: int | None = None
    dataset_registry: DatasetRegistry | None = None
    compile: bool = False  # torch.compile the hook-free blocks of each layer
    _backbones: dict[str, Any] = field(default_factory=dict)

    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is available; use --device cpu")
        return torch.device(self.device)

    def backbone(self, model_name: str):
        """(pristine encoder, tokenizer, resolved), loaded once per process."""
        if model_name not in self._backbones:
            resolved = resolve_model(model_name)
            encoder, tokenizer = load_backbone(resolved, self.trust_remote_code)
            self._backbones[model_name] = (encoder, tokenizer, resolved)
        return self._backbones[model_name]


@torch.inference_mode()
def predict(
    model: nn.Module, encoded: Encoded, settings: TrainSettings, pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels in the original order; never mixes (no hooks are installed)."""
    model.eval()
    logits = torch.empty((len(encoded), model.head.out_features))
    for index in eval_batches(encoded, settings.eval_batch_size):
        batch, _ = collate(encoded, index, pad_id, device)
        with autocast_for(settings, device):
            logits[torch.from_numpy(index)] = model(**batch).float().cpu()
    return logits, torch.from_numpy(encoded.labels)


class EpochSelector:
    """Keeps the epoch to test: the last one, or the one with the best validation accuracy
    (the first of equals), with a CPU copy of its weights."""

    def __init__(self, selection: str, epochs: int) -> None:
        self.selection, self.epochs = selection, epochs
        self.epoch = 0
        self.validation: Scores | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def offer(self, epoch: int, validation: Scores, model: nn.Module) -> None:
        if self.selection == "last":
            if epoch == self.epochs:
                self.epoch, self.validation = epoch, validation
            return
        if self.validation is None or validation.accuracy > self.validation.accuracy:
            self.epoch, self.validation = epoch, validation
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def restore(self, model: nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


def train_epoch(
    trainer: Trainer,
    train: Encoded,
    pad_id: int,
    order_rng: np.random.Generator,
    method_rng: np.random.Generator,
    timer: StepTimer,
    bar: Any,
) -> tuple[list[float], list[float]]:
    """One pass over the training set in the order drawn from `order_rng`; the losses and
    1 - lambda of every step. The losses stay on the device until the epoch ends (reading
    one makes the host wait for a GPU), and so does the finite-loss check on a GPU."""
    settings, device = trainer.settings, trainer.device
    trainer.model.train()
    losses: list[torch.Tensor] = []
    one_minus_lam: list[float] = []
    lengths = (
        [len(ids) for ids in train.input_ids] if settings.batching == "length-grouped" else None
    )
    for index in train_batches(len(train), settings.batch_size, order_rng, lengths):
        batch, labels = collate(train, index, pad_id, device)
        timer.start()
        out = trainer.step(batch, labels, method_rng)
        timer.stop()
        losses.append(out.loss.detach())
        one_minus_lam.append(1.0 - out.lam)
        bar.update(1)
    trainer.check_finite()
    timer.flush()
    values = torch.stack(losses).float().cpu().tolist() if losses else []
    bar.set_postfix(loss=f"{np.mean(values):.3f}" if values else "")
    return values, one_minus_lam


def train_and_evaluate(
    model: Classifier,
    method: MixupMethod,
    data: dict[str, Encoded],
    settings: TrainSettings,
    seed: int,
    device: torch.device,
    pad_id: int,
    num_labels: int,
    progress: bool = False,
    label: str = "",
) -> TrainOutcome:
    """Train with `method`; test the last epoch or the one with the best validation accuracy
    (`settings.selection`); metrics and cost.

    Common random numbers: the data order, the dropout masks and the method's own draws come
    from separate streams of `seed`, so every method of one seed sees the same batches and
    dropout, and a method's permutations and lambdas never shift anything else."""
    model.to(device)
    train = data["train"]
    total_steps = math.ceil(len(train) / settings.batch_size) * settings.epochs
    trainer = Trainer(model, method, settings, device, total_steps)
    order_rng = numpy_stream(settings.stream_seed("data_order", seed), "data_order")
    method_rng = numpy_stream(seed, "method")
    seed_torch(settings.stream_seed("dropout", seed), "dropout")
    timer = StepTimer(device)
    reset_cuda_peak(device)
    curves: list[EpochPoint] = []
    one_minus_lam: list[float] = []
    selector = EpochSelector(settings.selection, settings.epochs)
    bar = tqdm(total=total_steps, desc=label, disable=not progress, leave=False, unit="step")
    with PeakRSS() as rss:
        for epoch in range(1, settings.epochs + 1):
            losses, mixed = train_epoch(trainer, train, pad_id, order_rng, method_rng, timer, bar)
            one_minus_lam += mixed
            val_logits, val_labels = predict(model, data["validation"], settings, pad_id, device)
            val = classification_metrics(val_logits, val_labels, num_labels)
            curves.append(EpochPoint(epoch, float(np.mean(losses)), val.accuracy, val.nll))
            selector.offer(epoch, val, model)
        bar.close()
        selector.restore(model)
        tested = test_selected(model, data, settings, pad_id, device, num_labels)
    assert selector.validation is not None  # every run trains at least one epoch
    return TrainOutcome(
        metrics=Metrics(
            tested.scores, selector.validation, selector.epoch, tuple(curves), tested.ood
        ),
        cost=Cost(
            train_seconds=timer.total,
            median_step_seconds=timer.median,
            steps=len(timer.step_seconds),
            examples_per_second=len(train) * settings.epochs / timer.total if timer.total else 0.0,
            activation_mb=(trainer.saved_activation_bytes or 0) / 2**20,
            **memory_report(device, rss),
        ),
        mixing=mixing_statistics(one_minus_lam),
        predictions=tested.predictions,
    )


@dataclass(frozen=True)
class Tested:
    """The selected epoch on the test set: scores, predictions, and held-out detection."""

    scores: Scores
    predictions: Predictions
    ood: OODScores | None


def test_selected(
    model: nn.Module,
    data: dict[str, Encoded],
    settings: TrainSettings,
    pad_id: int,
    device: torch.device,
    num_labels: int,
) -> Tested:
    """Test the model as it is now (the selected epoch's weights)."""
    logits, labels = predict(model, data["test"], settings, pad_id, device)
    ood = None
    if "ood_test" in data:
        ood_logits, _ = predict(model, data["ood_test"], settings, pad_id, device)
        ood = ood_detection(confidence(logits), confidence(ood_logits))
    predictions = Predictions(logits.argmax(-1).numpy(), labels.numpy(), confidence(logits))
    return Tested(classification_metrics(logits, labels, num_labels), predictions, ood)


def confidence(logits: torch.Tensor) -> np.ndarray:
    """The max-softmax probability of each example."""
    return logits.float().softmax(-1).max(-1).values.numpy()


MIXING_THRESHOLD = 0.01  # a step "really mixes" when 1 - lambda exceeds this


def mixing_statistics(one_minus_lam: list[float]) -> Mixing:
    """Mean 1 - lambda over the steps, and the share of steps that really mix."""
    values = np.asarray(one_minus_lam, dtype=float)
    if values.size == 0:
        return Mixing(0.0, 0.0)
    return Mixing(float(values.mean()), float(np.mean(values > MIXING_THRESHOLD)))


def head_pooling(method: MixupMethod, settings: TrainSettings) -> str:
    """The pooling before the head: the run's shared one, or (--head published) the one
    the AMPLIFY authors' code gives this method (its `published_head`)."""
    if settings.head == "shared":
        return settings.pooling
    if method.published_head is None:
        raise UserError(
            f"method {method.name!r} has no published head in the AMPLIFY authors' code: "
            "run it with --head shared"
        )
    return method.published_head


@dataclass
class PreparedRun:
    """What a run trains on: the model with its head, the method, the encoded splits, and
    what the record says of its data and model."""

    model: Classifier
    method: MixupMethod
    data: dict[str, Encoded]
    pad_id: int
    data_info: DataInfo
    model_info: ModelInfo


def prepare_run(spec: RunSpec, runtime: Runtime) -> PreparedRun:
    """Load and prepare the data, build the model (the head from the seed's init stream)
    and the method, tokenize, and apply input noise."""
    dataset_registry = runtime.dataset_registry
    assert dataset_registry is not None
    dataset = prepare(load_dataset_cached(dataset_registry.get(spec.dataset)), spec.settings)
    encoder, tokenizer, resolved = runtime.backbone(spec.model)
    method = create_method(spec.method, dict(spec.method_options))
    if spec.settings.label_partner == "independent":
        method.label_rng = numpy_stream(spec.seed, "label_partner")
    pooling = head_pooling(method, spec.settings)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # the head: the same for every method of this seed
    seed_torch(spec.settings.stream_seed("init", spec.seed), "init")
    model = Classifier(
        copy.deepcopy(encoder),
        dataset.num_labels,
        pooling,
        spec.settings.dropout,
        pad_to=spec.settings.max_length if pooling == "plain-mean" else None,
        pad_id=pad_id,
    )
    if pooling == "pooler-reinit":  # its own stream: the head's init stays the seed's
        seed_torch(spec.seed, "pooler")
        reinitialise_pooler(model)
    if runtime.compile:
        model.compile_blocks()
    data = {
        split: encode(dataset.split(split), tokenizer, spec.settings.max_length)
        for split in ("train", "validation", "test")
    }
    if dataset.ood_test is not None:
        data["ood_test"] = encode(dataset.ood_test, tokenizer, spec.settings.max_length)
    input_noise = None
    if spec.settings.input_noise:
        data["train"], input_noise = noisy_inputs(
            data["train"], spec.settings.input_noise, set(tokenizer.all_special_ids), len(tokenizer)
        )
    data_info = DataInfo(
        fingerprint=dataset.fingerprint(),
        source=dataset.source,
        sizes={split: len(encoded) for split, encoded in data.items()},
        num_labels=dataset.num_labels,
        label_names=dataset.label_names,
        held_out_classes=dataset.held_out,
        noisy_labels=0 if dataset.noise is None else dataset.noise.changed,
        noise_fingerprint=None if dataset.noise is None else dataset.noise.fingerprint,
        revision=dataset.revision,
        noisy_tokens=0 if input_noise is None else input_noise.replaced,
        input_noise_fingerprint=None if input_noise is None else input_noise.fingerprint,
    )
    model_info = ModelInfo(
        name=resolved.name,
        revision=resolved.revision,
        family=model.family,
        depth=model.depth,
        parameters=sum(p.numel() for p in model.parameters()),
        **pooler_info(encoder, pooling),
    )
    return PreparedRun(model, method, data, pad_id, data_info, model_info)


def pooler_info(encoder: nn.Module, pooling: str) -> dict[str, str | None]:
    """What the record says of the [CLS] pooler where the head uses it."""
    if pooling == "pooler-reinit":
        return {"pooler_weights": "initialised", "pooler_evidence": "re-initialised N(0, 0.02)"}
    if pooling != "pooler":
        return {}
    return {
        "pooler_weights": getattr(encoder, "pooler_weights", None),
        "pooler_evidence": getattr(encoder, "pooler_evidence", None),
    }


def run(spec: RunSpec, runtime: Runtime) -> RunResult:
    """Execute one spec; returns its result (the driver makes the record)."""
    if runtime.threads:
        torch.set_num_threads(runtime.threads)
    device = runtime.torch_device()
    configure_cuda(device, spec.settings)
    prepared = prepare_run(spec, runtime)
    with subnormals_for(spec.settings):
        trained = train_and_evaluate(
            prepared.model,
            prepared.method,
            prepared.data,
            spec.settings,
            spec.seed,
            device,
            prepared.pad_id,
            prepared.data_info.num_labels,
            runtime.progress,
            spec.label,
        )
    return RunResult.of(
        trained, prepared.data_info, prepared.model_info, device_info(device, runtime)
    )


def device_info(device: torch.device, runtime: Runtime) -> DeviceInfo:
    return DeviceInfo(
        type=device.type,
        name=device_name(device),
        threads=torch.get_num_threads(),
        cpu_count=os.cpu_count(),
        compiled=runtime.compile,
        bf16_fast=cpu_bf16_fast() if device.type == "cpu" else None,
    )


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return f"CPU {model} ({torch.get_num_threads()} threads)"
