"""Speed figures of the harness, measured on the same model, data and machine in one run
(on demand, not a test). Prints one JSON line per figure.

    python benchmarks/speed.py [--figures overhead padding grouping eval compile] [--device auto]

overhead  a training step through the suite (method none) against a minimal hand-written
          PyTorch loop with the same model, batch and optimizer (goal <= 1.03x)
padding   one epoch on rt-polarity with dynamic padding against every batch padded to 256
          tokens (the published AMPLIFY setting), and the test accuracy of both (goal >= 3x)
grouping  length-grouped batching against plain dynamic padding: epoch time and accuracy
eval      evaluation throughput: the suite's (inference mode, batch 128, length-sorted)
          against a naive loop (no_grad, batch 32, data order)
compile   (not in the default list) --compile against eager: median training step after
          warm-up, and the compile time paid in the first steps, for none and amplify
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from bench.api.registry import create_method
from bench.core.config import PROFILES, TrainSettings
from bench.run.batching import collate, encode, train_batches
from bench.run.datasets.regimes import prepare
from bench.run.datasets.registry import build_registry, load_dataset_cached
from bench.run.harness import Runtime, device_name, predict, train_and_evaluate
from bench.run.metrics import classification_metrics
from bench.run.models import Classifier
from bench.run.training import Trainer


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


class Setup:
    """The packaged model and the quick profile's rt-polarity subsample, encoded once."""

    def __init__(self, device: torch.device, model: str, dataset: str) -> None:
        self.device = device
        runtime = Runtime(device=str(device), progress=False)
        self.encoder, self.tokenizer, _ = runtime.backbone(model)
        self.settings = PROFILES["quick"]
        data = prepare(load_dataset_cached(build_registry().get(dataset)), self.settings)
        self.num_labels = data.num_labels
        self.pad = self.tokenizer.pad_token_id or 0
        self.encoded = {
            s: encode(data.split(s), self.tokenizer, self.settings.max_length)
            for s in ("train", "validation", "test")
        }
        self.device_name = device_name(device)

    def classifier(self, seed: int = 0) -> Classifier:
        torch.manual_seed(seed)
        model = Classifier(copy.deepcopy(self.encoder), self.num_labels)
        return model.to(self.device).train()


def overhead(s: Setup, steps: int) -> None:
    rng = np.random.default_rng(0)
    order = itertools.cycle(list(train_batches(len(s.encoded["train"]), 32, rng)))
    batches = [collate(s.encoded["train"], next(order), s.pad, s.device) for _ in range(steps)]
    suite_model, plain_model = s.classifier(), s.classifier()
    trainer = Trainer(suite_model, create_method("none"), s.settings, s.device, 10_000)
    optimizer = torch.optim.AdamW(
        plain_model.parameters(),
        lr=1e-4,
        weight_decay=0.01,
        fused=trainer.optimizer.defaults.get("fused"),
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    def plain_step(batch, labels):
        loss = F.cross_entropy(plain_model(**batch), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(plain_model.parameters(), 1.0)
        optimizer.step()
        schedule.step()

    times = {"suite": [], "plain": []}
    for i, (batch, labels) in enumerate(batches):
        pair = [
            ("suite", lambda b=batch, y=labels: trainer.step(b, y, rng)),
            ("plain", lambda b=batch, y=labels: plain_step(b, y)),
        ]
        for name, fn in pair if i % 2 else pair[::-1]:
            sync(s.device)
            start = time.perf_counter()
            fn()
            sync(s.device)
            if i >= 3:
                times[name].append(time.perf_counter() - start)
    suite, plain = statistics.median(times["suite"]), statistics.median(times["plain"])
    emit(
        figure="harness_overhead",
        suite_step_s=round(suite, 4),
        plain_step_s=round(plain, 4),
        ratio=round(suite / plain, 3),
        goal="<=1.03",
        steps=len(times["suite"]),
        device=s.device_name,
    )


def epoch(s: Setup, settings: TrainSettings, fixed_length: int | None = None) -> dict:
    """Train one run as the harness does (optionally padding every batch to a fixed length)
    and return its train time and test accuracy."""
    import bench.run.harness as harness_module

    original = harness_module.collate

    def fixed(encoded, index, pad_id, device):
        batch, labels = original(encoded, index, pad_id, device)
        width = batch["input_ids"].shape[1]
        if fixed_length is not None and width < fixed_length:
            extra = fixed_length - width
            batch = {
                k: F.pad(v, (0, extra), value=pad_id if k == "input_ids" else 0)
                for k, v in batch.items()
            }
        return batch, labels

    harness_module.collate = fixed
    try:
        result = train_and_evaluate(
            s.classifier(),
            create_method("none"),
            s.encoded,
            settings,
            0,
            s.device,
            s.pad,
            s.num_labels,
        )
    finally:
        harness_module.collate = original
    return {
        "train_s": result.cost.train_seconds,
        "accuracy": result.metrics.test.accuracy,
    }


def padding(s: Setup) -> None:
    settings = TrainSettings(**{**s.settings.__dict__, "epochs": 1})
    dynamic = epoch(s, settings)
    fixed = epoch(s, settings, fixed_length=256)
    emit(
        figure="padding",
        dynamic_train_s=round(dynamic["train_s"], 2),
        pad256_train_s=round(fixed["train_s"], 2),
        speedup=round(fixed["train_s"] / dynamic["train_s"], 2),
        goal=">=3",
        dynamic_accuracy=dynamic["accuracy"],
        pad256_accuracy=fixed["accuracy"],
        train_examples=len(s.encoded["train"]),
        max_length=settings.max_length,
        device=s.device_name,
        note="pad256: inputs truncated at the profile's max_length, then padded to 256",
    )


def grouping(s: Setup) -> None:
    base = s.settings.__dict__
    plain = epoch(s, TrainSettings(**base))
    grouped = epoch(s, TrainSettings(**{**base, "batching": "length-grouped"}))
    emit(
        figure="length_grouping",
        random_train_s=round(plain["train_s"], 2),
        grouped_train_s=round(grouped["train_s"], 2),
        speedup=round(plain["train_s"] / grouped["train_s"], 2),
        random_accuracy=plain["accuracy"],
        grouped_accuracy=grouped["accuracy"],
        epochs=base["epochs"],
        device=s.device_name,
    )


def evaluation(s: Setup) -> None:
    model = s.classifier().eval()
    test = s.encoded["test"]
    settings = TrainSettings(eval_batch_size=128)
    start = time.perf_counter()
    logits, labels = predict(model, test, settings, s.pad, s.device)
    sync(s.device)
    suite_s = time.perf_counter() - start
    start = time.perf_counter()
    naive = []
    with torch.no_grad():
        for i in range(0, len(test), 32):
            batch, _ = collate(test, np.arange(i, min(i + 32, len(test))), s.pad, s.device)
            naive.append(model(**batch).float().cpu())
    sync(s.device)
    naive_s = time.perf_counter() - start
    same = (
        classification_metrics(torch.cat(naive), labels, s.num_labels).accuracy
        == classification_metrics(logits, labels, s.num_labels).accuracy
    )
    emit(
        figure="eval_throughput",
        suite_examples_per_s=round(len(test) / suite_s, 1),
        naive_examples_per_s=round(len(test) / naive_s, 1),
        speedup=round(naive_s / suite_s, 2),
        same_accuracy=same,
        examples=len(test),
        device=s.device_name,
    )


def compiled_steps(s: Setup, steps: int, warmup: int = 8) -> None:
    """Eager and compiled models train on the same batches (ragged lengths, so dynamic
    shapes are exercised); steps alternate between them so that drift hits both."""
    rng = np.random.default_rng(0)
    order = itertools.cycle(list(train_batches(len(s.encoded["train"]), 32, rng)))
    batches = [
        collate(s.encoded["train"], next(order), s.pad, s.device) for _ in range(warmup + steps)
    ]
    for method in ("none", "amplify"):
        trainers = {}
        for mode in ("eager", "compiled"):
            model = s.classifier()
            if mode == "compiled":
                model.compile_blocks()
            trainers[mode] = Trainer(model, create_method(method), s.settings, s.device, 10_000)
        times: dict[str, list[float]] = {"eager": [], "compiled": []}
        for batch, labels in batches:
            for mode, trainer in trainers.items():
                sync(s.device)
                start = time.perf_counter()
                trainer.step(batch, labels, np.random.default_rng(len(times[mode])))
                sync(s.device)
                times[mode].append(time.perf_counter() - start)
        eager = statistics.median(times["eager"][warmup:])
        compiled = statistics.median(times["compiled"][warmup:])
        emit(
            figure="compile",
            method=method,
            eager_step_s=round(eager, 4),
            compiled_step_s=round(compiled, 4),
            speedup=round(eager / compiled, 3),
            compile_overhead_s=round(
                sum(times["compiled"][:warmup]) - sum(times["eager"][:warmup]), 1
            ),
            warmup_steps=warmup,
            steps=steps,
            device=s.device_name,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", nargs="+", default=["overhead", "padding", "grouping", "eval"])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--dataset", default="rt-polarity")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=25)
    args = parser.parse_args()
    device = Runtime(device=args.device).torch_device()
    setup = Setup(device, args.model, args.dataset)
    for figure in args.figures:
        {
            "overhead": lambda: overhead(setup, args.steps),
            "padding": lambda: padding(setup),
            "grouping": lambda: grouping(setup),
            "eval": lambda: evaluation(setup),
            "compile": lambda: compiled_steps(setup, args.steps),
        }[figure]()


if __name__ == "__main__":
    main()
