"""Where runs execute. The planner, resume and records are the same whatever the executor.

Every executor runs the same unit, one spec (never one run split across devices, which would
change how mixup pairs examples). The driver process claims a spec (a lock file in the
results folder), hands it to a worker, and writes its record when the result comes back, so a
worker that dies loses only the run it was running; the next sweep redoes it. The claim
protocol is `Executor.run`, shared by every executor:

- InProcessExecutor: one run after another in this process (``--executor local``, 1 worker).
- LocalPoolExecutor (bench.sweep.local_pool): N worker processes on this machine.
- RayExecutor (bench.sweep.executor_ray): one Ray task per run (``--executor ray``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.core.config import RunSpec
from bench.core.records import RunRecord, RunStatus
from bench.core.store import Store
from bench.run import harness
from bench.sweep.attempts import Attempt, attempt, record_of


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


def finish(attempt: Attempt, store: Store) -> Outcome:
    """Write the record of an attempt atomically and report it."""
    record = record_of(attempt)
    store.write(record)
    return Outcome(attempt.spec, attempt.status, record)


OnDone = Callable[[Outcome], None]
OnSkip = Callable[[RunSpec], None]


class Executor:
    """The driver loop: keep `slots()` claimed specs in flight, write each record as its
    result arrives. Subclasses say how a run starts and how its result comes back."""

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
                    spec = next_claimed(queue, store, on_skip, force)
                    if spec is None:
                        break
                    try:
                        in_flight[self.submit(spec)] = spec
                    except BaseException:
                        store.release(spec)
                        raise
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


def next_claimed(
    queue: Iterator[RunSpec], store: Store, on_skip: OnSkip, force: bool
) -> RunSpec | None:
    """The next spec of the queue this process could claim and that is not finished
    meanwhile (unless forced); the others are skipped."""
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


class InProcessExecutor(Executor):
    """Runs specs one after another in this process (the default): a submitted run is
    finished when `submit` returns."""

    def __init__(self, runtime: harness.Runtime) -> None:
        self.runtime = runtime

    def slots(self) -> int:
        return 1

    def submit(self, spec: RunSpec) -> Attempt:
        return attempt(spec, self.runtime)

    def wait_any(self, handles: list[Attempt]) -> list[tuple[Attempt, Attempt]]:
        return [(handle, handle) for handle in handles]
