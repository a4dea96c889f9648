"""Where a quick training step's time goes, fp32 against bf16, and what the fused AdamW saves
(run on demand on a quiet machine, not a test). Prints one JSON line per figure.

    python benchmarks/precision.py [--figures matmul steps eval profile] [--steps 20]

- matmul: GFLOP/s of fp32 and bf16 at the model's shapes (the peak each precision can reach);
- steps: median training-step time (batch 16, length 40, method none and amplify) for
  fp32 / bf16 x adamw / adamw-fused, interleaved round by round, relative to fp32 + adamw,
  and the share of the matmul peak each reaches (FLOPs of the step / time / peak);
- eval: inference throughput fp32 against bf16 (batch 128);
- profile: torch.profiler self CPU time of one setting's steps by operator group;
- denormal: AMPLIFY's steps whose 1 - lambda is tiny (1e-13..1e-7) against its other steps,
  in quick-fp32 and quick, with subnormals kept and flushed (`--subnormals flush`);
- dropout: time of one step's dropout masks (the quick profile's shapes, p = 0.1) from
  torch's Bernoulli draws and from cheaper generators (what a faster one could save);
- remedies: the quick step (bf16 + fused AdamW) of `none` as it is, with the word
  embeddings frozen (the most a sparse or row-wise embedding gradient could save: no
  zero-fill, scatter, clipping or AdamW over their 11.7 M entries), with the hidden-state
  dropouts off (the most a faster dropout there could save), and both; interleaved round
  by round. Upper bounds: each variant trains another model, so none is a suite setting.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from bench.api.registry import create_method
from bench.core.config import PROFILES, TrainSettings
from bench.run.batching import collate, encode, eval_batches, train_batches
from bench.run.datasets.registry import build_registry, load_dataset_cached
from bench.run.harness import Runtime, device_name
from bench.run.models import Classifier
from bench.run.training import Trainer, autocast_for

SETTINGS = {  # label: (precision, optimizer)
    "fp32": ("fp32", "adamw"),
    "fp32+fused": ("fp32", "adamw-fused"),
    "bf16": ("bf16", "adamw"),
    "bf16+fused": ("bf16", "adamw-fused"),
}
# operator name fragments -> group (first match wins); the rest is "other"
GROUPS = (
    ("optimizer", ("adam", "_foreach", "lerp_", "addcdiv", "addcmul", "sqrt")),
    ("norms and activations", ("layer_norm", "gelu", "dropout")),  # before clipping's "norm"
    ("clipping", ("norm", "clamp")),
    ("embedding gradient", ("embedding_dense_backward", "embedding_backward", "index_put")),
    ("matmuls", ("addmm", "mm", "bmm", "linear", "matmul")),
    ("attention", ("scaled_dot_product", "flash_attention", "softmax")),
    ("dtype casts", ("to_copy", "copy_")),
)


def emit(figure: str, **values) -> None:
    print(json.dumps({"figure": figure, **values}), flush=True)


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak() -> dict[str, float]:
    """GFLOP/s of fp32 and bf16 matmuls at the model's shapes; the best shape is the peak."""
    peaks = {}
    for dtype in (torch.float32, torch.bfloat16):
        best = 0.0
        for m, k, n in ((1760, 384, 1536), (1760, 1536, 384), (2048, 2048, 2048)):
            a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
            seconds = timed(lambda a=a, b=b: a @ b, 10)
            gflops = 2 * m * k * n / seconds / 1e9
            best = max(best, gflops)
            emit("matmul", dtype=str(dtype), shape=[m, k, n], gflops=round(gflops, 1))
        peaks[str(dtype).split(".")[-1]] = best
    return peaks


def group_of(name: str) -> str:
    lowered = name.lower()
    for group, fragments in GROUPS:
        if any(f in lowered for f in fragments):
            return group
    return "other"


def denormal_figure(encoder, tokenizer, steps: int, device: torch.device) -> None:
    """AMPLIFY on short texts (amazon-cr) in each quick profile, its own lambda stream:
    median time of the steps that mix with a tiny weight against the others, and of all
    steps, with subnormals kept and flushed (`--subnormals flush`)."""
    from bench.core.streams import numpy_stream
    from bench.run.training import subnormals_for

    data = load_dataset_cached(build_registry().get("amazon-cr"))
    encoded = encode(data.train, tokenizer, PROFILES["quick"].max_length)
    order = train_batches(len(encoded), 16, np.random.default_rng(0))
    batches = [collate(encoded, next(order), 0, device) for _ in range(steps)]
    for profile_name in ("quick-fp32", "quick"):
        for mode in ("keep", "flush"):
            settings = dataclasses.replace(PROFILES[profile_name], subnormals=mode)
            torch.manual_seed(0)
            model = Classifier(copy.deepcopy(encoder), data.num_labels).train()
            run = Trainer(model, create_method("amplify"), settings, device, 10_000)
            rng = numpy_stream(0, "method")
            tiny, other = [], []
            with subnormals_for(settings):
                for index, (batch, labels) in enumerate(batches):
                    start = time.perf_counter()
                    out = run.step(batch, labels, rng)
                    seconds = time.perf_counter() - start
                    if index >= 2:
                        (tiny if 0 < 1 - out.lam < 1e-7 else other).append(seconds)
            emit(
                "denormal",
                profile=profile_name,
                subnormals=mode,
                tiny_mix_steps=len(tiny),
                tiny_mix_median_s=round(statistics.median(tiny), 3) if tiny else None,
                other_median_s=round(statistics.median(other), 3),
                mean_step_s=round(statistics.mean(tiny + other), 3),
            )


def dropout_figure(repeats: int) -> None:
    """One quick step's dropout masks (MiniLM-L6, batch 16 x 40 tokens): 13 hidden-state
    dropouts of 16 x 40 x 384 and 6 attention-probability dropouts of 16 x 12 x 40 x 40."""
    p = 0.1
    shapes = [(16, 40, 384)] * 13 + [(16, 12, 40, 40)] * 6
    fp32 = [torch.randn(shape) for shape in shapes]
    bf16 = [x.bfloat16() for x in fp32]
    generator = torch.Generator().manual_seed(0)
    ways = {
        "F.dropout fp32": lambda: [F.dropout(x, p, True) for x in fp32],
        "F.dropout bf16": lambda: [F.dropout(x, p, True) for x in bf16],
        "bernoulli_ (torch's mask draw)": lambda: [
            torch.empty_like(x).bernoulli_(1 - p) for x in fp32
        ],
        "rand >= p": lambda: [torch.rand(x.shape, generator=generator) >= p for x in fp32],
        "int16 threshold": lambda: [
            torch.randint(0, 65536, x.shape, generator=generator, dtype=torch.int32)
            >= round(p * 65536)
            for x in fp32
        ],
        "uint8 (p becomes 26/256)": lambda: [
            torch.randint(0, 256, x.shape, generator=generator, dtype=torch.uint8) >= 26
            for x in fp32
        ],
    }
    emit(
        "dropout",
        elements=sum(x.numel() for x in fp32),
        ms_per_step={name: round(1000 * timed(way, repeats), 2) for name, way in ways.items()},
    )


@dataclass
class Context:
    """What every figure of this benchmark measures on: the packaged model, one dataset's
    batches at the quick profile's shapes, and the device."""

    args: argparse.Namespace
    encoder: Any
    tokenizer: Any
    data: Any
    batches: list
    device: torch.device
    pad_id: int
    peaks: dict

    def trainer(self, label: str, method: str) -> Trainer:
        precision, optimizer = SETTINGS[label]
        settings = TrainSettings(
            batch_size=PROFILES["quick"].batch_size, precision=precision, optimizer=optimizer
        )
        torch.manual_seed(0)
        model = Classifier(copy.deepcopy(self.encoder), self.data.num_labels).train()
        return Trainer(model, create_method(method), settings, self.device, 10_000)


def context(args: argparse.Namespace) -> Context:
    quick = PROFILES["quick"]
    runtime = Runtime(device="cpu", progress=False)
    device = runtime.torch_device()
    encoder, tokenizer, _ = runtime.backbone("minilm-l6")
    data = load_dataset_cached(build_registry().get(args.dataset))
    encoded = encode(data.train, tokenizer, quick.max_length)
    order = train_batches(len(encoded), quick.batch_size, np.random.default_rng(0))
    pad_id = tokenizer.pad_token_id or 0
    batches = [
        collate(encoded, next(order), pad_id, device) for _ in range(args.warmup + args.steps)
    ]
    emit("machine", device=device_name(device), threads=torch.get_num_threads())
    peaks = matmul_peak() if "matmul" in args.figures else {}
    return Context(args, encoder, tokenizer, data, batches, device, pad_id, peaks)


def interleaved_times(ctx: Context, method: str) -> dict[str, list[float]]:
    """Step times of every setting, the settings' order rotated each round."""
    trainers = {label: ctx.trainer(label, method) for label in SETTINGS}
    times: dict[str, list[float]] = defaultdict(list)
    for round_index, (batch, labels) in enumerate(ctx.batches):
        shift = round_index % len(SETTINGS)
        for label in list(SETTINGS)[shift:] + list(SETTINGS)[:shift]:
            start = time.perf_counter()
            trainers[label].step(batch, labels, np.random.default_rng(round_index))
            if round_index >= ctx.args.warmup:
                times[label].append(time.perf_counter() - start)
    return times


def step_figures(ctx: Context) -> None:
    batch, labels = ctx.batches[0]
    with FlopCounterMode(display=False) as counter:
        ctx.trainer("fp32", "none").step(batch, labels, np.random.default_rng(0))
    step_flops = counter.get_total_flops()
    for method in ctx.args.methods:
        times = interleaved_times(ctx, method)
        base = statistics.median(times["fp32"])
        for label in SETTINGS:
            median = statistics.median(times[label])
            peak = ctx.peaks.get(
                SETTINGS[label][0].replace("fp32", "float32").replace("bf16", "bfloat16")
            )
            emit(
                "step",
                method=method,
                setting=label,
                median_step_seconds=round(median, 4),
                speedup_vs_fp32=round(base / median, 2),
                step_gflop=round(step_flops / 1e9, 2),
                share_of_matmul_peak=round(step_flops / median / 1e9 / peak, 3) if peak else None,
            )


def eval_figure(ctx: Context) -> None:
    quick = PROFILES["quick"]
    test = encode(ctx.data.test, ctx.tokenizer, quick.max_length)
    model = Classifier(copy.deepcopy(ctx.encoder), ctx.data.num_labels).eval()
    results = {}
    for precision in ("fp32", "bf16"):
        settings = TrainSettings(precision=precision)

        @torch.inference_mode()
        def evaluate(settings: TrainSettings = settings) -> None:
            for index in eval_batches(test, quick.eval_batch_size):
                batch, _ = collate(test, index, ctx.pad_id, ctx.device)
                with autocast_for(settings, ctx.device):
                    model(**batch)

        results[precision] = timed(evaluate, 2)
    emit(
        "eval",
        examples=len(test),
        fp32_seconds=round(results["fp32"], 2),
        bf16_seconds=round(results["bf16"], 2),
        speedup=round(results["fp32"] / results["bf16"], 2),
    )


REMEDIES = ("as is", "embeddings frozen", "dropout off", "both")


def remedy_trainer(ctx: Context, variant: str) -> Trainer:
    """The quick step's trainer with one upper-bound remedy applied to its model."""
    run = ctx.trainer("bf16+fused", "none")
    model = run.model
    if variant in ("embeddings frozen", "both"):
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    if variant in ("dropout off", "both"):
        # the hidden-state dropouts (13 of 19, 3.2 M of the 5.04 M mask draws); the
        # attention's stay, as a zero p there would switch SDPA to another kernel
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Dropout) and ".attention.self." not in name:
                module.p = 0.0
    return run


def remedies_figure(ctx: Context) -> None:
    trainers = {variant: remedy_trainer(ctx, variant) for variant in REMEDIES}
    times: dict[str, list[float]] = defaultdict(list)
    for round_index, (batch, labels) in enumerate(ctx.batches):
        shift = round_index % len(REMEDIES)
        for variant in REMEDIES[shift:] + REMEDIES[:shift]:
            start = time.perf_counter()
            trainers[variant].step(batch, labels, np.random.default_rng(round_index))
            if round_index >= ctx.args.warmup:
                times[variant].append(time.perf_counter() - start)
    base = statistics.median(times["as is"])
    for variant in REMEDIES:
        median = statistics.median(times[variant])
        emit(
            "remedy",
            variant=variant,
            threads=torch.get_num_threads(),
            median_step_seconds=round(median, 4),
            speedup_vs_as_is=round(base / median, 3),
        )


def profile_figure(ctx: Context) -> None:
    warmup, steps = ctx.args.warmup, len(ctx.batches) - ctx.args.warmup
    for label in ("fp32+fused", "bf16+fused", "fp32", "bf16"):
        run = ctx.trainer(label, "amplify")
        for batch, labels in ctx.batches[:warmup]:
            run.step(batch, labels, np.random.default_rng(0))
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch, labels in ctx.batches[warmup:]:
                run.step(batch, labels, np.random.default_rng(0))
        by_group: dict[str, float] = defaultdict(float)
        for event in prof.key_averages():
            by_group[group_of(event.key)] += event.self_cpu_time_total
        total = sum(by_group.values())
        emit(
            "profile",
            setting=label,
            method="amplify",
            steps=steps,
            share={
                g: round(t / total, 3) for g, t in sorted(by_group.items(), key=lambda x: -x[1])
            },
            ms_per_step={g: round(t / 1e3 / steps, 1) for g, t in by_group.items()},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", nargs="+", default=["matmul", "steps", "eval", "profile"])
    parser.add_argument("--dataset", default="rt-polarity")
    parser.add_argument("--methods", nargs="+", default=["none", "amplify"])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per setting")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    ctx = context(args)
    if "steps" in args.figures:
        step_figures(ctx)
    if "eval" in args.figures:
        eval_figure(ctx)
    if "denormal" in args.figures:
        denormal_figure(ctx.encoder, ctx.tokenizer, args.steps + args.warmup, ctx.device)
    if "profile" in args.figures:
        profile_figure(ctx)
    if "dropout" in args.figures:
        dropout_figure(args.steps)
    if "remedies" in args.figures:
        remedies_figure(ctx)


if __name__ == "__main__":
    main()
