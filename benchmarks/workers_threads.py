"""Wall time of one sweep for each layout of workers x threads per run on this machine.

Runs the same sweep (default: the quick profile's none, amplify and word on rt-polarity and
r8, seed 0) into a fresh results folder per layout, one layout after another, and prints one
JSON line per layout: wall time, runs a minute, the median run's train seconds, and whether
its metrics equal those of the first layout with the same threads per run (and of the
committed records, where the spec has one).

    python benchmarks/workers_threads.py [--layouts 1x2 2x1 2x1-passive] [--methods ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.core.store import Store

ROOT = Path(__file__).resolve().parent.parent


def run_layout(layout: str, base: list[str], results: Path) -> dict:
    """One sweep with `layout` = WORKERSxTHREADS[-passive] (OMP_WAIT_POLICY=PASSIVE)."""
    shape, _, policy = layout.partition("-")
    workers, threads = (int(x) for x in shape.split("x"))
    env = dict(os.environ)
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    args = [*base, "--threads", str(threads), "--results-dir", str(results)]
    if workers > 1:
        args += ["--executor", "local", "--workers", str(workers)]
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(ROOT / "run_bench.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{layout}: sweep failed ({out.returncode}): {out.stderr[-2000:]}")
    records = list(Store(results).records())
    return {
        "layout": layout,
        "threads": threads,
        "wall_seconds": round(wall, 1),
        "runs": len(records),
        "runs_per_minute": round(60 * len(records) / wall, 2),
        "median_train_seconds": round(
            statistics.median(r.result.cost.train_seconds for r in records), 1
        ),
        "metrics": {r.spec_hash: r.result.metrics for r in records},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", nargs="+", default=["1x2", "2x1", "2x1-passive"])
    parser.add_argument("--methods", nargs="+", default=["none", "amplify", "word"])
    parser.add_argument("--datasets", nargs="+", default=["rt-polarity", "r8"])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", nargs="+", default=["0"])
    args = parser.parse_args()
    base = ["--methods", *args.methods, "--datasets", *args.datasets, "--profile", args.profile]
    base += ["--seeds", *args.seeds, "--no-progress", "--no-report"]
    committed = {r.spec_hash: r for r in Store(ROOT / "results").records()}
    tmp = Path(tempfile.mkdtemp(prefix="layouts-"))
    first_by_threads: dict[int, dict] = {}
    for layout in args.layouts:
        run = run_layout(layout, base, tmp / layout)
        metrics = run.pop("metrics")
        reference = first_by_threads.setdefault(run["threads"], metrics)
        run["metrics_equal_first_layout_same_threads"] = metrics == reference
        same = [k for k in metrics if k in committed and committed[k].result is not None]
        run["committed_specs"] = len(same)
        run["equal_to_committed_same_threads"] = sum(
            metrics[k] == committed[k].result.metrics
            for k in same
            if committed[k].result.device.threads == run["threads"]
        )
        print(json.dumps(run), flush=True)


if __name__ == "__main__":
    main()
