"""The tuned study (bench.tune): seeded i.i.d. trials from each method's declared search
space, resume, selection on validation only, and the expected-maximum estimator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.api.registry import create_method, method_class, method_names
from bench.api.search_space import LEARNING_RATE, Choice, IntRange, LogUniform, Uniform
from bench.core.config import PROFILES, RunSpec
from bench.core.store import Store
from bench.core.studies import TRIAL_SEED_BASE, get_study
from bench.report.analyse.expected_max import budget_to_reach, curve, expected_max
from bench.run.datasets.registry import build_registry
from bench.tune.planning import cells, tuned_plan, winner
from bench.tune.sampling import draw_trials, sampler_seed
from tests.conftest import fake_record, fake_result

SPACE = {"alpha": LogUniform(0.05, 2.0), "draws": Choice((1, 5)), "start_layer": IntRange(1, 6)}


def test_the_sampler_draws_the_same_trials_from_the_same_seed_and_others_from_another():
    first = draw_trials(SPACE, 8, seed=7)
    assert first == draw_trials(SPACE, 8, seed=7)
    assert first != draw_trials(SPACE, 8, seed=8)
    assert len({t["lr"] for t in first}) == 8  # i.i.d. draws, not one value repeated
    for t in first:
        assert LEARNING_RATE.low <= t["lr"] <= LEARNING_RATE.high
        assert 0.05 <= t["alpha"] <= 2.0 and t["draws"] in (1, 5) and 1 <= t["start_layer"] <= 6
    assert sampler_seed("amplify", "r52") == sampler_seed("amplify", "r52")
    assert sampler_seed("amplify", "r52") != sampler_seed("word", "r52")


@pytest.mark.parametrize("name", method_names())
def test_every_declared_search_space_draws_options_the_method_accepts(name):
    """A method's space names its own options: every draw builds the method."""
    space = method_class(name).search_space
    for trial in draw_trials(space, 4, seed=1):
        options = {k: v for k, v in trial.items() if k != "lr"}
        method = create_method(name, options)
        for key, value in options.items():
            assert getattr(method.options, key) == value


def test_a_space_refuses_empty_or_reversed_ranges():
    from bench.core.errors import UserError

    for bad in (lambda: LogUniform(0, 1), lambda: Uniform(1, 0), lambda: IntRange(3, 2)):
        with pytest.raises(UserError):
            bad()


def test_expected_max_matches_a_hand_computed_case():
    """Values 1, 2, 3: one trial expects 2 (sd sqrt(2/3)); the max of two draws is 1, 2
    or 3 with probability 1/9, 3/9, 5/9 (22/9); of three, 1/27, 7/27, 19/27 (72/27)."""
    assert expected_max([3, 1, 2], 1) == pytest.approx((2.0, np.sqrt(2 / 3)))
    assert expected_max([1, 2, 3], 2)[0] == pytest.approx(22 / 9)
    mean, sd = expected_max([1, 2, 3], 3)
    assert mean == pytest.approx(72 / 27)
    assert sd == pytest.approx(np.sqrt((1 + 4 * 7 + 9 * 19) / 27 - (72 / 27) ** 2))
    assert [n for n, _, _ in curve([1, 2, 3])] == [1, 2, 3]
    assert budget_to_reach([1, 2, 3], 22 / 9) == 2
    assert budget_to_reach([1, 2, 3], 3.5) is None


def small_study():
    return dataclasses.replace(
        get_study("tuned"), methods=("none", "amplify"), datasets=("rt-polarity",), trials=3
    )


def trial_specs(plan):
    return [s for s in plan.todo + plan.done if s.seed >= TRIAL_SEED_BASE]


def with_accuracies(spec, validation: float, test: float):
    result = fake_result(accuracy=test)
    metrics = result.metrics
    metrics = dataclasses.replace(
        metrics, validation=dataclasses.replace(metrics.validation, accuracy=validation)
    )
    return fake_record(spec, result=dataclasses.replace(result, metrics=metrics))


def write_reference(store: Store) -> None:
    """The main reference block the first screen reads."""
    for seed in range(3):
        for method in ("none", "amplify"):
            spec = RunSpec(method, "rt-polarity", "minilm-l6", seed, PROFILES["quick"])
            store.write(with_accuracies(spec, 0.7, 0.7 + 0.01 * seed * (method == "amplify")))


def test_selection_reads_validation_only_never_test(tmp_path):
    """The trial with the best validation accuracy wins even where its test accuracy is
    the worst; a cell with a trial still to run has no winner yet."""
    store = Store(tmp_path)
    study = small_study()
    plan = tuned_plan(study, build_registry(None), store)
    none = [s for s in trial_specs(plan) if s.method == "none"]
    assert winner(store, none) is None
    for spec, (val, test) in zip(none, ((0.6, 0.9), (0.8, 0.1), (0.7, 0.95)), strict=True):
        store.write(with_accuracies(spec, val, test))
    assert winner(store, none) == 1


def test_a_killed_study_resumes_and_trains_the_winner_at_the_study_seeds(tmp_path):
    store = Store(tmp_path)
    study = small_study()
    registry = build_registry(None)
    first = tuned_plan(study, registry, store)
    assert len(first.todo) == 2 * 3 and not first.done  # trials only: no winner yet
    assert [s.seed for s in first.todo] == sorted(s.seed for s in first.todo)  # trial-major
    again = tuned_plan(study, registry, store)
    assert [s.hash for s in again.todo] == [s.hash for s in first.todo]  # the same draws
    config = cells(study)
    for spec in first.todo[:2]:  # killed after trial 0 of both methods
        store.write(with_accuracies(spec, 0.5, 0.5))
    resumed = tuned_plan(study, registry, store)
    assert {s.hash for s in resumed.done} == {s.hash for s in first.todo[:2]}
    assert len(resumed.todo) == 4
    for k, spec in enumerate(s for s in first.todo[2:] if s.method == "none"):
        store.write(with_accuracies(spec, 0.6 + 0.1 * k, 0.5))
    finals = [s for s in tuned_plan(study, registry, store).todo if s.seed < TRIAL_SEED_BASE]
    assert {s.seed for s in finals} == set(study.seeds) and {s.method for s in finals} == {"none"}
    none_cell = next(c for c in config if c.method == "none")
    assert all(s.settings.lr == none_cell.configs[2]["lr"] for s in finals)  # trial 2 won
    assert all(s.settings.epochs == 10 and s.settings.selection == "best-val" for s in finals)


def test_the_report_has_a_tuned_section_with_curves_budgets_and_tested_winners(
    tmp_path, unrendered_figures
):
    from bench.report.render.report import write_report
    from tests.conftest import report_text

    store = Store(tmp_path / "results")
    study = small_study()
    registry = build_registry(None)
    for spec in tuned_plan(study, registry, store).todo:  # the trials
        bump = 0.05 * (spec.method == "amplify") + 0.01 * (spec.seed - TRIAL_SEED_BASE)
        store.write(with_accuracies(spec, 0.6 + bump, 0.7))
    finals = tuned_plan(study, registry, store).todo
    assert len(finals) == 2 * len(study.seeds)
    for spec in finals:
        store.write(
            with_accuracies(
                spec,
                0.7,
                0.70
                + 0.01 * (spec.seed % 3)
                + (0.02 + 0.004 * (spec.seed % 2)) * (spec.method == "amplify"),
            )
        )
    write_reference(store)
    text = report_text(write_report(store, tmp_path / "out"))
    section = text.split("## Every method at its best: the tuned study")[1].split("\n## ")[0]
    rows = {
        line.split("|")[2].strip(): line
        for line in section.splitlines()
        if line.startswith("| rt-polarity")
    }
    assert "3 of 12" in rows["amplify"] and "lr, alpha" in rows["amplify"]
    assert "lr only (no declared search space)" in rows["none"]
    assert "tuned_expected_max.png" in section
    assert "amplify - none, points" not in section  # effects are named by method
    row = next(line for line in section.splitlines() if line.startswith("| amplify - none "))
    at_defaults, tuned = (cell.strip() for cell in row.split("|")[2:4])
    assert at_defaults.startswith("+1.00 [") and at_defaults.endswith("(3 seeds)")
    assert tuned.startswith("+2.16 [") and tuned.endswith("(5 seeds)")
    assert "- **Every method at its best** (the tuned study): above tuned `none`: amplify" in text


def test_a_report_of_trials_alone_says_no_winner_is_tested_yet(tmp_path, unrendered_figures):
    """A study killed before any winner is retrained still renders its trials table, each
    row under its own header."""
    from bench.report.render.report import write_report
    from tests.conftest import report_text

    store = Store(tmp_path / "results")
    for spec in tuned_plan(small_study(), build_registry(None), store).todo:  # trials only
        store.write(with_accuracies(spec, 0.6 + 0.01 * (spec.seed - TRIAL_SEED_BASE), 0.7))
    write_reference(store)
    text = report_text(write_report(store, tmp_path / "out"))
    section = text.split("## Every method at its best: the tuned study")[1].split("\n## ")[0]
    assert "trials so far: 6; no winner retrained at the test seeds yet." in section
    trials_table = section.split("\n\n|")[1].split("\n\n")[0]
    header, _, *rows = ("|" + trials_table).splitlines()
    assert header.split("|")[1].strip() == "dataset" and "searched" in header
    assert len(rows) == 2 and all(row.count("|") == header.count("|") for row in rows)


def test_convergence_reads_the_best_epoch_the_late_gain_and_nones_loss():
    """Hand-made curves: the best epoch's median, the last 3 epochs' gain over the earlier
    best, and `none`'s last-epoch loss only (the mixup trial's is left out)."""
    import pandas as pd

    from bench.core.records import EpochPoint
    from bench.report.analyse.tuned import convergence

    def run(method: str, val: list[float], last_loss: float):
        points = [EpochPoint(k + 1, 1.0, v, 0.5) for k, v in enumerate(val)]
        points[-1] = EpochPoint(len(val), last_loss, val[-1], 0.5)
        spec = RunSpec(method, "r8", "minilm-l6", TRIAL_SEED_BASE, PROFILES["quick"])
        record = fake_record(spec)
        result = dataclasses.replace(
            record.result,
            metrics=dataclasses.replace(record.result.metrics, curves=tuple(points)),
        )
        return {
            "dataset": "r8",
            "method": method,
            "record": dataclasses.replace(record, result=result),
        }

    trials = pd.DataFrame(
        [
            run("none", [0.5, 0.6, 0.7, 0.7, 0.72, 0.71], 0.2),  # best at 5, late gain +2
            run("word", [0.5, 0.8, 0.7, 0.7, 0.7, 0.7], 0.9),  # best at 2, late gain -10
        ]
    )
    (row,) = convergence(trials).itertuples()
    assert (row.epochs, row.best_epoch) == (6, 3.5)
    assert row.late_gain == pytest.approx(-4.0) and row.none_loss == pytest.approx(0.2)


def test_the_winners_phase_starts_a_fresh_executor_after_the_trials_closed_theirs(
    tmp_path, monkeypatch
):
    """The local pool and Ray close their workers when a run ends (`Executor.run`): the
    winners' phase of `--study tuned` must not submit to the trials' closed executor."""
    from bench.cli import cli
    from bench.core.records import RunStatus
    from bench.sweep.executors import Executor, Outcome

    made: list[Executor] = []

    class OneUse(Executor):
        closed = False

        def run(self, specs, store, on_done, on_skip=lambda spec: None, force=False):
            assert not self.closed, "a closed executor was given more runs"
            for spec in specs:
                record = with_accuracies(spec, 0.5 + 0.001 * spec.seed, 0.5)
                store.write(record)
                on_done(Outcome(spec, RunStatus.OK, record))
            self.closed = True

    def make(args, runtime):
        made.append(OneUse())
        return made[-1]

    monkeypatch.setattr(cli, "make_executor", make)
    monkeypatch.setattr(cli, "check_before_training", lambda *args: None)
    argv = ["--study", "tuned", "--results-dir", str(tmp_path), "--no-report", "--no-progress"]
    assert cli.main(argv) == 0
    study = get_study("tuned")
    runs = list(tmp_path.rglob("*.json"))
    assert len(made) == 2  # the trials', then the winners'
    assert len(runs) == len(cells(study)) * (study.trials + len(study.seeds))
