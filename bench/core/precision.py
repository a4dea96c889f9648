"""The training precision: one type that knows its autocast dtype, whether it needs a
gradient scaler, and whether a device runs it natively (the CPU's flags read once)."""

from __future__ import annotations

import enum
import os
from functools import cache

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 AVX-512 BF16 / AMX; Arm BF16
# "0" or "1" overrides the flag check: "0" with ONEDNN_MAX_CPU_ISA=AVX2 and
# ATEN_CPU_CAPABILITY=avx2 makes a bf16 CPU act, for the suite and torch, like one without
BF16_OVERRIDE_ENV = "MIXUP_BENCH_CPU_BF16"


class Precision(str, enum.Enum):
    """fp32, or autocast to bf16 / fp16 (fp16 with a gradient scaler). A str: the spec
    holds its value, so every spec keeps its hash."""

    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"

    def __str__(self) -> str:
        return self.value

    @property
    def autocast_dtype(self):
        """The torch dtype autocast runs in, or None for fp32 (no autocast)."""
        import torch

        return {Precision.BF16: torch.bfloat16, Precision.FP16: torch.float16}.get(self)

    @property
    def scaled(self) -> bool:
        """Whether the loss needs a gradient scaler (fp16's narrow range)."""
        return self is Precision.FP16

    def fast_on(self, device) -> bool:
        """Whether `device` runs this precision natively: bf16 needs AVX-512 BF16 / AMX on
        a CPU and Ampere or newer on a GPU (unknown counts as fast)."""
        if self is not Precision.BF16:
            return True
        if device.type == "cuda":
            import torch

            return bool(torch.cuda.is_bf16_supported())
        return cpu_bf16_fast() is not False


@cache
def _cpu_flags() -> frozenset[str] | None:
    try:
        with open("/proc/cpuinfo") as handle:
            return frozenset(
                flag
                for line in handle
                if line.lower().startswith(("flags", "features"))
                for flag in line.split(":", 1)[1].split()
            )
    except OSError:
        return None


def cpu_bf16_fast() -> bool | None:
    """Whether this CPU has bf16 matrix instructions (AVX-512 BF16, AMX or Arm BF16), from
    /proc/cpuinfo, read once ($MIXUP_BENCH_CPU_BF16=0/1 overrides it); None where that
    cannot be read. Without them, bf16 autocast on the CPU is emulated, slower than fp32."""
    override = os.environ.get(BF16_OVERRIDE_ENV)
    if override in ("0", "1"):
        return override == "1"
    flags = _cpu_flags()
    return any(flag in flags for flag in BF16_CPU_FLAGS) if flags else None
