"""Median training-step time of every method relative to `none` (run on demand, not a test).

Same model, same batches (real rt-polarity examples, dynamic padding), same optimizer;
methods are interleaved round by round so that drift of the machine hits all of them
alike. Prints one JSON line per method.

    python benchmarks/step_time.py [--model minilm-l6] [--batch-size 32] [--steps 30]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import numpy as np
import torch

from bench.api.registry import create_method, method_names
from bench.core.config import TrainSettings
from bench.run.batching import collate, encode, train_batches
from bench.run.datasets.registry import build_registry, load_dataset_cached
from bench.run.harness import Runtime, device_name
from bench.run.models import Classifier
from bench.run.training import Trainer


def interleaved_times(
    trainers: dict[str, Trainer], batches: list, warmup: int, device: torch.device
) -> dict[str, list[float]]:
    """Each method's step times over the same batches, the methods' order rotated every
    round (so drift lands on every method alike); the first `warmup` rounds untimed."""
    names = list(trainers)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index, (batch, labels) in enumerate(batches):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            step_rng = np.random.default_rng(round_index)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            trainers[name].step(batch, labels, step_rng)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if round_index >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--dataset", default="rt-polarity")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per method")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=method_names())
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    runtime = Runtime(device=args.device, progress=False)
    device = runtime.torch_device()
    encoder, tokenizer, _ = runtime.backbone(args.model)
    data = load_dataset_cached(build_registry().get(args.dataset))
    encoded = encode(data.train, tokenizer, args.max_length)
    rng = np.random.default_rng(0)
    order = train_batches(len(encoded), args.batch_size, rng)
    pad_id = tokenizer.pad_token_id or 0
    batches = [
        collate(encoded, next(order), pad_id, device) for _ in range(args.warmup + args.steps)
    ]
    settings = TrainSettings(batch_size=args.batch_size, max_length=args.max_length)
    torch.manual_seed(0)
    trainers = {}
    for name in args.methods:
        model = Classifier(copy.deepcopy(encoder), data.num_labels).to(device).train()
        trainers[name] = Trainer(model, create_method(name), settings, device, 10_000)
    times = interleaved_times(trainers, batches, args.warmup, device)
    base = statistics.median(times["none"]) if "none" in times else None
    for name in args.methods:
        median = statistics.median(times[name])
        print(
            json.dumps(
                {
                    "figure": "step_time",
                    "method": name,
                    "median_step_seconds": round(median, 4),
                    "relative_to_none": round(median / base, 3) if base else None,
                    "batch_size": args.batch_size,
                    "max_length": args.max_length,
                    "steps": len(times[name]),
                    "model": args.model,
                    "device": device_name(device),
                }
            )
        )


if __name__ == "__main__":
    main()
