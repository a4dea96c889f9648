"""Measure the suite's training step on a GPU machine that has only torch and transformers.

    PYTHONPATH=. python3 benchmarks/gpu_check.py                 # BERT-base shape, CUDA
    PYTHONPATH=. python3 benchmarks/gpu_check.py --device cpu --tiny   # a dry run, under a minute

No install, no `datasets`, no model download, no network: the encoder is randomly
initialised with the BERT-base shape (12 layers, hidden 768; time and memory do not depend on
the weights) and the batches are synthetic token ids with a realistic length distribution
(log-normal, median 24 tokens, clipped to 8..128) and, for the published setting, all 256.
Every figure is printed as one JSON line as soon as it is measured; a table follows at the
end. The script stops itself within --budget-s and always prints what it has.

FLOPs per training step are counted as 6 x parameters x tokens (forward and backward of every
weight) plus the attention matmuls, 12 x layers x hidden x sum over examples of length^2;
model FLOPs utilisation (MFU) divides that per second by the device's peak dense bf16
throughput (a table of known GPUs, or --peak-tflops).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api.registry import create_method, method_names  # noqa: E402
from bench.core.config import TrainSettings  # noqa: E402
from bench.run.batching import Encoded  # noqa: E402
from bench.run.harness import train_and_evaluate  # noqa: E402
from bench.run.models import Classifier  # noqa: E402
from bench.run.training import Trainer, configure_cuda  # noqa: E402

# peak dense bf16 tensor throughput, TFLOPS (vendor data sheets, without sparsity)
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
    "V100": 125.0,  # fp16 tensor cores; V100 has no bf16
    "T4": 65.0,  # fp16
}
# the paper's seven datasets (hub train sizes), 10 epochs, batch 32, 5 seeds, 6 methods
PAPER_TRAIN_SIZES = {
    "sst2": 67349,
    "sst5": 8544,
    "trec6": 5452,
    "trec50": 5452,
    "mr": 8530,
    "subj": 8000,
    "cr": 3012,
}
LOSS_TOLERANCE = 0.05  # bf16 vs fp32 loss curves: max |difference| over the steps


@dataclass
class Check:
    args: argparse.Namespace
    device: torch.device
    started: float = field(default_factory=time.perf_counter)
    figures: list[dict] = field(default_factory=list)

    skipped: dict[str, str] = field(default_factory=dict)  # figure -> why

    def left(self) -> float:
        return self.args.budget_s - (time.perf_counter() - self.started)

    def out_of_budget(self, figure: str, needs_s: float) -> bool:
        """Whether less than `needs_s` of the budget is left; if so, `figure` is noted as
        skipped (with why) for the closing summary."""
        if self.left() >= needs_s:
            return False
        self.skipped.setdefault(
            figure,
            f"{max(0.0, self.left()):.0f} s of --budget-s {self.args.budget_s:g} left, "
            f"needs {needs_s:g}",
        )
        return True

    def emit(self, **figure) -> None:
        self.figures.append(figure)
        print(json.dumps(figure), flush=True)


def encoder_config(tiny: bool):
    from transformers import BertConfig

    if tiny:
        return BertConfig(
            vocab_size=1000,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            max_position_embeddings=512,
        )
    return BertConfig()  # bert-base: 12 layers, hidden 768, 12 heads, vocab 30522


def make_model(check: Check, num_labels: int = 2) -> Classifier:
    from transformers import BertModel

    torch.manual_seed(0)
    config = encoder_config(check.args.tiny)
    try:
        encoder = BertModel(config, add_pooling_layer=False, attn_implementation="sdpa")
    except (TypeError, ValueError):  # older transformers
        encoder = BertModel(config, add_pooling_layer=False)
    return Classifier(encoder, num_labels).to(check.device)


def lengths(n: int, rng: np.random.Generator, fixed: int | None, max_length: int) -> np.ndarray:
    if fixed is not None:
        return np.full(n, fixed)
    return np.clip(np.round(rng.lognormal(np.log(24), 0.6, n)), 8, min(128, max_length)).astype(int)


def make_batch(check: Check, batch_size: int, fixed: int | None, rng, pad_to: int | None = None):
    vocab = encoder_config(check.args.tiny).vocab_size
    lens = lengths(batch_size, rng, fixed, 256)
    width = pad_to or int(lens.max())
    ids = torch.from_numpy(rng.integers(1000 % vocab, vocab, (batch_size, width)))
    mask = (torch.arange(width)[None, :] < torch.from_numpy(lens)[:, None]).long()
    batch = {
        "input_ids": (ids * mask).to(check.device),
        "attention_mask": mask.to(check.device),
        "token_type_ids": torch.zeros_like(ids).to(check.device),
    }
    labels = torch.from_numpy(rng.integers(0, 2, batch_size)).to(check.device)
    return batch, labels, lens


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_flops(model: Classifier, lens: np.ndarray) -> float:
    params = sum(p.numel() for p in model.parameters())
    config = model.encoder.config
    attention = 12 * config.num_hidden_layers * config.hidden_size * float(np.sum(lens**2))
    return 6.0 * params * float(np.sum(lens)) + attention


class Timed(NamedTuple):
    """What `time_steps` measured: median timed step (s), throughput, the loss of every step
    (the warm-up steps first), and the bytes of activations saved for backward in step 1."""

    median_s: float
    tokens_per_s: float
    flops_per_s: float
    losses: list[float]
    activation_bytes: int


def time_steps(check: Check, method: str, precision: str, fixed: int | None, steps: int) -> Timed:
    model = make_model(check)
    settings = TrainSettings(precision=precision, batch_size=check.args.batch_size)
    configure_cuda(check.device, settings)
    trainer = Trainer(model, create_method(method), settings, check.device, steps + 2)
    rng = np.random.default_rng(0)
    method_rng = np.random.default_rng(1)
    times, losses, tokens, flops = [], [], [], []
    for i in range(steps + 2):  # two warm-up steps
        batch, labels, lens = make_batch(check, check.args.batch_size, fixed, rng)
        sync(check.device)
        t0 = time.perf_counter()
        out = trainer.step(batch, labels, method_rng)
        sync(check.device)
        losses.append(out.loss.item())
        if i >= 2:
            times.append(time.perf_counter() - t0)
            tokens.append(float(lens.sum()))
            flops.append(step_flops(model, lens))
    total = sum(times)
    return Timed(
        statistics.median(times),
        sum(tokens) / total,
        sum(flops) / total,
        losses,
        trainer.saved_activation_bytes or 0,
    )


def peak_tflops(check: Check) -> float | None:
    if check.args.peak_tflops:
        return check.args.peak_tflops
    if check.device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(check.device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


# ---------------------------------------------------------------- the figures


def step_times(check: Check, methods: list[str]) -> dict[tuple[str, str], float]:
    """Each method's median step, interleaved: `--rounds` rounds time every method once, in
    an order rotated each round, so that a drift of the device (clocks, host load) is spread
    over all methods; the ratio to `none` is taken within each round."""
    medians: dict[tuple[str, str], float] = {}
    peak = peak_tflops(check)
    for precision in ("bf16", "fp32"):
        # untimed, over the same batch shapes: the device's first-time costs (context, BLAS
        # handles, kernel choice for each new shape) would otherwise land in the first method
        time_steps(check, methods[0], precision, None, check.args.steps)
        rounds: list[dict[str, Timed]] = []
        for r in range(check.args.rounds):
            shift = r % len(methods)
            timed: dict[str, Timed] = {}
            for method in methods[shift:] + methods[:shift]:
                if check.out_of_budget(f"step_time {method} {precision}", 20):
                    break
                timed[method] = time_steps(check, method, precision, None, check.args.steps)
            if len(timed) < len(methods):
                break  # a partial round would favour the methods it reached
            rounds.append(timed)
        if not rounds:
            return medians
        for method in methods:
            medians[(method, precision)] = median = statistics.median(
                r[method].median_s for r in rounds
            )
            ratios = [r[method].median_s / r["none"].median_s for r in rounds if "none" in r]
            flops_per_s = statistics.median(r[method].flops_per_s for r in rounds)
            check.emit(
                figure="step_time",
                method=method,
                precision=precision,
                rounds=len(rounds),
                median_step_s=round(median, 5),
                relative_to_none=round(statistics.median(ratios), 3) if ratios else None,
                relative_range=[round(min(ratios), 3), round(max(ratios), 3)] if ratios else None,
                tokens_per_s=round(statistics.median(r[method].tokens_per_s for r in rounds)),
                mfu=round(flops_per_s / (peak * 1e12), 4) if peak else None,
            )
    return medians


def peak_memory(check: Check, methods: list[str]) -> None:
    if check.device.type != "cuda":
        check.emit(figure="peak_memory", skipped="CUDA memory statistics need a CUDA device")
        return
    static_mb = round(static_bytes(check) / 2**20)  # the same for every method
    for method in methods:
        if check.out_of_budget(f"peak_memory {method}", 15):
            return
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(check.device)
        timed = time_steps(check, method, "bf16", 256, 2)
        check.emit(
            figure="peak_memory",
            method=method,
            batch=check.args.batch_size,
            length=256,
            allocated_mb=round(torch.cuda.max_memory_allocated(check.device) / 2**20),
            reserved_mb=round(torch.cuda.max_memory_reserved(check.device) / 2**20),
            weights_grads_adam_mb=static_mb,
            saved_activations_mb=round(timed.activation_bytes / 2**20),
        )


def static_bytes(check: Check) -> int:
    """fp32 weights, gradients and AdamW's two moments: 4 copies of the parameters."""
    return 4 * sum(p.numel() * p.element_size() for p in make_model(check).parameters())


def compile_vs_eager(check: Check) -> None:
    for method in ("none", "amplify"):
        if check.out_of_budget(f"compile_vs_eager {method}", 60):
            return
        eager = time_steps(check, method, "bf16", None, check.args.steps).median_s
        model = make_model(check)
        model.compile_blocks()
        settings = TrainSettings(precision="bf16", batch_size=check.args.batch_size)
        trainer = Trainer(model, create_method(method), settings, check.device, 100)
        rng, method_rng = np.random.default_rng(0), np.random.default_rng(1)
        times = []
        t_start = time.perf_counter()
        for i in range(check.args.steps + 3):
            batch, labels, _ = make_batch(check, check.args.batch_size, 64, rng)
            sync(check.device)
            t0 = time.perf_counter()
            trainer.step(batch, labels, method_rng)
            sync(check.device)
            if i >= 3:
                times.append(time.perf_counter() - t0)
        check.emit(
            figure="compile",
            method=method,
            eager_step_s=round(eager, 5),
            compiled_step_s=round(statistics.median(times), 5),
            speedup=round(eager / statistics.median(times), 3),
            wall_with_compilation_s=round(time.perf_counter() - t_start, 1),
        )


def precision_checks(check: Check) -> None:
    n = check.args.precision_steps
    if check.out_of_budget("fp16_scaler, bf16_vs_fp32_loss", 30):
        return
    fp16 = time_steps(check, "amplify", "fp16", None, n).losses
    check.emit(
        figure="fp16_scaler",
        steps=len(fp16),  # every step, the two warm-up steps too
        all_finite=bool(all(math.isfinite(x) for x in fp16)),
        last_loss=round(fp16[-1], 4),
    )
    bf16 = time_steps(check, "amplify", "bf16", None, n).losses
    fp32 = time_steps(check, "amplify", "fp32", None, n).losses
    differences = [abs(a - b) for a, b in zip(bf16, fp32, strict=True)]
    worst = max(differences)
    check.emit(
        figure="bf16_vs_fp32_loss",
        steps=len(differences),
        step_1_abs_difference=round(differences[0], 4),  # same weights and batch: numerics
        abs_difference_by_step=[round(d, 3) for d in differences],
        max_abs_difference=round(worst, 4),
        tolerance=LOSS_TOLERANCE,
        agree=worst <= LOSS_TOLERANCE,
    )


def padding(check: Check) -> None:
    if check.out_of_budget("padding", 20):
        return
    results = {}
    for name, pad_to in (("dynamic", None), ("pad_to_256", 256)):
        model = make_model(check)
        settings = TrainSettings(precision="bf16", batch_size=check.args.batch_size)
        trainer = Trainer(model, create_method("none"), settings, check.device, 100)
        rng, method_rng = np.random.default_rng(0), np.random.default_rng(1)
        batches = [
            make_batch(check, check.args.batch_size, None, rng, pad_to)
            for _ in range(check.args.steps + 2)
        ]
        for batch, labels, _ in batches[:2]:
            trainer.step(batch, labels, method_rng)
        sync(check.device)
        t0 = time.perf_counter()
        for batch, labels, _ in batches[2:]:
            trainer.step(batch, labels, method_rng)
        sync(check.device)
        results[name] = time.perf_counter() - t0
    check.emit(
        figure="padding",
        epoch_s_dynamic=round(results["dynamic"], 3),
        epoch_s_pad_to_256=round(results["pad_to_256"], 3),
        padding_cost_x=round(results["pad_to_256"] / results["dynamic"], 2),
    )


def synthetic_split(check: Check, n: int, rng: np.random.Generator) -> Encoded:
    """Unpadded synthetic examples whose label is the parity of their first token."""
    vocab = encoder_config(check.args.tiny).vocab_size
    ids = [rng.integers(1000 % vocab, vocab, int(k)).tolist() for k in lengths(n, rng, None, 256)]
    return Encoded(ids, None, np.array([x[0] % 2 for x in ids], dtype=np.int64))


def harness(check: Check, methods: list[str]) -> None:
    """The suite's own training loop (`train_and_evaluate`: batching, training, evaluation,
    the cost record) for one epoch per method, bf16: what a run on this device records."""
    n = 64 if check.args.tiny else 512
    for i, method in enumerate([methods[0], *methods]):  # the first run warms up, untimed
        if check.out_of_budget(f"harness {method}", 20):
            return
        rng = np.random.default_rng(0)
        data = {
            split: synthetic_split(check, size, rng)
            for split, size in (("train", n), ("validation", n // 4), ("test", n // 4))
        }
        settings = TrainSettings(precision="bf16", batch_size=check.args.batch_size, epochs=1)
        configure_cuda(check.device, settings)
        outcome = train_and_evaluate(
            make_model(check), create_method(method), data, settings, 0, check.device, 0, 2
        )
        cost, scores = outcome.cost, outcome.metrics.test
        if i == 0:
            continue
        check.emit(
            figure="harness",
            method=method,
            steps=cost.steps,
            train_s=round(cost.train_seconds, 3),
            test_accuracy=round(scores.accuracy, 4),
            finite=bool(math.isfinite(scores.nll)),
            peak_memory_kind=cost.peak_memory_kind,
            peak_memory_mb=round(cost.peak_memory_mb),
            activation_mb=round(cost.activation_mb or 0.0, 1),
        )


def paper_sweep_estimate(check: Check, medians: dict[tuple[str, str], float]) -> None:
    per_method = {m: s for (m, p), s in medians.items() if p == "bf16"}
    if not per_method:
        return
    steps = sum(math.ceil(n / 32) * 10 for n in PAPER_TRAIN_SIZES.values())  # one seed
    hours = {m: steps * 5 * s / 3600 for m, s in per_method.items()}
    check.emit(
        figure="paper_sweep_estimate",
        datasets=list(PAPER_TRAIN_SIZES),
        train_steps_per_method_and_seed=steps,
        gpu_hours_per_method_5_seeds={m: round(h, 2) for m, h in hours.items()},
        gpu_hours_total=round(sum(hours.values()), 2),
        note="training steps only, at the measured bf16 median step (realistic lengths)",
    )


def print_table(check: Check) -> None:
    rows = [f for f in check.figures if f.get("figure") == "step_time"]
    if rows:
        print("\nmethod      precision  step ms   x none   tokens/s   MFU")
        for r in rows:
            mfu = "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
            rel = "-" if r["relative_to_none"] is None else f"{r['relative_to_none']:.3f}"
            print(
                f"{r['method']:<11} {r['precision']:<10} {1000 * r['median_step_s']:>7.1f} "
                f"{rel:>8} {r['tokens_per_s']:>10} {mfu:>6}"
            )
    print(f"\n{len(check.figures)} figure(s) in {time.perf_counter() - check.started:.0f} s")
    for figure, why in check.skipped.items():
        print(f"skipped {figure}: {why}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="a tiny encoder (a dry run)")
    parser.add_argument("--budget-s", type=float, help="default 420 (--tiny: 50)")
    parser.add_argument("--steps", type=int, help="timed steps per measurement (20; --tiny: 2)")
    parser.add_argument(
        "--rounds", type=int, help="interleaved rounds of step times (3; --tiny: 1)"
    )
    parser.add_argument("--precision-steps", type=int, help="default 30 (--tiny: 3)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--methods", nargs="+", default=None, help="default: every method")
    parser.add_argument("--peak-tflops", type=float, help="peak dense bf16 TFLOPS of the device")
    args = parser.parse_args(argv)
    for name, full, tiny in (
        ("budget_s", 420.0, 50.0),
        ("steps", 20, 2),
        ("rounds", 3, 1),
        ("precision_steps", 30, 3),
    ):
        if getattr(args, name) is None:  # a dry run is small unless told otherwise
            setattr(args, name, tiny if args.tiny else full)
    check = Check(args, torch.device(args.device))
    name = torch.cuda.get_device_name(check.device) if check.device.type == "cuda" else "cpu"
    check.emit(
        figure="device",
        device=name,
        torch=torch.__version__,
        peak_bf16_tflops=peak_tflops(check),
        tiny=args.tiny,
    )
    methods = args.methods or method_names()
    medians: dict[tuple[str, str], float] = {}
    try:
        medians = step_times(check, methods)
        peak_memory(check, methods)
        precision_checks(check)
        padding(check)
        harness(check, methods)
        compile_vs_eager(check)
    except Exception as exc:  # print what was measured, then the failure
        check.emit(figure="error", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        paper_sweep_estimate(check, medians)
        print_table(check)
    if not any(f.get("figure") == "step_time" for f in check.figures):
        raise SystemExit("no step time was measured within --budget-s: raise it")


if __name__ == "__main__":
    main()
