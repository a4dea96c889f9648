"""Input that was accepted once and went wrong later: each is refused before any run (one
line, exit 2, nothing written), and what is finished stays readable."""

from __future__ import annotations

import json

import pytest

from bench.cli.cli import main
from bench.core.config import PROFILES, RunSpec
from bench.core.store import Store
from tests.conftest import fake_record

GOOD = ["text,label", '"good film",pos', '"bad film",neg', '"fine film",pos']


def local_data(tmp_path, train=GOOD, validation=GOOD, test=GOOD):
    folder = tmp_path / "data" / "toy"
    folder.mkdir(parents=True)
    for split, rows in (("train", train), ("validation", validation), ("test", test)):
        (folder / f"{split}.csv").write_text("\n".join(rows) + "\n")
    return ["--datasets", "toy", "--data-dir", str(tmp_path / "data")]


def refused(argv, tmp_path, capsys) -> str:
    code = main([*argv, "--profile", "smoke", "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ")
    assert not (tmp_path / "r").exists()
    return err


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--methods", "word", "--alpha", "inf"], "--alpha inf: the Beta parameter must be finite"),
        (["--methods", "word", "--opt", "word.alpha=inf"], "alpha=inf must be a finite number"),
        (["--methods", "word", "--opt", "word.alpha=nan"], "alpha=nan must be a finite number"),
        (["--methods", "none", "--seeds", "0", "0"], "seed 0 given more than once"),
        (
            ["--methods", "none", "--datasets", "rt-polarity", "--label-noise", "0.5"],
            "at or above 0.50 a wrong label is as common as the right one",
        ),
        (
            ["--methods", "none", "--datasets", "r8", "--label-noise", "0.9"],
            "(8 classes): at or above 0.88",
        ),
        (
            ["--methods", "none", "--datasets", "r8", "--label-noise", "0.5"]
            + ["--noise-kind", "pair"],
            "at or above 0.50",
        ),
    ],
)
def test_values_that_diverge_or_mislead_later_are_refused_first(argv, match, tmp_path, capsys):
    assert match in refused(argv, tmp_path, capsys)


def test_symmetric_noise_just_below_the_majority_limit_is_accepted():
    from bench.run.datasets.regimes import check_noise_below_majority

    class Data:
        name, num_labels = "toy", 4

    check_noise_below_majority(0.74, "symmetric", Data())  # (4 - 1) / 4 = 0.75


@pytest.mark.parametrize("missing", ["NaN", "nan", "NA", "null"])
def test_a_label_that_reads_as_missing_is_refused(missing, tmp_path, capsys):
    argv = ["--methods", "none", *local_data(tmp_path, train=[*GOOD, f'"odd film",{missing}'])]
    err = refused(argv, tmp_path, capsys)
    assert f"label {missing!r} in row(s) 5 reads as a missing value" in err


@pytest.mark.parametrize("split", ["validation", "test"])
def test_a_one_example_split_is_refused_as_a_size_of_one_is(split, tmp_path, capsys):
    argv = ["--methods", "none", *local_data(tmp_path, **{split: GOOD[:2]})]
    assert f"fewer than 2 {split} examples" in refused(argv, tmp_path, capsys)
    assert "must be >= 2" in refused(["--test-size", "1"], tmp_path, capsys)


def test_a_record_of_a_newer_spec_version_is_unknown_not_current(tmp_path):
    store = Store(tmp_path)
    spec = RunSpec("none", "r8", "minilm-l6", 0, PROFILES["quick"])
    store.write(fake_record(spec))
    (path,) = (tmp_path / "runs").rglob("*.json")
    data = json.loads(path.read_text())
    data["spec"]["spec_version"] = 99
    path.write_text(json.dumps(data))
    good, skipped = store.scan()
    assert good == []
    ((where, why),) = skipped
    assert where.endswith(path.name) and "newer than this suite" in why


def test_a_report_of_only_failed_runs_says_so(tmp_path, capsys, unrendered_figures):
    store = Store(tmp_path / "r")
    spec = RunSpec("none", "r8", "minilm-l6", 0, PROFILES["quick"])
    store.write(fake_record(spec, status="failed", error="RuntimeError: boom"))
    assert main(["--report", "--results-dir", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "report" / "REPORT.md").read_text()
    assert "No successful run yet: all 1 record(s) ended failed" in text


def test_report_says_on_the_terminal_how_many_records_it_skipped(
    tmp_path, capsys, unrendered_figures
):
    store = Store(tmp_path / "r")
    spec = RunSpec("none", "r8", "minilm-l6", 0, PROFILES["quick"])
    store.write(fake_record(spec, status="failed", error="x"))
    (tmp_path / "r" / "runs" / "broken.json").write_text("{not json")
    assert main(["--report", "--results-dir", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "1 record(s) could not be read" in err and "Records skipped" in err


def test_an_error_after_the_write_probe_leaves_no_empty_results_folder(tmp_path, capsys):
    """`--workers` beyond the cores fails after the results folder was probed: the probe
    removes what it made, so nothing is left."""
    argv = ["--methods", "none", "--datasets", "rt-polarity", "--workers", "4096"]
    code = main([*argv, "--device", "cpu", "--results-dir", str(tmp_path / "r" / "deep")])
    assert code == 2 and "core(s)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
