"""Where runs execute. The planner, resume and records are the same whatever the executor."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from bench import harness
from bench.config import RunSpec
from bench.store import Store, make_record, now


@dataclass
class Outcome:
    spec: RunSpec
    status: str
    error: str | None
    record: dict[str, Any]


def classify_failure(exc: BaseException) -> str:
    """Map an exception raised by a run to a record status."""
    if isinstance(exc, harness.Diverged):
        return "diverged"
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return "oom"
    return "failed"


def execute_one(
    spec: RunSpec, runtime: harness.Runtime, store: Store, profile: str | None
) -> Outcome:
    """Run one spec in this process, catch its failure, write its record atomically."""
    started = now()
    try:
        result = harness.run(spec, runtime)
        record = make_record(spec, "ok", result, started, profile=profile)
        status, error = "ok", None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed run is recorded, and the sweep goes on
        status = classify_failure(exc)
        error = f"{type(exc).__name__}: {exc}"
        record = make_record(spec, status, None, started, error=error, profile=profile)
        record["traceback"] = traceback.format_exc(limit=8)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    store.write(spec, record)
    return Outcome(spec, status, error, record)


def execute_claimed(
    spec: RunSpec,
    runtime: harness.Runtime,
    store: Store,
    profile: str | None,
    force: bool = False,
) -> Outcome | None:
    """Run a spec unless another process holds it or has finished it meanwhile."""
    if not store.claim(spec):
        return None
    try:
        if not force and store.exists(spec):
            return None
        return execute_one(spec, runtime, store, profile)
    finally:
        store.release(spec)


class InProcessExecutor:
    """Runs specs one after another in this process (the default)."""

    def run(
        self,
        specs: Iterable[RunSpec],
        runtime: harness.Runtime,
        store: Store,
        profile: str | None,
        on_done: Callable[[Outcome], None],
        on_skip: Callable[[RunSpec], None] = lambda spec: None,
        force: bool = False,
    ) -> None:
        for spec in specs:
            outcome = execute_claimed(spec, runtime, store, profile, force)
            if outcome is None:
                on_skip(spec)
            else:
                on_done(outcome)
