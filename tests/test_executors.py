"""Executors: the local pool gives the same records as in-process runs; bad flags fail early."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.api.registry import method_names
from bench.cli.cli import main
from bench.core.records import RunRecord
from bench.core.store import load_record
from bench.sweep import local_pool
from bench.sweep.local_pool import split_cores
from tests.test_cli import ROOT
from tests.test_cli import cli as run_cli
from tests.test_reliability import SMALL

TINY = [*SMALL, "--threads", "1"]  # one thread per run: identical numbers in any executor


def records_by_spec(results: Path) -> dict[str, RunRecord]:
    """spec hash -> record, asserting one record per spec and no stray lock or temp files."""
    out: dict[str, RunRecord] = {}
    for path in results.rglob("*"):
        assert path.suffix != ".lock", f"lock left behind: {path}"
        assert not path.name.startswith(".tmp-"), f"temporary file left behind: {path}"
        if path.suffix == ".json" and path.parent.parent.parent.name == "runs":
            record = load_record(path)
            assert record.spec_hash not in out, f"two records for {record.spec_hash}"
            out[record.spec_hash] = record
    return out


def same_numbers(a: dict[str, RunRecord], b: dict[str, RunRecord]) -> None:
    """Identical specs, metrics and per-example predictions (costs and dates may differ)."""
    assert sorted(a) == sorted(b)
    for key in a:
        ra, rb = a[key].result, b[key].result
        assert a[key].ok and b[key].ok
        assert ra.metrics == rb.metrics, a[key].spec
        assert ra.predictions.to_dict() == rb.predictions.to_dict(), a[key].spec
        assert ra.device.threads == rb.device.threads == 1


def test_split_cores_gives_disjoint_equal_shares():
    assert split_cores([0, 1], 2) == [[0], [1]]
    assert split_cores([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3]]
    assert split_cores([4, 5, 6, 7], 1) == [[4, 5, 6, 7]]
    shares = split_cores(list(range(16)), 4)
    assert sorted(c for share in shares for c in share) == list(range(16))


def test_workers_get_the_gpus_this_process_was_given(monkeypatch):
    monkeypatch.setattr(local_pool.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(local_pool.torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert local_pool.visible_gpus() == ["2", "3"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert local_pool.visible_gpus() == ["0", "1"]
    monkeypatch.setattr(local_pool.torch.cuda, "is_available", lambda: False)
    assert local_pool.visible_gpus() == []


def test_pool_refuses_more_workers_than_gpus(monkeypatch):
    monkeypatch.setattr(local_pool, "visible_gpus", lambda: ["0", "1"])
    with pytest.raises(local_pool.UserError, match="only 2 GPU"):
        local_pool.LocalPoolExecutor(local_pool.WorkerConfig(device="auto"), workers=3)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--workers", "0"], "--workers 0: must be at least 1"),
        (["--threads", "0"], "--threads 0: must be at least 1"),
        (["--executor", "ray", "--workers", "2"], "--workers is for --executor local"),
        (["--ray-address", "127.0.0.1:6379"], "--ray-address needs --executor ray"),
        (["--workers", str((os.cpu_count() or 1) + 1), "--device", "cpu"], "core(s); use"),
        (["--executor", "dask"], "invalid choice: 'dask'"),
    ],
)
def test_bad_executor_flags_fail_before_any_run(tmp_path, capsys, flags, message):
    args = ["--methods", "none", "--datasets", "rt-polarity", "--results-dir", str(tmp_path)]
    assert main([*args, *TINY, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert not list(tmp_path.rglob("*.json"))


def test_ray_executor_without_ray_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    args = ["--methods", "none", "--datasets", "rt-polarity", "--results-dir", str(tmp_path)]
    assert main([*args, *TINY, "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert "Ray, which is not installed" in err and "pip install -e '.[ray]'" in err
    assert not list(tmp_path.rglob("*.json"))


def test_unreachable_ray_address_fails_fast(tmp_path, capsys):
    pytest.importorskip("ray")
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["--methods", "none", "--datasets", "rt-polarity", "--results-dir", str(tmp_path)]
    started = time.perf_counter()
    code = main([*args, *TINY, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"])
    assert code == 2 and time.perf_counter() - started < 30
    err = capsys.readouterr().err
    assert f"--ray-address 127.0.0.1:{port}: nothing answers there" in err
    assert "ray start --head" in err and err.count("\n") == 1


def test_worker_config_builds_a_runtime_anywhere():
    config = local_pool.WorkerConfig(device="cpu", threads=1, compile=True)
    runtime = config.runtime()
    assert runtime.threads == 1 and runtime.dataset_registry is not None and not runtime.progress
    assert runtime.compile and runtime.device == "cpu"
    assert "rt-polarity" in runtime.dataset_registry.entries


@pytest.mark.e2e
def test_local_pool_matches_in_process_runs_and_resumes(tmp_path):
    """Two worker processes with one thread each give the records of a one-thread sweep in
    this process, bit for bit; a rerun finds everything done."""
    args = ["--methods", "none", "amplify", "--datasets", "rt-polarity", "amazon-cr", *TINY]
    alone = run_cli(*args, "--results-dir", str(tmp_path / "alone"))
    assert alone.returncode == 0, alone.stderr[-2000:]
    pool = run_cli(
        *args, "--results-dir", str(tmp_path / "pool"), "--executor", "local", "--workers", "2"
    )
    assert pool.returncode == 0, pool.stderr[-2000:]
    assert "local pool: 2 worker process(es), 1 thread(s) each" in pool.stdout
    alone_records = records_by_spec(tmp_path / "alone")
    pool_records = records_by_spec(tmp_path / "pool")
    assert len(alone_records) == 4
    same_numbers(alone_records, pool_records)
    # the driver wrote the records: its command, not a worker's
    for record in pool_records.values():
        assert "--workers 2" in record.provenance.command
    again = run_cli(
        *args, "--results-dir", str(tmp_path / "pool"), "--executor", "local", "--workers", "2"
    )
    assert again.returncode == 0 and "plan: 0 run(s) to do, 4 already done" in again.stdout


def worker_pids(driver_pid: int) -> list[int]:
    """The pool's worker processes: children of the driver started by multiprocessing spawn
    (not its resource tracker)."""
    out = subprocess.run(["pgrep", "-P", str(driver_pid)], capture_output=True, text=True)
    pids = []
    for pid in map(int, out.stdout.split()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "spawn_main" in cmdline:
            pids.append(pid)
    return pids


def pool_sweep_with_a_record(args: list[str], results: Path) -> tuple[subprocess.Popen, list[int]]:
    """A sweep started in a subprocess, once its first record is written: (the process,
    its pool's worker pids)."""
    sweep = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bench.py"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while not list(results.rglob("seed0-*.json")) and time.time() < deadline:
        assert sweep.poll() is None, sweep.communicate()[1][-3000:]
        time.sleep(0.1)
    workers = worker_pids(sweep.pid)
    assert workers, "no worker process found"
    return sweep, workers


@pytest.mark.e2e
def test_a_killed_pool_worker_loses_only_runs_in_flight(tmp_path):
    """kill -9 of one worker process: its run (and any other in flight) is reported lost or
    not started, nothing half-written stays, and the rerun completes exactly the rest."""
    results = tmp_path / "results"
    args = [
        "--methods",
        "all",
        "--datasets",
        "rt-polarity",
        "amazon-cr",
        *TINY,
        "--results-dir",
        str(results),
        "--executor",
        "local",
        "--workers",
        "2",
    ]
    sweep, victims = pool_sweep_with_a_record(args, results)
    os.kill(victims[0], signal.SIGKILL)
    out, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 1, (out[-2000:], err[-2000:])
    assert ": lost: " in err and "rerun the same command" in err
    done = records_by_spec(results)  # no duplicates, no locks, no temporary files
    total = 2 * len(method_names())
    assert 1 <= len(done) < total and all(r.ok for r in done.values())

    rerun = run_cli(*args[:-4])  # resume in this process: the executor is not in the spec
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"plan: {total - len(done)} run(s) to do, {len(done)} already done" in rerun.stdout
    assert len(records_by_spec(results)) == total


def running(pid: int) -> bool:
    """A live process (a zombie waiting to be reaped does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.e2e
def test_kill_stops_a_pool_sweep_as_ctrl_c_does(tmp_path):
    """SIGTERM to the driver: the workers go with it (none left behind holding a model),
    no lock stays, the finished records are kept, exit code 130."""
    results = tmp_path / "results"
    args = ["--methods", "all", "--datasets", "rt-polarity", "amazon-cr", *TINY]
    pool = [*args, "--results-dir", str(results), "--executor", "local", "--workers", "2"]
    sweep, workers = pool_sweep_with_a_record(pool, results)
    sweep.send_signal(signal.SIGTERM)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, (out[-2000:], err[-2000:])
    assert "interrupted:" in err and "rerun the same command to resume" in err
    deadline = time.time() + 30
    while any(map(running, workers)) and time.time() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if running(pid)]
    assert not list(results.rglob("*.lock"))
    assert records_by_spec(results)  # the finished ones are kept
