"""Report generation from a fixture results folder: check the numbers, not just files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.core.config import PROFILES, RunSpec
from bench.core.store import Store
from bench.report.render.report import write_report
from tests.conftest import fake_record, fake_result, report_text

N_TEST = 20


def result(accuracy: float, seconds: float):
    n_correct = int(round(accuracy * N_TEST))
    labels = np.array([0] * 14 + [1] * 6)  # majority class: 70%
    preds = np.where(np.arange(N_TEST) < n_correct, labels, 1 - labels)
    return fake_result(preds, labels, accuracy=accuracy, train_seconds=seconds)


# dataset -> method -> accuracies for seeds 0, 1, 2
ACC = {
    "ds-a": {"none": [0.60, 0.70, 0.65], "word": [0.80, 0.85, 0.90]},
    "ds-b": {"none": [0.90, 0.90, 0.85], "word": [0.85, 0.80, 0.85]},
}


def spec(method, dataset, seed):
    return RunSpec(method, dataset, "minilm-l6", seed, PROFILES["smoke"])


def write_acc_records(store: Store) -> Store:
    """One record per (dataset, method, seed) of ACC; `none` a step faster than the rest."""
    for dataset, by_method in ACC.items():
        for method, accs in by_method.items():
            for seed, acc in enumerate(accs):
                seconds = 10.0 if method == "none" else 12.0
                store.write(fake_record(spec(method, dataset, seed), result=result(acc, seconds)))
    return store


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Store:
    store = write_acc_records(Store(tmp_path_factory.mktemp("report") / "results"))
    store.write(fake_record(spec("word", "ds-a", 7), "diverged", error="loss became nan"))
    old = store.root / "runs" / "ds-a" / "none" / "seed9-old.json"
    old.write_text(json.dumps({"schema_version": 0, "spec": {}}))
    return store


@pytest.fixture(scope="module")
def report(results, tmp_path_factory) -> Path:
    """The report of `results`, figures rendered, written once for the tests that read it."""
    return write_report(results, tmp_path_factory.mktemp("reports"))


def test_report_tables_have_the_expected_values(report):
    out, path = report.parent, report
    acc = pd.read_csv(out / "accuracy.csv").set_index(["dataset", "method"])
    assert acc.loc[("ds-a", "word"), "mean"] == pytest.approx(85.0)
    assert acc.loc[("ds-a", "word"), "std"] == pytest.approx(5.0)
    assert acc.loc[("ds-a", "word"), "n"] == 3  # the diverged seed 7 is not averaged

    diff = pd.read_csv(out / "difference_to_none.csv").set_index(["dataset", "method"])
    assert diff.loc[("ds-a", "word"), "diff"] == pytest.approx(20.0)
    assert diff.loc[("ds-b", "word"), "diff"] == pytest.approx(-5.0)
    p_a = stats.ttest_rel([80, 85, 90], [60, 70, 65]).pvalue
    p_b = stats.ttest_rel([85, 80, 85], [90, 90, 85]).pvalue
    assert diff.loc[("ds-a", "word"), "p"] == pytest.approx(p_a)
    # Holm over the two tests: the smaller p times 2, the larger max(itself, that)
    assert diff.loc[("ds-a", "word"), "p_holm"] == pytest.approx(min(1, 2 * min(p_a, p_b)))
    assert diff.loc[("ds-b", "word"), "p_holm"] == pytest.approx(max(p_a, p_b, 2 * min(p_a, p_b)))

    power = pd.read_csv(out / "power.csv")
    assert list(power.columns)[:5] == ["dataset", "method", "seeds", "sd_diff", "mde"]
    assert power.set_index("dataset").loc["ds-a", "sd_diff"] == pytest.approx(
        np.std([20, 15, 25], ddof=1)
    )

    base = pd.read_csv(out / "baselines.csv").set_index("dataset")
    assert base.loc["ds-a", "majority"] == pytest.approx(70.0)
    # 20 test examples: none at 60-70% and word at 80% and 85% (16, 17 correct) are not
    # significantly above the 70% majority class (binomial p 0.24, 0.11); word at 90% is
    assert base.loc["ds-a", "degenerate_runs"] == 5

    agg = pd.read_csv(out / "aggregate.csv").set_index("method")
    assert agg.loc["word", "mean"] == pytest.approx((20.0 - 5.0) / 2)
    # the one interval procedure: a t-interval over seeds of the dataset-averaged
    # difference (ds-a: +20, +15, +25; ds-b: -5, -10, 0), Bonferroni over the methods
    per_seed = [7.5, 2.5, 12.5]
    low, _ = stats.t.interval(0.95, 2, loc=np.mean(per_seed), scale=stats.sem(per_seed))
    assert agg.loc["word", "low"] == pytest.approx(low)
    m = agg.loc["word", "compared"]
    c_low, _ = stats.t.interval(1 - 0.05 / m, 2, loc=np.mean(per_seed), scale=stats.sem(per_seed))
    assert agg.loc["word", "corrected_low"] == pytest.approx(c_low)

    cost = pd.read_csv(out / "cost.csv").set_index("method")
    assert cost.loc["word", "train_time_x"] == pytest.approx(1.2)
    # 12 s of training over 10 steps whose median is 0.1 s: the total is 12x the median's
    assert cost.loc["word", "step_skew"] == pytest.approx(12.0)

    text = report_text(path)
    assert "**85.00 ± 5.00 (3)**" in text  # best on ds-a in bold
    assert "diverged" in text and "loss became nan" in text
    assert "seed9-old.json" in text and "unknown schema version 0" in text
    assert "Holm" in text and "What the data support" in text
    assert "memory.png" not in text  # process RSS, the same for every method: not drawn
    for stem in ("accuracy", "difference", "gain_vs_cost", "calibration", "curves"):
        assert (out / f"{stem}.png").stat().st_size > 1000
        assert (out / f"{stem}.svg").is_file()
        assert f"({stem}.png)" in text
    assert "\\toprule" in (out / "accuracy.tex").read_text()


def test_contents_links_every_section_by_the_anchor_github_gives_it(report):
    lines = report.read_text().splitlines()
    sections = [line for line in lines if line.startswith("## ")]
    line = next(line for line in lines if line.startswith("**Contents**: "))
    assert line.count("](#") == len(sections) > 2
    assert "[The seed paper's claims, tested](#the-seed-papers-claims-tested)" in line
    assert lines.index(line) < lines.index(sections[0])  # before the first section
    # the blocks live in APPENDIX.md, linked from REPORT.md's last section by their anchors
    appendix = (report.parent / "APPENDIX.md").read_text().splitlines()
    own = next(line for line in appendix if line.startswith("**Contents**: "))
    assert "[Model minilm-l6, profile smoke](#model-minilm-l6-profile-smoke)" in own
    linked = "(APPENDIX.md#model-minilm-l6-profile-smoke)"
    assert linked in next(line for line in lines if "**Contents**: " in line and linked in line)
    assert "## Model" not in report.read_text()  # REPORT.md: the answers only


def test_the_summary_claims_only_what_the_tests_carry(report):
    text = report_text(report)
    summary = text.split("### What the data support")[1].split("###")[0]
    # ds-a: +20 points, Holm p 0.04: claimed; ds-b: -5 points, Holm p > 0.05: not claimed
    assert "`word` is above `none` on ds-a" in summary
    assert "on ds-b" not in summary
    # two datasets: no rank test, so no ranking claim (the phrase the code writes when
    # Friedman rejects is checked in the ranks test below)
    assert "Separated by more than the critical difference" not in summary
    diff = pd.read_csv(report.parent / "difference_to_none.csv").set_index("dataset")
    assert diff.significant.to_dict() == {"ds-a": True, "ds-b": False}


def test_no_claim_when_nothing_survives_correction(tmp_path, unrendered_figures):
    store = Store(tmp_path / "results")
    for seed, (a, b) in enumerate([(0.70, 0.72), (0.71, 0.69), (0.70, 0.70)]):
        store.write(fake_record(spec("none", "ds-a", seed), result=result(a, 10.0)))
        store.write(fake_record(spec("word", "ds-a", seed), result=result(b, 10.0)))
    text = report_text(write_report(store, tmp_path / "r"))
    summary = text.split("### What the data support")[1].split("###")[0]
    assert "No method differs from `none` on any dataset after Holm correction" in summary
    assert "is above" not in summary and "is below" not in summary


def test_a_clear_winner_is_reported_with_its_interval(tmp_path, unrendered_figures):
    store = Store(tmp_path / "results")
    correct = {"none": [12, 13, 12, 11, 12, 13], "word": [16, 17, 17, 15, 16, 18]}  # of 20
    for method, counts in correct.items():
        for seed, n in enumerate(counts):
            store.write(fake_record(spec(method, "ds-a", seed), result=result(n / 20, 10.0)))
    text = report_text(write_report(store, tmp_path / "r"))
    summary = text.split("### What the data support")[1].split("###")[0]
    diffs = 100 * (np.array(correct["word"]) - np.array(correct["none"])) / 20
    low, high = stats.t.interval(0.95, 5, loc=diffs.mean(), scale=stats.sem(diffs))
    p = stats.ttest_rel(correct["word"], correct["none"]).pvalue  # one test: Holm p = p
    assert p < 0.001
    assert (
        f"`word` is above `none` on ds-a: {diffs.mean():+.2f} points "
        f"(95% CI [{low:+.2f}, {high:+.2f}], Holm p = <0.001)" in summary
    )


def test_report_is_reproducible(results, report, tmp_path, unrendered_figures):
    write_report(results, tmp_path / "again")
    for name in (
        "REPORT.md",
        "APPENDIX.md",
        "accuracy.csv",
        "difference_to_none.csv",
        "aggregate.csv",
    ):
        assert (tmp_path / "again" / name).read_text() == (report.parent / name).read_text()


def test_report_of_empty_results(tmp_path):
    path = write_report(Store(tmp_path / "none"), tmp_path / "out")
    assert "No records yet" in path.read_text()


def test_ranks_friedman_and_the_critical_difference_figure(tmp_path):
    store = Store(tmp_path / "results")
    accuracies = {"none": 0.70, "word": 0.75, "tmix": 0.80}  # the same order on every dataset
    for dataset in ("ds-a", "ds-b", "ds-c", "ds-d"):
        for seed in range(2):
            for method, acc in accuracies.items():
                accuracy = acc + 0.01 * seed
                store.write(fake_record(spec(method, dataset, seed), result=result(accuracy, 10.0)))
    out = tmp_path / "r"
    text = report_text(write_report(store, out))
    ranks = pd.read_csv(out / "ranks.csv", index_col=0).average_rank
    assert ranks.to_dict() == {"tmix": 1.0, "word": 2.0, "none": 3.0}
    expected = stats.friedmanchisquare([0.70] * 4, [0.75] * 4, [0.80] * 4).pvalue
    assert 0.001 < expected < 0.05  # about 0.018: printed with three decimals
    assert f"Friedman p = {expected:.3f}" in text
    # k = 3, n = 4: CD = 2.343 * sqrt(3 * 4 / 24) = 1.66; only tmix - none (2 ranks) exceeds it
    assert (
        "Separated by more than the critical difference: `tmix` (1.00) ranks above "
        "`none` (3.00)." in text
    )
    assert (out / "critical_difference.png").stat().st_size > 1000
    assert "(critical_difference.png)" in text


def test_degenerate_means_not_a_working_classifier_not_few_classes():
    from bench.report.analyse.analysis import degenerate_run

    # r52-like: 2 of 52 classes hold 69% of the test set, a long tail holds the rest
    label = np.concatenate([[0] * 420, [1] * 270, np.repeat(np.arange(2, 52), 6), [2] * 10])
    good = np.where(np.isin(label, np.arange(8)), label, 0)  # 8 classes predicted, 74% right
    assert len(np.unique(good)) < 52 / 2 and np.mean(good == label) > 0.7
    assert not degenerate_run(good, label)
    assert degenerate_run(np.zeros_like(label), label)  # the majority class only
    # above the majority class, but its classes hold 20% of a balanced test set
    balanced = np.repeat(np.arange(10), 30)
    two = np.where(np.isin(balanced, [0, 1]), balanced, 0)
    assert np.mean(two == balanced) > 0.1 and degenerate_run(two, balanced)
    # a small gain over the majority class that the test set cannot tell from chance
    label = np.array([0] * 14 + [1] * 6)
    pred = np.array([0] * 14 + [1, 0, 0, 0, 0, 0])  # 75% against 70%
    assert degenerate_run(pred, label)


def test_ece_and_nll_get_the_paired_test_and_a_claim_only_when_holm_carries_it(
    tmp_path, unrendered_figures
):
    import dataclasses

    store = Store(tmp_path / "results")
    ece = {"none": [0.10, 0.12, 0.11, 0.13, 0.10], "word": [0.05, 0.06, 0.05, 0.08, 0.04]}
    for method, values in ece.items():
        for seed, value in enumerate(values):
            res = result(0.7 + 0.01 * seed, 10.0)
            test = dataclasses.replace(res.metrics.test, ece=value, nll=0.5 + 0.001 * seed)
            res = dataclasses.replace(res, metrics=dataclasses.replace(res.metrics, test=test))
            store.write(fake_record(spec(method, "ds-a", seed), result=res))
    out = tmp_path / "r"
    text = report_text(write_report(store, out))
    diff = pd.read_csv(out / "ece_difference_to_none.csv").set_index("method")
    diffs = 100 * (np.array(ece["word"]) - np.array(ece["none"]))
    assert diff.loc["word", "diff"] == pytest.approx(diffs.mean())
    assert diff.loc["word", "p_holm"] == pytest.approx(stats.ttest_1samp(diffs, 0).pvalue)
    assert f"`word` is below `none` on ds-a: {diffs.mean():+.2f} ECE points (x 100)" in text
    # NLL is the same for both methods on every seed: no test, no claim
    assert "### NLL difference to `none`" in text
    assert "NLL points (x 100) (95% CI" not in text
