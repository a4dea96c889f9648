"""One optimisation step with a method's mixing, under the run's precision: the part of
the harness that needs only torch (the GPU check and the step-time benchmark use it with no
dataset library installed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from torch import nn

from bench.api.method_api import MixupMethod, StepOutput
from bench.core.config import TrainSettings
from bench.core.precision import Precision
from bench.run.measure import SavedActivations


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""


def configure_cuda(device: torch.device, settings: TrainSettings) -> None:
    """fp32 on GPUs with TF32 tensor cores (Ampere and newer) uses them for matmuls and
    convolutions; that is PyTorch's 'high' float32 matmul precision."""
    if device.type == "cuda" and settings.precision is Precision.FP32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


@contextmanager
def subnormals_for(settings: TrainSettings) -> Iterator[None]:
    """Flush subnormal floats to zero while the block runs when the settings ask for it
    (`--subnormals flush`; the CPU's flag, restored after), else change nothing."""
    if settings.subnormals != "flush":
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def autocast_for(settings: TrainSettings, device: torch.device):
    dtype = settings.precision.autocast_dtype
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def build_optimizer(model: nn.Module, settings: TrainSettings, total_steps: int):
    """AdamW (no decay on biases and LayerNorm; torch's fused kernel for "adamw-fused") +
    linear warmup then linear decay to 0."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (
            no_decay if param.ndim < 2 or "LayerNorm" in name or "norm" in name.lower() else decay
        ).append(param)
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=settings.lr,
        fused=settings.optimizer == "adamw-fused",
    )
    warmup = int(settings.warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class Trainer:
    """One optimisation step with a method's mixing: forward, finite-loss check, backward,
    clipping, AdamW and schedule (and a gradient scaler for fp16).

    On a CPU the finite-loss check runs every step. On a GPU reading the loss would make the
    host wait for the device every step, so the step only notes the first non-finite loss
    on the device and `check_finite()` (once an epoch) raises Diverged naming that step."""

    def __init__(
        self,
        model: nn.Module,
        method: MixupMethod,
        settings: TrainSettings,
        device: torch.device,
        total_steps: int,
    ) -> None:
        self.model, self.method, self.settings, self.device = model, method, settings, device
        self.optimizer, self.scheduler = build_optimizer(model, settings, total_steps)
        self.scaler = torch.amp.GradScaler(device.type, enabled=settings.precision.scaled)
        self.steps = 0
        self.saved_activation_bytes: int | None = None  # measured in the first step
        self.deferred_checks = device.type != "cpu"
        # on the device: the first step whose loss was not finite (-1: none yet), its loss
        self._first_bad = torch.tensor(-1, device=device)
        self._bad_loss = torch.tensor(0.0, device=device)

    def step(
        self, batch: dict[str, torch.Tensor], labels: torch.Tensor, rng: np.random.Generator
    ) -> StepOutput:
        saved = SavedActivations(self.model) if self.steps == 0 else nullcontext()
        with saved, autocast_for(self.settings, self.device):
            out = self.method.training_step(self.model, batch, labels, rng)
        if isinstance(saved, SavedActivations):
            self.saved_activation_bytes = saved.bytes
        if self.deferred_checks:
            self.note_finite(out.loss.detach())
        elif not torch.isfinite(out.loss):
            raise Diverged(f"loss became {out.loss.item()} at step {self.steps + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(out.loss).backward()
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.steps += 1
        return out

    def note_finite(self, loss: torch.Tensor) -> None:
        """Remember, on the device and without waiting for it, the first non-finite loss."""
        first = (self._first_bad < 0) & ~torch.isfinite(loss)
        self._first_bad = torch.where(first, self.steps + 1, self._first_bad)
        self._bad_loss = torch.where(first, loss.float(), self._bad_loss)

    def check_finite(self) -> None:
        """Raise Diverged if a step since the start had a non-finite loss (one wait for
        the device; a no-op where the check runs every step)."""
        if self.deferred_checks and int(self._first_bad) >= 0:
            raise Diverged(
                f"loss became {float(self._bad_loss)} at step {int(self._first_bad)} "
                f"(found at step {self.steps})"
            )
