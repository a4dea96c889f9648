"""Timers and memory probes: CUDA-synchronised step timing, CUDA peak memory, CPU peak RSS."""

from __future__ import annotations

import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import torch


def _rss_bytes() -> int | None:
    """Current resident set size of this process (Linux /proc), or None."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * resource.getpagesize()


class PeakRSS:
    """Samples this process's RSS in a thread: the peak *during* a run (ru_maxrss is the
    peak of the whole process, which a sweep of many runs would inflate)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = _rss_bytes() or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes() or 0)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        current = _rss_bytes()
        if current is None:  # not Linux: fall back to the process peak
            scale = 1 if sys.platform == "darwin" else 1024
            current = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        self.peak = max(self.peak, current)


@dataclass
class StepTimer:
    """Accumulates training time only. On a CPU, wall time per step. On a GPU, CUDA events
    recorded around each step and read once at `flush()` (the end of an epoch), so timing
    does not make the host wait for the device every step; a step's time is then the
    device's time from its first to its last kernel."""

    device: torch.device
    step_seconds: list[float] = field(default_factory=list)
    _pending: list[tuple[Any, Any]] = field(default_factory=list)

    def start(self) -> None:
        if self.device.type == "cuda":
            self._begin = torch.cuda.Event(enable_timing=True)
            self._begin.record()
        else:
            self._t0 = time.perf_counter()

    def stop(self) -> None:
        if self.device.type == "cuda":
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self._pending.append((self._begin, end))
        else:
            self.step_seconds.append(time.perf_counter() - self._t0)

    def flush(self) -> None:
        """Read the recorded CUDA events (one wait for the device)."""
        if self._pending:
            self._pending[-1][1].synchronize()
            self.step_seconds += [begin.elapsed_time(end) / 1000 for begin, end in self._pending]
            self._pending.clear()

    @property
    def total(self) -> float:
        self.flush()
        return float(sum(self.step_seconds))

    @property
    def median(self) -> float:
        self.flush()
        ordered = sorted(self.step_seconds)
        return float(ordered[len(ordered) // 2]) if ordered else 0.0


class SavedActivations:
    """Bytes of the tensors autograd saves for backward while the context is open: the
    activations that dominate a training step's memory on any device. Parameters are left
    out and each storage is counted once; tensors pass through unchanged."""

    def __init__(self, model: torch.nn.Module) -> None:
        self._parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self._seen: set[int] = set()
        self.bytes = 0
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        pointer = storage.data_ptr()
        if pointer not in self._parameters and pointer not in self._seen:
            self._seen.add(pointer)
            self.bytes += storage.nbytes()
        # a detached alias (same storage and version counter, no grad_fn): returning the
        # tensor itself ties the graph to its own outputs and the parameters in a cycle
        # through C++ that Python's gc never frees, leaking each run's model
        return tensor.detach()

    def __enter__(self) -> SavedActivations:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)


def reset_cuda_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def memory_report(device: torch.device, rss: PeakRSS) -> dict[str, float | str]:
    """Peak memory with a label saying which memory it is."""
    if device.type == "cuda":
        return {
            "peak_memory_kind": "cuda_max_allocated",
            "peak_memory_mb": torch.cuda.max_memory_allocated(device) / 2**20,
            "peak_cuda_reserved_mb": torch.cuda.max_memory_reserved(device) / 2**20,
            "peak_cpu_rss_mb": rss.peak / 2**20,
        }
    return {
        "peak_memory_kind": "cpu_rss",
        "peak_memory_mb": rss.peak / 2**20,
        "peak_cpu_rss_mb": rss.peak / 2**20,
    }
