"""The GPU check runs bare: a CPU dry run on a tiny encoder, with `datasets` unimportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# make `import datasets` fail in the child, as on a machine without the package
BLOCK_DATASETS = (
    "import runpy, sys; sys.modules['datasets'] = None; "
    "sys.argv = ['gpu_check.py', *sys.argv[1:]]; "
    "runpy.run_path('benchmarks/gpu_check.py', run_name='__main__')"
)


def test_gpu_check_dry_run_on_cpu_without_datasets():
    args = ["--device", "cpu", "--tiny", "--methods", "none", "amplify"]  # tiny: 2 / 3 steps
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_DATASETS, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    kinds = {f["figure"] for f in figures}
    assert {"device", "step_time", "fp16_scaler", "bf16_vs_fp32_loss", "padding"} <= kinds
    assert "paper_sweep_estimate" in kinds and "error" not in kinds
    steps = {(f["method"], f["precision"]) for f in figures if f["figure"] == "step_time"}
    assert steps == {(m, p) for m in ("none", "amplify") for p in ("bf16", "fp32")}
    fp16 = next(f for f in figures if f["figure"] == "fp16_scaler")
    assert fp16["all_finite"] and fp16["steps"] == 3
    assert "method" in done.stdout and "x none" in done.stdout  # the closing table


def test_the_core_imports_without_datasets():
    code = (
        "import sys; sys.modules['datasets'] = None; "
        "import bench.training, bench.models, bench.registry, bench.harness, bench.cli; "
        "from bench.registry import method_names; print(len(method_names()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) >= 6
