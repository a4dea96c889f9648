"""One run where it executes, and the record the driver makes of it.

A worker (this process, a pool process or a Ray task) runs a spec and returns an Attempt:
the result or the failure, and the provenance of the machine that ran it. The driver turns
it into the record, adding its own command and commit.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass

import torch

from bench.api.registry import method_label
from bench.core.config import RunSpec
from bench.core.provenance import git_commit, invocation, now, package_versions, platform_name
from bench.core.records import Provenance, RunRecord, RunResult, RunStatus
from bench.run import harness
from bench.run.datasets.registry import build_registry
from bench.run.training import Diverged


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker process builds its Runtime: plain values, so it pickles to any process
    or machine (a Runtime holds loaded models and a dataset registry, which stay where they are)."""

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
            dataset_registry=build_registry(self.data_dir),
        )


@dataclass(eq=False)  # a handle of the in-process executor: hashed by identity
class Attempt:
    """What one run produced where it ran: `provenance` is the worker's (its packages,
    platform and commit); the driver completes it in `record_of`."""

    spec: RunSpec
    status: RunStatus
    provenance: Provenance
    result: RunResult | None = None
    error: str | None = None
    traceback: str | None = None


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

    def here(**outcome) -> Attempt:
        provenance = Provenance(
            packages=package_versions(),
            git_commit=git_commit(),
            started=started,
            finished=now(),
            platform=platform_name(),
        )
        return Attempt(spec, provenance=provenance, **outcome)

    try:
        result = harness.run(spec, runtime)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed run is recorded, and the sweep goes on
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return here(
            status=classify_failure(exc),
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=8),
        )
    return here(status=RunStatus.OK, result=result)


def record_of(attempt: Attempt) -> RunRecord:
    """The record of an attempt, made by the driver: its command and commit, the packages
    and platform of the machine that ran it (which may be another one)."""
    driver_commit = git_commit()
    worker_commit = attempt.provenance.git_commit
    provenance = dataclasses.replace(
        attempt.provenance,
        git_commit=driver_commit,
        command=invocation(),
        worker_git_commit=worker_commit if worker_commit != driver_commit else None,
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
