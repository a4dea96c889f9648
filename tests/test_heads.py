"""The head study: heads crossed with methods, its grid, what it borrows from the
published-protocol study, and the split of the published gain."""

from __future__ import annotations

import dataclasses

import pytest

from bench.core.config import PROFILES, RunSpec
from bench.core.studies import HEAD_LABELS, effective_pooling, get_study
from tests.conftest import fake_record, fake_result

QUICK = PROFILES["quick"]
# accuracy per (effective pooling, method): the baselines lose 4 points from the mean to
# the pooler and 1 to the plain mean; AMPLIFY is 0.5 above word at every head
ACCURACY = {
    "mean": {"none": 0.80, "word": 0.80, "sentence": 0.80, "amplify": 0.805},
    "cls": {"none": 0.79, "word": 0.79, "sentence": 0.79, "amplify": 0.795},
    "pooler": {"none": 0.76, "word": 0.76, "sentence": 0.76, "amplify": 0.765},
    "pooler-reinit": {"none": 0.78, "word": 0.78, "sentence": 0.78, "amplify": 0.785},
    "plain-mean": {"none": 0.79, "word": 0.79, "sentence": 0.79, "amplify": 0.795},
}


def settings_for(pooling: str, method: str):
    """The spec settings the study gives a (head, method) cell."""
    if pooling == "mean":
        return QUICK
    published = {"pooler": ("none", "word", "sentence"), "plain-mean": ("amplify",)}
    if method in published.get(pooling, ()):
        return dataclasses.replace(QUICK, head="published")
    return dataclasses.replace(QUICK, pooling=pooling)


def head_noise(pooling: str, seed: int) -> float:
    """A seed's draw under a head, shared by its methods (0, 0.05 or 0.1 points; mean 0
    over seeds 0-2 in every difference of two heads): no interval is degenerate."""
    return 0.0005 * ((seed + len(pooling)) % 3)


def planted(pooling: str, method: str, seed: int, dataset: str) -> float:
    """ACCURACY, AMPLIFY 0.1 points higher per seed, and the head's noise."""
    amplify = 0.001 * seed * (method == "amplify")
    return ACCURACY[pooling][method] + amplify + head_noise(pooling, seed)


def head_records(accuracy=planted, seeds=range(3), datasets=("r8", "rt-polarity")):
    """The reference's mean cell, the published-protocol study's authors'-head cells and the
    head study's own, with accuracy(pooling, method, seed, dataset)."""
    records = []
    for seed in seeds:
        for dataset in datasets:
            for pooling, accs in ACCURACY.items():
                for method in accs:
                    settings = settings_for(pooling, method)
                    spec = RunSpec(method, dataset, "minilm-l6", seed, settings, profile="quick")
                    if settings.head == "published":
                        spec = dataclasses.replace(spec, study="published-protocol")
                    elif pooling != "mean":
                        spec = dataclasses.replace(spec, study="heads")
                    value = accuracy(pooling, method, seed, dataset)
                    records.append(fake_record(spec, result=fake_result(accuracy=value)))
    return records


def test_the_studies_published_heads_are_the_methods_own():
    """core names each method's published head for the study labels; the methods declare
    them: the two lists agree, method for method."""
    from bench.api.registry import method_class, method_names
    from bench.core.studies import PUBLISHED_HEAD_OF

    declared = {n: method_class(n).published_head for n in method_names()}
    assert PUBLISHED_HEAD_OF == {n: h for n, h in declared.items() if h is not None}


def head_analysis(records):
    from bench.report.analyse.analysis import records_frame
    from bench.report.render.study_report import analyse_studies

    frame = records_frame(records)
    (study,) = [a for _, a in analyse_studies(frame) if a.study == "heads"]
    return study


def test_head_study_plans_its_grid_and_reuses_the_authors_head_specs():
    from bench.sweep.planning import study_requests

    study = get_study("heads")
    assert study.runs == 320 and study.seeds == (0, 1, 2, 3, 4)
    requests = study_requests(study)
    poolings = {
        (r.overrides.get("pooling", "mean"), r.overrides.get("head", "shared")): r.methods
        for r in requests
    }
    assert poolings["pooler-reinit", "shared"] == ("none", "word", "sentence", "amplify")
    assert poolings["mean", "published"] in (("none", "word", "sentence"), ("amplify",))
    # the authors' word head is the published-protocol study's spec: one record serves both
    spec = RunSpec("word", "r8", "minilm-l6", 0, dataclasses.replace(QUICK, head="published"))
    assert HEAD_LABELS[effective_pooling(spec)] == "[CLS] pooler as shipped"
    amplify = dataclasses.replace(spec, method="amplify")
    assert HEAD_LABELS[effective_pooling(amplify)] == "plain mean, padded"


def test_head_study_borrows_only_its_grid_from_the_published_protocol(unrendered_figures):
    """Seeds beyond its plan and the second-label-permutation cells are not its runs."""
    records = head_records()
    independent = dataclasses.replace(QUICK, label_partner="independent", head="published")
    beyond = dataclasses.replace(QUICK, head="published")
    for spec in (
        RunSpec("word", "r8", "minilm-l6", 0, independent, profile="quick"),
        RunSpec("word", "r8", "minilm-l6", 6, beyond, profile="quick"),
    ):
        spec = dataclasses.replace(spec, study="published-protocol")
        records.append(fake_record(spec, result=fake_result(accuracy=0.1)))
    study = head_analysis(records)
    assert not (study.ok.accuracy == 0.1).any()
    assert set(study.ok.condition) == {*HEAD_LABELS.values()}


def test_the_published_gain_splits_into_its_head_part_and_its_method_part(unrendered_figures):
    from bench.report.analyse.heads import GAIN, HEAD_PART, METHOD_PART, analyse_heads

    study = head_analysis(head_records())
    analysis = analyse_heads(study.ok)
    split = {(e.regime, e.against): e for e in analysis.split}
    gain, head, method = (split[part, "word"] for part in (GAIN, HEAD_PART, METHOD_PART))
    # AMPLIFY (plain mean) - word (pooler) = 3.5 points (+ the jitter's mean, 0.1)
    assert gain.mean == pytest.approx(3.6)
    assert head.mean == pytest.approx(3.0)  # word from the pooler to the plain mean
    assert method.mean == pytest.approx(0.6)  # AMPLIFY - word at AMPLIFY's head
    assert gain.mean == pytest.approx(head.mean + method.mean)
    like = {(e.regime, e.against): e.mean for e in analysis.like_with_like}
    assert like["[CLS] pooler as shipped", "word"] == pytest.approx(0.0)  # the authors' none
    shift = {(e.regime, e.against): e.mean for e in analysis.head_effects}
    assert shift["[CLS] pooler as shipped", "none"] == pytest.approx(-4.0)
    assert analysis.seeds == 3


def test_the_head_verdict_reads_the_intervals(unrendered_figures):
    """The sentence names the head alone when AMPLIFY equals each baseline at every head
    (noise across 0) while the baselines lose 3 points from the plain mean to the pooler,
    and both when AMPLIFY is also 2 points ahead at every head."""
    from bench.report.analyse.heads import analyse_heads, carried_by_head

    def equal_at_each_head(pooling: str, method: str, seed: int, dataset: str) -> float:
        noise = 0.002 * (seed - 1) * (method == "amplify")
        same = ACCURACY[pooling]["word" if method == "amplify" else method]
        return same + noise + head_noise(pooling, seed)

    study = head_analysis(head_records(equal_at_each_head))
    text = carried_by_head(analyse_heads(study.ok))
    assert text.startswith("the head carries the published gain, not AMPLIFY's mixing")

    def two_points_ahead(pooling: str, method: str, seed: int, dataset: str) -> float:
        ahead = (0.02 + 0.0005 * seed) * (method == "amplify")
        same = ACCURACY[pooling]["word" if method == "amplify" else method]
        return same + ahead + head_noise(pooling, seed)

    text = carried_by_head(analyse_heads(head_analysis(head_records(two_points_ahead)).ok))
    assert text.startswith("both the head and AMPLIFY's mixing move the published gain")


def test_claim_p_restated_at_the_same_head_reads_the_splits_method_part(unrendered_figures):
    """P2: AMPLIFY against each baseline at AMPLIFY's head, the split's own intervals
    (corrected over the split table), judged per baseline."""
    from bench.report.analyse.heads import METHOD_PART, analyse_heads, same_head_claim

    analysis = analyse_heads(head_analysis(head_records()).ok)
    claim = same_head_claim(analysis)
    method_part = {e.against: e for e in analysis.split if e.regime == METHOD_PART}
    assert {e.against for e in claim.effects} == set(method_part)
    for e in claim.effects:
        assert (e.low, e.high) == (method_part[e.against].low, method_part[e.against].high)
    assert claim.family_size == len(analysis.split)
    assert set(claim.per_method()) == set(method_part)
