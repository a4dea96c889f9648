"""Run records: round trip, atomic writes, unreadable records, resume."""

from __future__ import annotations

import json

import numpy as np

from bench.cli import build_parser, make_plan
from bench.config import PROFILES, RunSpec
from bench.datasets.registry import build_registry
from bench.store import (
    SCHEMA_VERSION,
    Store,
    decode_ints,
    make_record,
    now,
    read_record,
    records_frame,
)


def fake_result():
    return {
        "metrics": {
            "test": {"accuracy": 0.75, "macro_f1": 0.7, "nll": 0.5, "ece": 0.1},
            "validation": {"accuracy": 0.8},
            "best_epoch": 1,
            "curves": [],
        },
        "predictions": np.array([0, 1, 1, 0]),
        "test_labels": np.array([0, 1, 0, 0]),
        "confidences": np.array([0.9, 0.8, 0.6, 0.7]),
        "cost": {
            "train_seconds": 1.0,
            "median_step_seconds": 0.1,
            "steps": 10,
            "examples_per_second": 40.0,
            "peak_memory_mb": 100.0,
            "peak_memory_kind": "cpu_rss",
        },
        "mixing": {"mean_one_minus_lambda": 0.0},
        "data": {},
        "model": {},
        "device": {"name": "cpu"},
    }


def spec(seed=0, method="none"):
    return RunSpec(method, "rt-polarity", "minilm-l6", seed, PROFILES["smoke"])


def test_record_round_trip(tmp_path):
    store = Store(tmp_path)
    record = make_record(spec(), "ok", fake_result(), now(), profile="smoke")
    path = store.write(spec(), record)
    back = read_record(path)
    assert back == json.loads(json.dumps(record))
    assert back["schema_version"] == SCHEMA_VERSION
    assert RunSpec.from_dict(back["spec"]) == spec()
    assert decode_ints(back["predictions"]["test_pred"]).tolist() == [0, 1, 1, 0]
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]
    frame = records_frame(list(store.records()))
    assert frame.accuracy.tolist() == [0.75] and frame.status.tolist() == ["ok"]


def test_unreadable_and_unknown_schema_records_are_skipped(tmp_path, capsys):
    store = Store(tmp_path)
    store.write(spec(0), make_record(spec(0), "ok", fake_result(), now()))
    bad = store.path_for(spec(1))
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("{not json")
    future = store.path_for(spec(2))
    future.write_text(json.dumps({"schema_version": 999}))
    records = list(store.records())
    assert len(records) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and str(future) in err and "999" in err
    assert not store.exists(spec(1))


def plan_for(tmp_path, *extra):
    args = build_parser().parse_args(
        [
            "--methods",
            "none",
            "word",
            "--datasets",
            "rt-polarity",
            "--profile",
            "smoke",
            "--seeds",
            "0",
            "1",
            "--results-dir",
            str(tmp_path),
            *extra,
        ]
    )
    return make_plan(args, build_registry(), Store(tmp_path))


def test_resume_skips_finished_specs_and_force_reruns(tmp_path):
    plan = plan_for(tmp_path)
    assert len(plan.todo) == 4 and not plan.done
    store = Store(tmp_path)
    finished = plan.todo[0]
    store.write(finished, make_record(finished, "ok", fake_result(), now()))
    failed = plan.todo[1]
    store.write(failed, make_record(failed, "failed", None, now(), error="boom"))
    again = plan_for(tmp_path)
    assert again.done == [finished] and len(again.todo) == 3  # a failed run is redone
    assert len(plan_for(tmp_path, "--force").todo) == 4


def test_method_options_are_part_of_the_spec(tmp_path):
    default = plan_for(tmp_path).todo
    changed = plan_for(tmp_path, "--alpha", "0.4").todo
    before = {(s.method, s.seed): s.hash for s in default}
    for s in changed:  # --alpha changes the mixing methods' specs only
        assert (s.hash == before[s.method, s.seed]) == (s.method == "none")
