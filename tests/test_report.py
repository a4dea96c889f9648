"""Report generation from a fixture results folder: check the numbers, not just files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.config import PROFILES, RunSpec
from bench.method_api import options_as_items
from bench.registry import create_method
from bench.report import write_report
from bench.store import Store, make_record, now

N_TEST = 20


def result(accuracy: float, seconds: float, seed: int):
    n_correct = int(round(accuracy * N_TEST))
    labels = np.zeros(N_TEST, dtype=int)
    preds = np.array([0] * n_correct + [1] * (N_TEST - n_correct))
    return {
        "metrics": {
            "test": {"accuracy": accuracy, "macro_f1": accuracy, "nll": 0.5, "ece": 0.1},
            "validation": {"accuracy": accuracy},
            "best_epoch": 1,
            "curves": [{"epoch": 1, "train_loss": 0.6, "val_accuracy": accuracy, "val_nll": 0.5}],
        },
        "predictions": preds,
        "test_labels": labels,
        "confidences": np.full(N_TEST, 0.8),
        "cost": {
            "train_seconds": seconds,
            "median_step_seconds": seconds / 10,
            "steps": 10,
            "examples_per_second": 100 / seconds,
            "peak_memory_mb": 1000.0,
            "peak_memory_kind": "cpu_rss",
        },
        "mixing": {"mean_one_minus_lambda": 0.0},
        "data": {
            "source": "fixture",
            "sizes": {"train": 10, "validation": 5, "test": N_TEST},
            "fingerprint": "abc",
            "num_labels": 2,
            "label_names": ["a", "b"],
        },
        "model": {"name": "minilm-l6", "revision": "fixture"},
        "device": {"name": "CPU test"},
    }


# dataset -> method -> accuracies for seeds 0, 1
ACC = {
    "ds-a": {"none": [0.60, 0.70], "word": [0.80, 0.85]},
    "ds-b": {"none": [0.90, 0.90], "word": [0.85, 0.80]},
}


@pytest.fixture
def results(tmp_path):
    store = Store(tmp_path / "results")
    for dataset, by_method in ACC.items():
        for method, accs in by_method.items():
            for seed, acc in enumerate(accs):
                spec = RunSpec(
                    method,
                    dataset,
                    "minilm-l6",
                    seed,
                    PROFILES["smoke"],
                    options_as_items(create_method(method).options),
                )
                seconds = 10.0 if method == "none" else 12.0
                store.write(
                    spec,
                    make_record(spec, "ok", result(acc, seconds, seed), now(), profile="smoke"),
                )
    failed = RunSpec(
        "word",
        "ds-a",
        "minilm-l6",
        2,
        PROFILES["smoke"],
        options_as_items(create_method("word").options),
    )
    store.write(
        failed,
        make_record(failed, "diverged", None, now(), error="loss became nan", profile="smoke"),
    )
    old = store.root / "runs" / "ds-a" / "none" / "seed9-old.json"
    old.write_text(json.dumps({"schema_version": 0, "spec": {}}))
    return store


def test_report_tables_have_the_expected_values(results, tmp_path):
    out = tmp_path / "reports"
    path = write_report(results, out)
    acc = pd.read_csv(out / "accuracy.csv").set_index(["dataset", "method"])
    assert acc.loc[("ds-a", "word"), "mean"] == pytest.approx(82.5)
    assert acc.loc[("ds-a", "word"), "std"] == pytest.approx(np.std([80, 85], ddof=1))
    assert acc.loc[("ds-a", "word"), "n"] == 2  # the diverged seed 2 is not averaged
    assert acc.loc[("ds-b", "none"), "mean"] == pytest.approx(90.0)

    diff = pd.read_csv(out / "difference_to_none.csv").set_index(["dataset", "method"])
    assert diff.loc[("ds-a", "word"), "diff_mean"] == pytest.approx(17.5)
    assert diff.loc[("ds-b", "word"), "diff_mean"] == pytest.approx(-7.5)
    expected_t = stats.ttest_rel([0.80, 0.85], [0.60, 0.70]).pvalue
    assert diff.loc[("ds-a", "word"), "p_paired_t"] == pytest.approx(expected_t)
    # seed 0 on ds-a: word right on 16, none on 12, nested -> 4 discordant pairs, all one way
    p_seed0 = stats.binomtest(4, 4, 0.5).pvalue
    p_seed1 = stats.binomtest(3, 3, 0.5).pvalue  # 17 vs 14 correct
    assert diff.loc[("ds-a", "word"), "mcnemar_p_max"] == pytest.approx(max(p_seed0, p_seed1))

    ranks = pd.read_csv(out / "ranks.csv", index_col=0).average_rank
    assert ranks["none"] == pytest.approx(1.5) and ranks["word"] == pytest.approx(1.5)

    cost = pd.read_csv(out / "cost.csv").set_index("method")
    assert cost.loc["word", "train_time_x"] == pytest.approx(1.2)
    assert cost.loc["none", "train_time_x"] == pytest.approx(1.0)

    text = path.read_text()
    assert "**82.50 ± 3.54 (2)**" in text  # best on ds-a in bold
    assert "diverged" in text and "loss became nan" in text
    assert "seed9-old.json" in text and "unknown schema version 0" in text
    for stem in ("accuracy", "difference", "accuracy_vs_time", "memory", "calibration", "curves"):
        assert (out / f"{stem}.png").stat().st_size > 1000
        assert (out / f"{stem}.svg").is_file()
        assert f"({stem}.png)" in text
    assert "\\toprule" in (out / "accuracy.tex").read_text()


def test_report_is_reproducible(results, tmp_path):
    write_report(results, tmp_path / "a")
    write_report(results, tmp_path / "b")
    for name in ("REPORT.md", "accuracy.csv", "difference_to_none.csv", "cost.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_report_of_empty_results(tmp_path):
    path = write_report(Store(tmp_path / "none"), tmp_path / "out")
    assert "No records yet" in path.read_text()
