"""Running a sweep on a local worker pool: N processes on this machine, each pinned to one
GPU, or on CPU to its own share of the cores (``--executor local --workers N``)."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import torch

from bench.core.config import RunSpec
from bench.core.errors import UserError
from bench.run import harness
from bench.sweep.attempts import Attempt, WorkerConfig, attempt
from bench.sweep.executors import Executor

_WORKER_RUNTIME: harness.Runtime | None = None  # one per worker process, models loaded once


def _init_worker(config: WorkerConfig, slots: Any, gpus: list[str], cpu_sets: list[list[int]]):
    """Pin this worker: take a slot number, then its GPU (CUDA_VISIBLE_DEVICES, set before
    CUDA starts) or its cores (affinity and torch threads)."""
    global _WORKER_RUNTIME
    slot = slots.get()
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[slot]
    elif cpu_sets and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpu_sets[slot])
    _WORKER_RUNTIME = config.runtime()
    if config.threads:
        torch.set_num_threads(config.threads)


def _run_in_worker(spec: RunSpec) -> Attempt:
    assert _WORKER_RUNTIME is not None, "worker was not initialised"
    return attempt(spec, _WORKER_RUNTIME)


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries for its workers: with
    CUDA_VISIBLE_DEVICES=2,3 set, worker 0 must get '2', not '0'."""
    if not torch.cuda.is_available():
        return []
    count = torch.cuda.device_count()
    listed = [x.strip() for x in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
    listed = [x for x in listed if x]
    return listed[:count] if listed else [str(i) for i in range(count)]


def split_cores(cores: list[int], workers: int) -> list[list[int]]:
    """Disjoint, equal shares of the cores, one per worker (the remainder stays unused)."""
    share = max(1, len(cores) // workers)
    return [cores[(i * share) % len(cores) :][:share] for i in range(workers)]


class LocalPoolExecutor(Executor):
    """N worker processes on this machine: one per GPU, or on CPU each with its own cores."""

    def __init__(self, config: WorkerConfig, workers: int) -> None:
        if workers < 1:
            raise UserError(f"--workers {workers}: must be at least 1")
        gpus = visible_gpus() if config.device in ("auto", "cuda") else []
        if config.device == "cuda" and not gpus:
            raise UserError("--device cuda: no CUDA device is available; use --device cpu")
        cpu_sets: list[list[int]] = []
        if gpus:
            if workers > len(gpus):
                raise UserError(
                    f"--workers {workers}: only {len(gpus)} GPU(s) visible, and a worker "
                    f"uses one; use --workers {len(gpus)} or fewer, or --device cpu"
                )
            gpus = gpus[:workers]
        else:
            cores = (
                sorted(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else list(range(os.cpu_count() or 1))
            )
            if workers > len(cores):
                raise UserError(
                    f"--workers {workers}: this machine has {len(cores)} core(s); "
                    f"use --workers {len(cores)} or fewer"
                )
            cpu_sets = split_cores(cores, workers)
            if config.threads is None:
                config = dataclasses.replace(config, threads=len(cpu_sets[0]))
        self.workers = workers
        self.config = config
        context = multiprocessing.get_context("spawn")  # no forked CUDA or thread state
        slots = context.Queue()
        for slot in range(workers):
            slots.put(slot)
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(config, slots, gpus, cpu_sets),
        )
        self.broken = False

    def slots(self) -> int:
        return 0 if self.broken else self.workers

    def submit(self, spec: RunSpec) -> Future:
        return self.pool.submit(_run_in_worker, spec)

    def wait_any(self, handles: list[Future]) -> list[tuple[Future, Attempt | str]]:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        out: list[tuple[Future, Attempt | str]] = []
        for future in done:
            try:
                out.append((future, future.result()))
            except BrokenProcessPool:
                # a worker died (killed, out of host memory): every run in flight is lost
                self.broken = True
                out.append((future, "a worker process died; rerun the same command to redo it"))
            except Exception as exc:  # e.g. a result that could not be sent back
                out.append((future, f"{type(exc).__name__}: {exc}"))
        return out

    def cancel(self, handles: list[Future]) -> None:
        for future in handles:
            future.cancel()
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)  # sets _processes to None
        for process in processes:
            process.terminate()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
