"""A long sweep survives faults and bad input and loses nothing."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.cli.cli import build_parser, main, reports_dir, request_from_args
from bench.core.errors import UserError
from bench.core.store import Store
from bench.run.datasets.local import load_folder
from bench.run.datasets.registry import build_registry
from bench.run.training import Diverged
from bench.sweep import attempts
from bench.sweep.planning import make_plan
from tests.conftest import fake_result, skip_figure_rendering

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "--profile",
    "smoke",
    "--train-size",
    "16",
    "--val-size",
    "8",
    "--test-size",
    "8",
    "--no-progress",
    "--no-report",
]


def fake_run_failing(failures):
    """harness.run stand-in: raises failures[(dataset, method)] or returns a fake result."""

    def run(spec, runtime):
        exc = failures.get((spec.dataset, spec.method))
        if exc is not None:
            raise exc
        return fake_result()

    return run


def test_failed_oom_and_diverged_runs_are_recorded_and_the_sweep_goes_on(
    tmp_path, monkeypatch, capsys
):
    failures = {
        ("rt-polarity", "word"): RuntimeError("boom"),
        ("rt-polarity", "tmix"): torch.cuda.OutOfMemoryError("CUDA out of memory"),
        ("rt-polarity", "amplify"): Diverged("loss became nan at step 3"),
    }
    monkeypatch.setattr(attempts.harness, "run", fake_run_failing(failures))
    args = [
        "--methods",
        "none",
        "word",
        "tmix",
        "amplify",
        "sentence",
        "--datasets",
        "rt-polarity",
        "--results-dir",
        str(tmp_path),
        *SMALL,
    ]
    assert main(args) == 1
    out, err = capsys.readouterr()
    store = Store(tmp_path)
    statuses = {r.spec.method: (r.status.value, r.error) for r in store.records()}
    assert statuses["none"][0] == statuses["sentence"][0] == "ok"  # ran after the failures
    assert statuses["word"] == ("failed", "RuntimeError: boom")
    assert statuses["tmix"][0] == "oom"
    assert statuses["amplify"][0] == "diverged"
    assert "3 run(s) did not finish ok" in err and "rt-polarity/tmix/seed0: oom" in err

    # --retry-failed reruns exactly the three failed specs
    monkeypatch.setattr(attempts.harness, "run", fake_run_failing({}))
    assert main([*args, "--retry-failed"]) == 0
    out, _ = capsys.readouterr()
    assert "plan: 3 run(s) to do, 2 already done" in out
    assert {r.status.value for r in store.records()} == {"ok"}


def test_corrupt_record_is_reported_and_redone(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(attempts.harness, "run", fake_run_failing({}))
    args = [
        "--methods",
        "none",
        "--datasets",
        "rt-polarity",
        "--results-dir",
        str(tmp_path),
        *SMALL,
    ]
    assert main(args) == 0
    (path,) = Store(tmp_path).record_paths()
    path.write_text('{"schema_version": 2, "spec": ')  # half a record
    capsys.readouterr()
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert f"skipping record {path}: unreadable JSON" in err
    assert "plan: 1 run(s) to do" in out
    assert json.loads(path.read_text())["status"] == "ok"


def test_claims_keep_two_processes_off_the_same_spec(tmp_path):
    store = Store(tmp_path)
    args = build_parser().parse_args(
        ["--methods", "none", "--datasets", "rt-polarity", "--results-dir", str(tmp_path), *SMALL]
    )
    spec = make_plan(request_from_args(args), build_registry(), store).todo[0]
    assert store.claim(spec)
    assert not store.claim(spec)  # held by this (live) process
    store.release(spec)
    store.lock_path(spec).write_text(json.dumps({"pid": 2**22 + 12345, "host": os.uname()[1]}))
    assert store.claim(spec)  # a dead process's lock is taken over


def default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal's foreground. A shell starts background jobs
    (e.g. `pytest &`, or CI run in the background) with SIGINT ignored, a child inherits
    that, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args):
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_bench.py"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


def wait_for_records(results: Path, count: int, proc, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(Store(results).record_paths()) >= count:
            return
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended early: {proc.stderr.read()[-2000:]}")
        time.sleep(0.2)
    raise AssertionError("no record appeared in time")


SWEEP = ["--methods", "none", "sentence", "word", "--datasets", "rt-polarity", *SMALL]
SWEEP += ["--max-length", "16"]
N_SWEEP = 3


@pytest.mark.e2e
def test_kill_minus_9_then_resume_loses_and_duplicates_nothing(tmp_path):
    results = tmp_path / "results"
    proc = cli(*SWEEP, "--results-dir", str(results))
    wait_for_records(results, 1, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.read_text() for p in Store(results).record_paths()}
    assert finished and all(json.loads(t)["status"] == "ok" for t in finished.values())
    again = cli(*SWEEP, "--results-dir", str(results))
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-2000:]
    assert "already done" in out and f"{len(finished)} already done" in out
    paths = Store(results).record_paths()
    assert len(paths) == N_SWEEP == len({p.name for p in paths})
    for path in paths:
        assert json.loads(path.read_text())["status"] == "ok"
        if path.name in finished:  # finished runs kept as they were, not redone
            assert path.read_text() == finished[path.name]
    assert not list(results.rglob("*.lock"))


@pytest.mark.e2e
def test_ctrl_c_stops_cleanly_and_says_what_finished(tmp_path):
    results = tmp_path / "results"
    # every method on 3 datasets: the sweep cannot finish between the first record and SIGINT
    long_sweep = [*SWEEP, "--methods", "all", "--datasets", "rt-polarity", "amazon-cr", "r8"]
    proc = cli(*long_sweep, "--results-dir", str(results))
    wait_for_records(results, 1, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted:" in err and "rerun the same command to resume" in err
    for path in Store(results).record_paths():
        assert json.loads(path.read_text())["status"] == "ok"
    assert not list(results.rglob("*.lock"))


@pytest.mark.e2e
def test_two_sweeps_on_one_results_folder(tmp_path):
    results = tmp_path / "results"
    first = cli(*SWEEP, "--results-dir", str(results))
    second = cli(*SWEEP, "--results-dir", str(results))
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, err1[-1000:] + err2[-1000:]
    paths = Store(results).record_paths()
    assert len(paths) == N_SWEEP
    assert all(json.loads(p.read_text())["status"] == "ok" for p in paths)
    runs = out1.count(": ok (acc") + out2.count(": ok (acc")
    assert runs == N_SWEEP  # every spec trained exactly once across the two sweeps


# ---------------------------------------------------------------- property-based


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(
        st.one_of(st.sampled_from(["text", "label", "sentence", "x", ""]), CELL),
        min_size=0,
        max_size=3,
    ),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=3), max_size=5),
    raw=st.binary(max_size=40),
    use_raw=st.booleans(),
)
@example(header=["te\nxt", "label"], rows=[["a", "0"]], raw=b"", use_raw=False)
def test_local_loader_never_crashes_on_malformed_files(
    tmp_path_factory, header, rows, raw, use_raw
):
    folder = tmp_path_factory.mktemp("ds") / "toy"
    folder.mkdir()
    for split in ("train", "validation", "test"):
        if use_raw and split == "test":
            (folder / f"{split}.csv").write_bytes(raw)
            continue
        # csv quoting: a column name or a cell may hold a comma, a quote or a newline
        with open(folder / f"{split}.csv", "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
    try:
        data = load_folder(folder)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert data.num_labels >= 2 and len(data.train) >= 1


TOKEN = st.one_of(
    st.sampled_from(
        [
            "--seeds",
            "--methods",
            "--opt",
            "--profile",
            "--alpha",
            "--epochs",
            "all",
            "none",
            "tmix",
            "tmix.layers=7",
            "amplify.start_layer=x",
            "-1",
            "0",
            "quick",
            "1e9",
        ]
    ),
    st.text(max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(argv=st.lists(TOKEN, max_size=6))
def test_argument_parsing_gives_a_plan_or_a_user_error(argv):
    registry = build_registry()
    try:
        args = build_parser().parse_args([*argv, "--datasets", "rt-polarity"])
        if args.list or args.report:
            return
        make_plan(request_from_args(args), registry, Store(Path("/nonexistent-results")))
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)


def test_a_sweep_into_another_results_folder_leaves_reports_untouched(tmp_path, monkeypatch):
    skip_figure_rendering(monkeypatch)
    committed = ROOT / "reports" / "REPORT.md"
    before = committed.stat().st_mtime_ns if committed.exists() else None
    monkeypatch.setattr(attempts.harness, "run", fake_run_failing({}))
    args = ["--methods", "none", "--datasets", "rt-polarity", *SMALL]
    args.remove("--no-report")
    assert main([*args, "--results-dir", str(tmp_path / "scratch")]) == 0
    assert (tmp_path / "scratch" / "report" / "REPORT.md").is_file()
    after = committed.stat().st_mtime_ns if committed.exists() else None
    assert after == before
    assert (
        main(
            [
                "--report",
                "--results-dir",
                str(tmp_path / "scratch"),
                "--reports-dir",
                str(tmp_path / "elsewhere"),
            ]
        )
        == 0
    )
    assert (tmp_path / "elsewhere" / "REPORT.md").is_file()


def test_the_default_results_folder_reports_to_reports():
    args = build_parser().parse_args([])
    assert reports_dir(args) == Path("reports")
    assert reports_dir(build_parser().parse_args(["--results-dir", "x"])) == Path("x/report")
