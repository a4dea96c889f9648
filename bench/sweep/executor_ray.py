"""Run a sweep on a Ray cluster: one Ray task per run, records written by the driver.

Ray is optional (``pip install -e .[ray]``). Every node needs the suite installed (the same
commit: a record notes a worker whose commit differs), its model and its data. A task asks
for one GPU when the cluster has GPUs, or for ``--threads`` CPUs (default 1) otherwise.
Tasks are not retried by Ray: a run whose node dies is reported as lost, writes no record,
and is redone by the next sweep with the same command.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from typing import Any

from bench.core.config import RunSpec
from bench.core.errors import UserError
from bench.sweep.attempts import Attempt, WorkerConfig, attempt
from bench.sweep.executors import Executor

INSTALL_HINT = "install it with: pip install -e '.[ray]' (or pip install 'ray>=2.9')"

_RUNTIMES: dict[WorkerConfig, Any] = {}  # per Ray worker process: models loaded once


def run_on_worker(config: WorkerConfig, spec: RunSpec) -> Attempt:
    """The body of the Ray task: runs in a worker process on some node of the cluster."""
    import torch

    if config not in _RUNTIMES:
        _RUNTIMES[config] = config.runtime()
    if config.threads:
        torch.set_num_threads(config.threads)
    return attempt(spec, _RUNTIMES[config])


def import_ray():
    try:
        import ray
    except ImportError:
        raise UserError(
            f"--executor ray needs Ray, which is not installed; {INSTALL_HINT}"
        ) from None
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes (Ray retries an unreachable head for a long time), when
    nothing listens at a HOST:PORT address."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return  # 'auto' or another form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UserError(
            f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); start "
            "a cluster with 'ray start --head' or check the address"
        ) from None


class RayExecutor(Executor):
    """Each run is a Ray task; at most as many in flight as the cluster has room for."""

    def __init__(self, config: WorkerConfig, address: str | None = None) -> None:
        ray = self.ray = import_ray()
        if address:
            check_reachable(address)
        try:
            ray.init(
                address=address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=True,
            )
        except ConnectionError as exc:
            chain, cause = [], exc
            while cause is not None:
                chain.append(str(cause))
                cause = cause.__cause__
            if any("InvalidAuthToken" in text for text in chain):
                raise UserError(
                    f"--ray-address {address}: the cluster asks for an auth token that this "
                    "process does not have; set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN to the "
                    "cluster's token"
                ) from None
            raise UserError(
                f"--ray-address {address}: cannot connect to a Ray cluster "
                f"({str(exc).splitlines()[0]}); start one with 'ray start --head' or check "
                "the address"
            ) from None
        resources = ray.cluster_resources()
        gpus = config.device != "cpu" and resources.get("GPU", 0) >= 1
        if config.device == "cuda" and not gpus:
            ray.shutdown()
            raise UserError("--device cuda: the Ray cluster has no GPU; use --device cpu")
        if gpus:
            self.task_options = {"num_gpus": 1, "num_cpus": 1, "max_retries": 0}
            self.resource, self.per_task = "GPU", 1.0
        else:
            threads = config.threads or 1
            config = dataclasses.replace(config, device="cpu", threads=threads)
            self.task_options = {"num_cpus": threads, "num_gpus": 0, "max_retries": 0}
            self.resource, self.per_task = "CPU", float(threads)
        self.config = config
        self.remote = ray.remote(run_on_worker).options(**self.task_options)
        self.config_ref = ray.put(config)

    def describe(self) -> str:
        total = self.ray.cluster_resources().get(self.resource, 0)
        nodes = sum(1 for node in self.ray.nodes() if node.get("Alive"))
        return (
            f"ray: {nodes} node(s), {total:g} {self.resource}(s); each run asks for "
            f"{self.per_task:g} {self.resource}"
        )

    def slots(self) -> int:
        """Runs the live nodes can hold at once (read each time: nodes come and go)."""
        total = self.ray.cluster_resources().get(self.resource, 0)
        return max(1, int(total // self.per_task))

    def submit(self, spec: RunSpec) -> Any:
        return self.remote.remote(self.config_ref, spec)

    def wait_any(self, handles: list[Any]) -> list[tuple[Any, Attempt | str]]:
        ready, _ = self.ray.wait(handles, num_returns=1)
        out: list[tuple[Any, Attempt | str]] = []
        for ref in ready:
            try:
                out.append((ref, self.ray.get(ref)))
            except self.ray.exceptions.RayError as exc:  # node or worker died, or similar
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                out.append((ref, f"{type(exc).__name__}: {first_line}"))
        return out

    def cancel(self, handles: list[Any]) -> None:
        for ref in handles:
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # already finished or its node is gone
                pass

    def close(self) -> None:
        self.ray.shutdown()
