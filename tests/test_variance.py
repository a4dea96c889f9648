"""The variance study: one source of randomness moved at a time; the dominant source is
named only where its F-intervals say so."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.core.config import PROFILES, RunSpec
from bench.core.studies import SOURCES, get_study
from tests.conftest import fake_record, fake_result

QUICK = PROFILES["quick"]


def variance_records(spread: dict[str, float]):
    """Seed-0 reference runs and the study's draws 1-4 of each source: word's difference to
    none moves by `spread[source]` points times a fixed pattern; none stays at 0.80."""
    pattern = np.array([0.0, 1.0, -1.0, 0.5, -0.5])
    records = []
    for dataset in ("r8", "rt-polarity", "20ng"):
        for method in ("none", "word"):
            spec = RunSpec(method, dataset, "minilm-l6", 0, QUICK, profile="quick")
            records.append(fake_record(spec, result=fake_result(accuracy=0.80)))
        for name, source in SOURCES.items():
            for value in (1, 2, 3, 4):
                settings = dataclasses.replace(QUICK, **{name: value})
                for method in ("none", "word"):
                    moved = spread[source] * pattern[value] / 100 if method == "word" else 0.0
                    spec = RunSpec(method, dataset, "minilm-l6", 0, settings, profile="quick")
                    spec = dataclasses.replace(spec, study="variance")
                    records.append(fake_record(spec, result=fake_result(accuracy=0.80 + moved)))
    return records


def analysed(records):
    from bench.report.analyse.analysis import records_frame
    from bench.report.analyse.variance import analyse_variance
    from bench.report.render.study_report import analyse_studies

    (study,) = [a for _, a in analyse_studies(records_frame(records)) if a.study == "variance"]
    return analyse_variance(study.ok)


def test_variance_study_plans_one_source_at_a_time():
    study = get_study("variance")
    assert study.runs == 144 and study.seeds == (0,)
    assert all(len(c) == 1 and next(iter(c)) in SOURCES for c in study.conditions)


def test_source_seeds_move_only_their_stream():
    """--dropout-seed 3 reseeds dropout alone; unset, every stream is the run seed's."""
    settings = dataclasses.replace(QUICK, dropout_seed=3)
    assert settings.stream_seed("dropout", 0) == 3
    assert settings.stream_seed("init", 0) == 0 and settings.stream_seed("data_order", 0) == 0
    assert QUICK.stream_seed("dropout", 5) == 5
    spec = RunSpec("none", "r8", "minilm-l6", 0, QUICK)
    assert "dropout_seed" not in spec.to_dict()["settings"]  # every earlier hash stays


def test_the_training_subsample_moves_with_the_data_seed_alone():
    from bench.run.datasets.base import stratified_sample, training_subsample_seed

    labels = np.repeat(np.arange(4), 50)
    fixed = stratified_sample(labels, 40, training_subsample_seed(0))
    assert np.array_equal(fixed, stratified_sample(labels, 40))  # 0: the fixed data seed
    other = stratified_sample(labels, 40, training_subsample_seed(2))
    assert not np.array_equal(fixed, other)
    assert np.array_equal(np.bincount(labels[other]), np.bincount(labels[fixed]))


def test_the_dominant_source_is_named_only_when_its_intervals_say_so(unrendered_figures):
    from bench.report.analyse.variance import variance_sentence

    loud = {"training subsample": 0.2, "head initialisation": 0.2, "data order": 0.2}
    analysis = analysed(variance_records({**loud, "dropout": 4.0}))
    assert analysis.dominant() == "dropout"
    top = analysis.per_source.iloc[0]
    assert top.source == "dropout" and top.pooled_sd_diff == pytest.approx(
        4.0 * np.std([0, 1, -1, 0.5, -0.5], ddof=1)
    )
    assert variance_sentence(analysis).startswith("the dropout moves a comparison")
    assert "3 of 3 differences to `none` change sign" in variance_sentence(analysis)
    even = analysed(variance_records({s: 1.0 for s in SOURCES.values()}))
    assert even.dominant() is None
    assert variance_sentence(even).startswith("no source's variance is shown to exceed")
