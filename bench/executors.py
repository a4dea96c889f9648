"""Where runs execute. The planner, resume and records are the same whatever the executor.

Every executor runs the same unit, one spec (never one run split across devices, which would
change how mixup pairs examples). The driver process claims a spec (a lock file in the
results folder), hands it to a worker, and writes its record when the result comes back, so a
worker that dies loses only the run it was running; the next sweep redoes it.

- InProcessExecutor: one run after another in this process (``--executor local``, 1 worker).
- LocalPoolExecutor: N worker processes on this machine, each pinned to one GPU, or on CPU
  to its own share of the cores (``--executor local --workers N``).
- RayExecutor (bench.executor_ray): one Ray task per run (``--executor ray``).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import torch

from bench import harness
from bench.config import RunSpec
from bench.datasets.registry import build_registry
from bench.errors import UserError
from bench.provenance import git_commit, invocation, now, package_versions, platform_name
from bench.records import Provenance, RunRecord, RunResult, RunStatus
from bench.registry import method_label
from bench.store import Store
from bench.training import Diverged


@dataclass
class Outcome:
    """What the driver reports for one finished (or lost) spec: its record, or for a lost
    run (the worker died; no record, the next sweep redoes it) why it was lost."""

    spec: RunSpec
    status: RunStatus
    record: RunRecord | None = None
    lost_because: str | None = None

    @property
    def error(self) -> str | None:
        return self.lost_because if self.record is None else self.record.error


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker process builds its Runtime: plain values, so it pickles to any process
    or machine (a Runtime holds loaded models and a registry, which stay where they are)."""

    device: str = "auto"
    threads: int | None = None
    trust_remote_code: bool = False
    data_dir: str | None = None
    compile: bool = False

    def runtime(self) -> harness.Runtime:
        return harness.Runtime(
            device=self.device,
            progress=False,  # workers run unattended; the driver reports each run
            compile=self.compile,
            trust_remote_code=self.trust_remote_code,
            threads=self.threads,
            registry=build_registry(self.data_dir),
        )


@dataclass
class Attempt:
    """What one run produced where it ran; the driver turns it into a record."""

    spec: RunSpec
    status: RunStatus
    started: str
    finished: str
    result: RunResult | None = None
    error: str | None = None
    traceback: str | None = None
    ran_on: dict[str, Any] = field(default_factory=dict)


def classify_failure(exc: BaseException) -> RunStatus:
    """Map an exception raised by a run to a record status."""
    if isinstance(exc, Diverged):
        return RunStatus.DIVERGED
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return RunStatus.OOM
    return RunStatus.FAILED


def attempt(spec: RunSpec, runtime: harness.Runtime) -> Attempt:
    """Run one spec here; a failure of the run becomes a status, never an exception."""
    started = now()
    ran_on = {
        "packages": package_versions(),
        "platform": platform_name(),
        "git_commit": git_commit(),
    }
    try:
        result = harness.run(spec, runtime)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed run is recorded, and the sweep goes on
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return Attempt(
            spec,
            classify_failure(exc),
            started,
            now(),
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=8),
            ran_on=ran_on,
        )
    return Attempt(spec, RunStatus.OK, started, now(), result=result, ran_on=ran_on)


def record_of(attempt: Attempt) -> RunRecord:
    """The record of an attempt, made by the driver: its command and commit, the packages
    and platform of the machine that ran it (which may be another one)."""
    driver_commit = git_commit()
    ran_on = attempt.ran_on or {
        "packages": package_versions(),
        "platform": platform_name(),
        "git_commit": driver_commit,
    }
    provenance = Provenance(
        packages=ran_on["packages"],
        git_commit=driver_commit,
        started=attempt.started,
        finished=attempt.finished,
        platform=ran_on["platform"],
        command=invocation(),
        worker_git_commit=(ran_on["git_commit"] if ran_on["git_commit"] != driver_commit else None),
    )
    spec = attempt.spec
    return RunRecord(
        spec=spec,
        status=attempt.status,
        provenance=provenance,
        method_label=method_label(spec.method, dict(spec.method_options)),
        result=attempt.result,
        error=attempt.error,
        traceback=attempt.traceback,
    )


def finish(attempt: Attempt, store: Store) -> Outcome:
    """Write the record of an attempt atomically and report it."""
    record = record_of(attempt)
    store.write(record)
    return Outcome(attempt.spec, attempt.status, record)


def execute_one(spec: RunSpec, runtime: harness.Runtime, store: Store) -> Outcome:
    """Run one spec in this process and write its record."""
    return finish(attempt(spec, runtime), store)


def execute_claimed(
    spec: RunSpec, runtime: harness.Runtime, store: Store, force: bool = False
) -> Outcome | None:
    """Run a spec unless another process holds it or has finished it meanwhile."""
    if not store.claim(spec):
        return None
    try:
        if not force and store.finished(spec):
            return None
        return execute_one(spec, runtime, store)
    finally:
        store.release(spec)


OnDone = Callable[[Outcome], None]
OnSkip = Callable[[RunSpec], None]


class InProcessExecutor:
    """Runs specs one after another in this process (the default)."""

    def __init__(self, runtime: harness.Runtime) -> None:
        self.runtime = runtime

    def run(
        self,
        specs: Iterable[RunSpec],
        store: Store,
        on_done: OnDone,
        on_skip: OnSkip = lambda spec: None,
        force: bool = False,
    ) -> None:
        for spec in specs:
            outcome = execute_claimed(spec, self.runtime, store, force)
            if outcome is None:
                on_skip(spec)
            else:
                on_done(outcome)


class RemoteExecutor:
    """The driver loop shared by executors whose runs execute in other processes: keep
    `slots()` claimed specs in flight, write each record as its result arrives."""

    def slots(self) -> int:
        raise NotImplementedError

    def submit(self, spec: RunSpec) -> Any:
        """Start the run of a spec; returns a handle."""
        raise NotImplementedError

    def wait_any(self, handles: list[Any]) -> list[tuple[Any, Attempt | str]]:
        """Block until at least one handle is done: (handle, its Attempt, or why it was lost)."""
        raise NotImplementedError

    def cancel(self, handles: list[Any]) -> None:
        """Stop what is still running (after Ctrl-C)."""

    def close(self) -> None:
        """Free the workers."""

    def run(
        self,
        specs: Iterable[RunSpec],
        store: Store,
        on_done: OnDone,
        on_skip: OnSkip = lambda spec: None,
        force: bool = False,
    ) -> None:
        queue: Iterator[RunSpec] = iter(specs)
        in_flight: dict[Any, RunSpec] = {}
        try:
            while True:
                while len(in_flight) < self.slots():
                    spec = self._next_claimed(queue, store, on_skip, force)
                    if spec is None:
                        break
                    in_flight[self.submit(spec)] = spec
                if not in_flight:
                    return
                for handle, done in self.wait_any(list(in_flight)):
                    spec = in_flight.pop(handle)
                    try:
                        if isinstance(done, Attempt):
                            outcome = finish(done, store)
                        else:
                            outcome = Outcome(spec, RunStatus.LOST, lost_because=done)
                    finally:
                        store.release(spec)
                    on_done(outcome)
        except BaseException:
            self.cancel(list(in_flight))
            for spec in in_flight.values():
                store.release(spec)
            raise
        finally:
            self.close()

    @staticmethod
    def _next_claimed(
        queue: Iterator[RunSpec], store: Store, on_skip: OnSkip, force: bool
    ) -> RunSpec | None:
        for spec in queue:
            if not store.claim(spec):
                on_skip(spec)
                continue
            if not force and store.finished(spec):
                store.release(spec)
                on_skip(spec)
                continue
            return spec
        return None


# ---------------------------------------------------------------- local worker processes

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


class LocalPoolExecutor(RemoteExecutor):
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
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in list(getattr(self.pool, "_processes", {}).values()):
            process.terminate()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
