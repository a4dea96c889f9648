"""The GPU check runs bare: a CPU dry run on a tiny encoder, with `datasets` unimportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# one child for both tests (importing torch and transformers is most of its time): make
# `import datasets` fail, as on a machine without the package, import the core and count
# the methods it finds, then run the GPU check as its command line would
BARE_CHILD = (
    "import runpy, sys; sys.modules['datasets'] = None; "
    "import bench.run.training, bench.run.models, bench.api.registry, bench.run.harness; "
    "import bench.cli.cli; "
    "from bench.api.registry import method_names; print('core methods:', len(method_names())); "
    "sys.argv = ['gpu_check.py', *sys.argv[1:]]; "
    "runpy.run_path('benchmarks/gpu_check.py', run_name='__main__')"
)


@pytest.fixture(scope="module")
def bare_dry_run() -> subprocess.CompletedProcess:
    """The GPU check's CPU dry run (tiny encoder: 2 / 3 steps, batch 8, 2 rounds of step
    times) in a bare child."""
    args = ["--device", "cpu", "--tiny", "--batch-size", "8", "--methods", "none", "amplify"]
    args += ["--rounds", "2", "--budget-s", "59"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", BARE_CHILD, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def printed_figures(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_the_core_imports_without_datasets(bare_dry_run):
    counts = [line for line in bare_dry_run.stdout.splitlines() if line.startswith("core methods:")]
    assert counts, bare_dry_run.stderr[-2000:]
    assert int(counts[0].split(":")[1]) >= 6


def test_gpu_check_dry_run_on_cpu_without_datasets(bare_dry_run):
    done = bare_dry_run
    assert done.returncode == 0, done.stderr[-2000:]
    figures = printed_figures(done)
    kinds = {f["figure"] for f in figures}
    expected = {"device", "step_time", "fp16_scaler", "bf16_vs_fp32_loss", "padding", "harness"}
    assert expected <= kinds
    assert "paper_sweep_estimate" in kinds and "error" not in kinds
    steps = {(f["method"], f["precision"]) for f in figures if f["figure"] == "step_time"}
    assert steps == {(m, p) for m in ("none", "amplify") for p in ("bf16", "fp32")}
    fp16 = next(f for f in figures if f["figure"] == "fp16_scaler")
    assert fp16["all_finite"] and fp16["steps"] == 3 + 2  # timed and warm-up steps
    assert "method" in done.stdout and "x none" in done.stdout  # the closing table


def test_step_times_come_from_interleaved_rounds_with_ratios_within_each_round(bare_dry_run):
    done = bare_dry_run
    steps = [f for f in printed_figures(done) if f["figure"] == "step_time"]
    assert steps and all(f["rounds"] == 2 for f in steps), done.stderr[-2000:]
    for f in steps:
        low, high = f["relative_range"]
        assert low <= f["relative_to_none"] <= high
        assert f["method"] != "none" or low == high == 1.0


def test_gpu_check_runs_the_harness_loop_and_records_its_cost(bare_dry_run):
    runs = {f["method"]: f for f in printed_figures(bare_dry_run) if f["figure"] == "harness"}
    assert set(runs) == {"none", "amplify"}, bare_dry_run.stderr[-2000:]
    for run in runs.values():
        assert run["steps"] == 8 and run["finite"]  # 64 examples in batches of 8, one epoch
        assert run["peak_memory_kind"] == "cpu_rss" and run["activation_mb"] > 0


def test_a_budget_that_runs_out_names_every_skipped_figure_and_fails():
    args = ["--device", "cpu", "--tiny", "--budget-s", "1", "--methods", "none"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode != 0 and "no step time was measured" in done.stderr
    skipped = [line for line in done.stdout.splitlines() if line.startswith("skipped ")]
    assert any(line.startswith("skipped step_time none") for line in skipped)
    assert any(line.startswith("skipped padding: ") and "needs 20" in line for line in skipped)
