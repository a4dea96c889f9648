"""A real two-node Ray cluster on the loopback address: a head node and a worker node, each
its own `ray start --block` process group with one CPU. Sweeps through --executor ray give
the records of the same sweep run locally, and survive the loss of the worker node."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.sweep.ray_cluster import LocalRayCluster
from tests.test_executors import ROOT, TINY, records_by_spec, run_cli, same_numbers

pytest.importorskip("ray", reason="Ray tests need the extra: pip install -e '.[ray]'")


@pytest.fixture(scope="module")
def cluster():
    c = LocalRayCluster(cpus=1)
    try:
        yield c.start(nodes=2)
    finally:
        c.stop()


def ray_cli(cluster: LocalRayCluster, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, "--executor", "ray", "--ray-address", cluster.address, env=cluster.env)


@pytest.mark.e2e
def test_ray_sweep_matches_the_local_sweep(cluster, tmp_path):
    args = ["--methods", "none", "tmix", "--datasets", "rt-polarity", "amazon-cr", *TINY]
    local = run_cli(*args, "--results-dir", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = ray_cli(cluster, *args, "--results-dir", str(tmp_path / "ray"))
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert "ray: 2 node(s), 2 CPU(s); each run asks for 1 CPU" in on_ray.stdout
    local_records = records_by_spec(tmp_path / "local")
    ray_records = records_by_spec(tmp_path / "ray")
    assert len(local_records) == 4
    same_numbers(local_records, ray_records)
    for record in ray_records.values():
        assert "--executor ray" in record.provenance.command  # written by the driver


@pytest.mark.e2e
def test_a_driver_without_the_cluster_token_gets_a_one_line_error(cluster, tmp_path):
    env = {k: v for k, v in cluster.env.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_MODE")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token either
    args = ["--methods", "none", "--datasets", "rt-polarity", *TINY]
    out = run_cli(
        *args,
        "--results-dir",
        str(tmp_path / "r"),
        "--executor",
        "ray",
        "--ray-address",
        cluster.address,
        env=env,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --ray-address") and "asks for an auth token" in last
    assert not list((tmp_path / "r").rglob("*.json"))


def busy_task_processes(node_pid: int) -> list[int]:
    """Ray worker processes of one node (its session: `ray start` runs in its own) that are
    running a task: Ray names them after the task function while it runs."""
    busy = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            session = os.getsid(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
        if session == node_pid and cmdline.startswith("ray::run_on_worker"):
            busy.append(int(proc.name))
    return busy


@pytest.mark.e2e
def test_losing_the_worker_node_mid_sweep_loses_only_its_run(cluster, tmp_path):
    results = tmp_path / "results"
    args = [
        "--methods",
        "none",
        "word",
        "sentence",
        "--datasets",
        "rt-polarity",
        "amazon-cr",
        *TINY,
        "--train-size",
        "48",
        "--results-dir",
        str(results),
    ]
    sweep = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run_bench.py"),
            *args,
            "--executor",
            "ray",
            "--ray-address",
            cluster.address,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.env,
    )
    worker = cluster.nodes[1]
    deadline = time.time() + 300
    while not busy_task_processes(worker.pid) and time.time() < deadline:
        assert sweep.poll() is None, sweep.communicate()[1][-3000:]
        time.sleep(0.2)
    assert busy_task_processes(worker.pid), "no run was ever in flight on the worker node"
    cluster.kill(worker)  # the worker node dies while it runs a spec
    out, err = sweep.communicate(timeout=600)
    assert sweep.returncode == 1, err[-3000:]
    assert ": lost: " in err and "rerun the same command" in err
    done = records_by_spec(results)  # no duplicates, no locks, no partial files
    assert len(done) < 6 and all(r.ok for r in done.values())

    rerun = ray_cli(cluster, *args)  # resume on the head node alone: redoes what is missing
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"plan: {6 - len(done)} run(s) to do, {len(done)} already done" in rerun.stdout
    final = records_by_spec(results)
    assert len(final) == 6 and all(r.ok for r in final.values())
    assert {k: v.result.metrics for k, v in done.items()} == {
        k: final[k].result.metrics for k in done
    }
