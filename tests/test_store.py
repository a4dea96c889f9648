"""Run records: round trip, atomic writes, unreadable records, old schemas, resume."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np

from bench.api.registry import create_method
from bench.core.config import PROFILES, RunSpec
from bench.core.records import SCHEMA_VERSION, RunRecord, RunStatus
from bench.core.store import Store, read_record
from bench.report.analyse.analysis import profile_name
from bench.run.datasets.registry import build_registry
from bench.sweep.planning import SweepRequest, make_plan
from tests.conftest import fake_record

FIXTURES = Path(__file__).parent / "fixtures"


def spec(seed=0, method="none"):
    return RunSpec(method, "rt-polarity", "minilm-l6", seed, PROFILES["smoke"])


def test_record_round_trip(tmp_path):
    store = Store(tmp_path)
    record = fake_record(spec())
    path = store.write(record)
    assert path == store.path_for(spec())
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == SCHEMA_VERSION and raw["spec_hash"] == spec().hash
    back = read_record(path)
    assert back is not None and back.to_json() == record.to_json()
    assert back.spec == spec() and back.status is RunStatus.OK
    assert back.result.predictions.pred.tolist() == [0, 1, 1, 0]
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]


def test_the_profile_a_run_started_from_is_recorded_outside_its_identity(tmp_path):
    settings = dataclasses.replace(PROFILES["quick"], selection="best-val")
    named = RunSpec("none", "rt-polarity", "minilm-l6", 0, settings, profile="quick")
    unnamed = dataclasses.replace(named, profile=None)
    assert named.hash == unnamed.hash and named == unnamed
    back = read_record(Store(tmp_path).write(fake_record(named)))
    assert back is not None and back.spec.profile == "quick"
    assert profile_name(back) == "quick, selection=best-val"
    assert profile_name(fake_record(unnamed)) == "custom"  # an older record: no name
    assert profile_name(fake_record(spec())) == "smoke"


def test_a_failed_run_has_no_result_and_keeps_its_error(tmp_path):
    store = Store(tmp_path)
    path = store.write(fake_record(spec(), "failed", error="boom"))
    back = read_record(path)
    assert back.status is RunStatus.FAILED and back.result is None and back.error == "boom"
    assert not back.ok


def test_schema_1_records_are_converted():
    old = json.loads((FIXTURES / "schema1_record.json").read_text())
    assert old["schema_version"] == 1 and "metrics" in old
    record = RunRecord.from_json(old)
    assert record.ok and record.method_label == old["spec"]["method"]
    assert record.spec.version == 1 and record.spec_hash == old["spec_hash"]
    assert record.result.metrics.test.accuracy == old["metrics"]["test"]["accuracy"]
    assert record.result.mixing.share_mixing_steps is None  # not measured then
    again = RunRecord.from_json(record.to_json())  # rewritten as the current schema
    assert again.to_json() == record.to_json() and again.spec_hash == old["spec_hash"]


def test_the_committed_style_results_folder_still_loads(tmp_path):
    runs = tmp_path / "runs" / "r8" / "amplify"
    runs.mkdir(parents=True)
    shutil.copy(FIXTURES / "schema1_record.json", runs / "seed0-old.json")
    records, skipped = Store(tmp_path).scan()
    assert len(records) == 1 and not skipped


def test_unreadable_and_unknown_schema_records_are_skipped(tmp_path, capsys):
    store = Store(tmp_path)
    store.write(fake_record(spec(0)))
    bad = store.path_for(spec(1))
    bad.write_text("{not json")
    future = store.path_for(spec(2))
    future.write_text(json.dumps({"schema_version": 999}))
    malformed = store.path_for(spec(3))
    malformed.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "spec": {}}))
    records = list(store.records())
    assert len(records) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and str(future) in err and "999" in err and str(malformed) in err
    assert not store.finished(spec(1))
    _, skipped = store.scan()
    assert len(skipped) == 3


def plan_for(tmp_path, **changes):
    request = SweepRequest(
        methods=("none", "word"),
        datasets=("rt-polarity",),
        profile="smoke",
        seeds=(0, 1),
        **changes,
    )
    return make_plan(request, build_registry(), Store(tmp_path))


def test_resume_skips_finished_specs_and_force_reruns(tmp_path):
    plan = plan_for(tmp_path)
    assert len(plan.todo) == 4 and not plan.done
    store = Store(tmp_path)
    finished, failed = plan.todo[0], plan.todo[1]
    store.write(fake_record(finished))
    store.write(fake_record(failed, "failed", error="boom"))
    again = plan_for(tmp_path)
    assert again.done == [finished] and len(again.todo) == 3  # a failed run is redone
    assert len(plan_for(tmp_path, force=True).todo) == 4
    assert plan_for(tmp_path, retry_failed=True).todo == [failed]


def test_method_options_are_part_of_the_spec(tmp_path):
    default = plan_for(tmp_path).todo
    changed = plan_for(tmp_path, alpha=0.4).todo
    before = {(s.method, s.seed): s.hash for s in default}
    for s in changed:  # --alpha changes the mixing methods' specs only
        assert (s.hash == before[s.method, s.seed]) == (s.method == "none")
    assert np.unique([s.hash for s in changed]).size == 4


def test_matched_lambda_mode_gives_every_mixing_method_the_same_lambda_rule(tmp_path):
    plan = make_plan(
        SweepRequest(
            methods=("none", "word", "tmix", "amplify"),
            datasets=("rt-polarity",),
            profile="smoke",
            lambda_mode="matched",
        ),
        build_registry(),
        Store(tmp_path),
    )
    options = {s.method: dict(s.method_options) for s in plan.todo}
    assert options["none"] == {}
    for method in ("word", "tmix", "amplify"):
        assert (options[method]["alpha"], options[method]["draws"]) == (0.2, 1)
        assert options[method]["max_trick"] is True
    assert options["tmix"]["layers"] == (7, 9, 12)  # where it mixes is unchanged
    draws = {
        m: create_method(m, options[m]).sample_lambda(np.random.default_rng(3))
        for m in ("word", "tmix", "amplify")
    }
    assert len(set(draws.values())) == 1  # same rule, same stream: the same lambda
    default = plan_for(tmp_path).todo
    assert {dict(s.method_options).get("alpha") for s in default if s.method == "word"} == {0.2}
    amplify_default = create_method("amplify").options
    assert (amplify_default.alpha, amplify_default.draws) == (0.1, 5)  # differs by default
