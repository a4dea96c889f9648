"""Wall time of the same sweep through each executor (run on demand, not a test).

Runs one sweep (default: every method on every packaged dataset, smoke profile) into a
fresh results folder per executor: in this process (1 worker), a local pool of 2 workers,
and a Ray cluster of 2 nodes started on this machine's loopback address (1 CPU each).
Prints one JSON line per executor with its wall time and record count, and whether the
metrics of every executor equal those of the first one with the same threads per run.

    python benchmarks/executors.py [--methods all] [--datasets all] [--profile smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.core.store import Store
from bench.sweep.ray_cluster import LocalRayCluster

ROOT = Path(__file__).resolve().parent.parent


def sweep(args: list[str], results: Path, env: dict | None = None) -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(ROOT / "run_bench.py"), *args, "--results-dir", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"sweep failed ({out.returncode}): {out.stderr[-2000:]}")
    metrics = {}
    for record in Store(results).records():
        metrics[record.spec_hash] = (record.result.metrics, record.result.device.threads)
    return {"wall_seconds": round(wall, 1), "records": len(metrics), "metrics": metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["all"])
    parser.add_argument("--datasets", nargs="+", default=["all"])
    parser.add_argument("--profile", default="smoke")
    args = parser.parse_args()
    base = [
        "--methods",
        *args.methods,
        "--datasets",
        *args.datasets,
        "--profile",
        args.profile,
        "--no-progress",
        "--no-report",
    ]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    tmp = Path(tempfile.mkdtemp(prefix="executors-"))
    runs = {}
    runs["in-process, 1 worker"] = sweep([*base, "--threads", str(cores)], tmp / "one")
    runs["in-process, 1 worker, 1 thread"] = sweep([*base, "--threads", "1"], tmp / "one-1t")
    runs["local pool, 2 workers"] = sweep(
        [*base, "--executor", "local", "--workers", "2"], tmp / "pool"
    )
    cluster = LocalRayCluster(cpus=1)
    try:
        cluster.start(nodes=2)
        runs["ray, 2 nodes x 1 CPU"] = sweep(
            [*base, "--executor", "ray", "--ray-address", cluster.address, "--threads", "1"],
            tmp / "ray",
            env=cluster.env,
        )
    finally:
        cluster.stop()
    reference = runs["in-process, 1 worker, 1 thread"]["metrics"]
    for name, run in runs.items():
        threads = {t for _, t in run["metrics"].values()}
        same = None
        if threads == {1}:
            same = {k: m for k, (m, _) in run["metrics"].items()} == {
                k: m for k, (m, _) in reference.items()
            }
        print(
            json.dumps(
                {
                    "executor": name,
                    "wall_seconds": run["wall_seconds"],
                    "records": run["records"],
                    "threads_per_run": sorted(threads),
                    "metrics_equal_1_thread_in_process": same,
                    "cores": cores,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
