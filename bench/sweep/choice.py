"""The executors, by name, in the one Registry: `--executor` takes its choices from it and
the CLI builds the chosen one through it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.core.errors import Registry
from bench.run import harness
from bench.sweep.attempts import WorkerConfig
from bench.sweep.executors import Executor, InProcessExecutor
from bench.sweep.local_pool import LocalPoolExecutor


@dataclass(frozen=True)
class ExecutorRequest:
    """What the command line says about where runs execute."""

    runtime: harness.Runtime
    config: WorkerConfig
    workers: int = 1
    ray_address: str | None = None


def local(request: ExecutorRequest) -> Executor:
    """This process (one worker), or a pool of worker processes."""
    if request.workers == 1:
        return InProcessExecutor(request.runtime)
    executor = LocalPoolExecutor(request.config, request.workers)
    each = (
        f"{executor.config.threads} thread(s) each" if executor.config.threads else "one GPU each"
    )
    print(f"local pool: {request.workers} worker process(es), {each}", flush=True)
    return executor


def ray(request: ExecutorRequest) -> Executor:
    """A Ray cluster (Ray is imported only here)."""
    from bench.sweep.executor_ray import RayExecutor

    executor = RayExecutor(request.config, request.ray_address)
    print(executor.describe(), flush=True)
    return executor


EXECUTORS: Registry[Callable[[ExecutorRequest], Executor]] = Registry(
    "executor", {"local": local, "ray": ray}.items()
)
