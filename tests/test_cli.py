"""The real CLI: bad input gets one line and exit code 2; end-to-end runs on the packaged
model and data with a handful of examples; a rerun runs nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.api.registry import method_names
from bench.cli.cli import main
from bench.core.store import load_record
from tests.conftest import report_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--methods", "mixupp"], "unknown method 'mixupp'; known: none, word"),
        (["--datasets", "rt-polarty"], "Did you mean 'rt-polarity'"),
        (["--seeds", "1", "x"], "seed 'x' is not an integer"),
        (["--seeds", "-1"], "must be >= 0"),
        (["--profile", "fast"], "unknown profile 'fast'"),
        (["--methods", "tmix", "--opt", "tmix.layer=7"], "has no option 'layer'"),
        (["--methods", "tmix", "--opt", "tmixlayers7"], "expected METHOD.KEY=VALUE"),
        (["--methods", "none", "--opt", "tmix.layers=7"], "not in --methods"),
        (["--datasets", "sst2"], "cannot be loaded here"),
        (["--epochs", "0"], "invalid training setting epochs=0"),
        (["--bogus"], "unrecognized arguments"),
        (
            ["--methods", "none", "--alpha", "0"],
            "--alpha 0.0: the Beta parameter must be finite and > 0",
        ),
        (["--methods", "none", "--alpha", "0.4"], "none of the chosen methods (none) draws"),
        (["--force", "--retry-failed"], "do not go together"),
        (["--model", "bert-bse"], "Did you mean 'bert-base'?"),
        (["--label-noise", "1"], "label_noise=1.0: must be a share of labels in [0, 1)"),
        (["--per-class", "0"], "per_class=0: must be >= 1"),
        (["--per-class", "5", "--train-size", "10"], "--per-class and --train-size are exclusive"),
        (["--noise-kind", "pair"], "without label noise: add --label-noise RATE"),
        (["--ood-classes", "-1"], "ood_classes=-1: must be >= 0"),
        (
            ["--methods", "none", "--ood-classes", "1", "--profile", "smoke"],
            "rt-polarity: ood_classes=1 with 2 classes",
        ),
        (["--study", "noise"], "unknown study 'noise'"),
        (["--study", "ood"], "--study ood fixes the methods, datasets, profile and settings"),
        (
            ["--methods", "amplify", "--opt", "amplify.start_layer=99", "--profile", "smoke"],
            "amplify start_layer=99 exceeds the encoder depth 6",
        ),
    ],
)
def test_bad_input_one_line_exit_2(argv, match, capsys, tmp_path, monkeypatch):
    from bench.run.datasets import hub as datasets_hub

    monkeypatch.setattr(datasets_hub, "hub_reachable", lambda: "hub unreachable (test)")
    code = main(["--datasets", "rt-polarity", *argv, "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert match in err
    assert not (tmp_path / "r").exists()  # nothing written


@pytest.mark.parametrize("has_bf16", ["0", "1"])
@pytest.mark.parametrize(
    "argv",
    [
        ["--model", "bert-bse"],
        ["--profile", "quick", "--model", "bert-bse"],
        ["--methods", "amplify", "--opt", "amplify.start_layer=99", "--profile", "quick"],
    ],
)
def test_refusal_is_one_line_with_or_without_bf16(argv, has_bf16, capsys, tmp_path, monkeypatch):
    """A refused command prints its error and nothing else, whatever the CPU's bf16: the
    slow-bf16 warning comes only after every check, when a bf16 run is about to train."""
    monkeypatch.setenv("MIXUP_BENCH_CPU_BF16", has_bf16)
    code = main(["--datasets", "rt-polarity", *argv, "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ")


@pytest.mark.parametrize("has_bf16,profile", [("0", "quick-fp32"), ("1", "quick")])
def test_default_profile_follows_the_cpus_bf16(has_bf16, profile, capsys, tmp_path, monkeypatch):
    """The default job trains in bf16 only where the CPU runs it natively; elsewhere it
    resolves to quick-fp32, says so in one line, and records the resolved profile."""
    monkeypatch.setenv("MIXUP_BENCH_CPU_BF16", has_bf16)
    tiny = ("--epochs", "1", "--train-size", "8", "--val-size", "4", "--test-size", "4")
    results = tmp_path / "r"
    argv = ["--methods", "none", "--datasets", "rt-polarity", *tiny, "--no-progress"]
    code = main([*argv, "--no-report", "--device", "cpu", "--results-dir", str(results)])
    out, err = capsys.readouterr()
    assert code == 0 and "warning" not in err
    (path,) = (results / "runs").rglob("*.json")
    record = load_record(path)
    assert record is not None and record.spec.profile == profile
    assert record.spec.settings.precision == ("fp32" if has_bf16 == "0" else "bf16")
    assert (f"profile {profile}: this device has no native bf16" in out) == (has_bf16 == "0")


def test_explicit_bf16_on_a_cpu_without_it_warns_once(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MIXUP_BENCH_CPU_BF16", "0")
    tiny = ("--epochs", "1", "--train-size", "8", "--val-size", "4", "--test-size", "4")
    argv = ["--methods", "none", "--datasets", "rt-polarity", "--profile", "quick", *tiny]
    code = main([*argv, "--no-progress", "--no-report", "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 0 and err.count("no fast bf16") == 1


def test_model_folder_without_weights(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    code = main(
        [
            "--methods",
            "none",
            "--datasets",
            "rt-polarity",
            "--profile",
            "smoke",
            "--model",
            str(tmp_path / "m"),
            "--results-dir",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2 and "has no weights" in capsys.readouterr().err


def test_unwritable_results_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(
        [
            "--methods",
            "none",
            "--datasets",
            "rt-polarity",
            "--profile",
            "smoke",
            "--results-dir",
            str(blocker / "sub"),
        ]
    )
    assert code == 2 and "cannot be written" in capsys.readouterr().err


def cli(*args, cwd=ROOT, env=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bench.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.mark.e2e
def test_end_to_end_study_regimes_are_recorded(tmp_path):
    """Label noise, a per-class budget and held-out classes in one real run on r8."""
    args = ["--methods", "none", "--datasets", "r8", "--profile", "smoke", "--no-progress"]
    regime = ["--label-noise", "0.25", "--per-class", "3", "--ood-classes", "2"]
    regime += ["--input-noise", "0.2"]
    done = cli(*args, *regime, "--results-dir", str(tmp_path / "results"))
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = sorted((tmp_path / "results").rglob("*.json"))
    record = load_record(path)
    data, ood = record.result.data, record.result.metrics.ood
    assert record.spec.settings.regime() == {
        "label_noise": 0.25,
        "per_class": 3,
        "ood_classes": 2,
        "input_noise": 0.2,
    }
    assert data.noisy_tokens > 0 and data.input_noise_fingerprint
    assert len(data.held_out_classes) == 2 and data.num_labels == 6
    assert not set(data.held_out_classes) & set(data.label_names)
    assert data.sizes["train"] == 18 and data.noisy_labels == round(0.25 * 18)
    assert data.noise_fingerprint and ood is not None
    assert (
        ood.in_distribution + ood.out_of_distribution == data.sizes["test"] + data.sizes["ood_test"]
    )
    report = report_text(tmp_path / "results" / "report" / "REPORT.md")
    # not a named study's run (no --study): its own block, named by its settings
    heading = next(line for line in report.splitlines() if line.startswith("## Model"))
    assert "label_noise=0.25" in heading and "ood_classes=2" in heading
    assert "## Study:" not in report


@pytest.mark.e2e
def test_end_to_end_every_method_then_resume(tmp_path):
    args = [
        "--methods",
        "all",
        "--datasets",
        "rt-polarity",
        "--profile",
        "smoke",
        "--train-size",
        "24",
        "--val-size",
        "16",
        "--test-size",
        "16",
        "--results-dir",
        str(tmp_path / "results"),
        "--reports-dir",
        str(tmp_path / "reports"),
        "--no-progress",
    ]
    first = cli(*args)
    assert first.returncode == 0, first.stderr[-2000:]
    n = len(method_names())
    assert f"plan: {n} run(s) to do, 0 already done" in first.stdout
    records = sorted((tmp_path / "results").rglob("*.json"))
    assert len(records) == n
    methods = set()
    for path in records:
        record = load_record(path)
        assert record.ok
        assert record.result.data.sizes == {"train": 24, "validation": 16, "test": 16}
        assert record.result.model.name == "minilm-l6" and record.result.model.depth == 6
        assert str(Path.home()) not in path.read_text()  # no home paths in records
        methods.add(record.spec.method)
    assert methods == set(method_names()) >= {"none", "word", "tmix", "amplify", "ssmix"}
    assert (tmp_path / "reports" / "REPORT.md").is_file()
    second = cli(*args)
    assert second.returncode == 0
    assert f"plan: 0 run(s) to do, {n} already done" in second.stdout
    # a newcomer whose runs all have records learns how to train them afresh
    assert "to train them afresh, leave these intact and add --results-dir" in second.stdout
    assert "nothing new ran: the report is unchanged" in second.stdout
    assert sorted((tmp_path / "results").rglob("*.json")) == records


@pytest.mark.e2e
def test_end_to_end_same_spec_same_numbers(tmp_path):
    args = [
        "--methods",
        "amplify",
        "--datasets",
        "amazon-cr",
        "--profile",
        "smoke",
        "--train-size",
        "16",
        "--no-progress",
        "--no-report",
    ]
    a = cli(*args, "--results-dir", str(tmp_path / "a"))
    b = cli(*args, "--results-dir", str(tmp_path / "b"))
    assert a.returncode == 0 and b.returncode == 0, a.stderr[-2000:]
    ra = load_record(next((tmp_path / "a").rglob("*.json")))
    rb = load_record(next((tmp_path / "b").rglob("*.json")))
    assert ra.spec_hash == rb.spec_hash
    assert ra.result.metrics == rb.result.metrics
    assert ra.result.predictions.to_dict() == rb.result.predictions.to_dict()


@pytest.mark.e2e
def test_end_to_end_lambda_one_reproduces_none(tmp_path):
    """Common random numbers through the real CLI: tmix and word with alpha 1e-9 draw
    permutations (and layers) every step but lambda is exactly 1, so each must equal
    `none` bit for bit (word's union mask applies only where a partner contributes)."""
    args = [
        *("--methods", "none", "tmix", "word", "--opt", "tmix.alpha=1e-9"),
        *("--opt", "word.alpha=1e-9"),
        *("--datasets", "rt-polarity", "--profile", "smoke", "--epochs", "2"),
        *("--train-size", "32", "--results-dir", str(tmp_path), "--no-progress", "--no-report"),
    ]
    done = cli(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    plain, *inert = (
        load_record(next((tmp_path / "runs" / "rt-polarity" / m).glob("*.json"))).result
        for m in ("none", "tmix", "word")
    )
    for method in inert:
        assert method.mixing.share_mixing_steps == 0.0
        assert plain.predictions.to_dict() == method.predictions.to_dict()
        assert plain.metrics.test.nll == method.metrics.test.nll
        assert plain.metrics.curves == method.metrics.curves


@pytest.mark.e2e
def test_end_to_end_a_script_based_hub_dataset_loads_from_parquet_and_says_so(
    tmp_path, monkeypatch
):
    """A stand-in hub: the first load refuses the loading script, the parquet revision
    answers; the run finishes and its record names the revision."""
    import datasets

    from bench.run.datasets import hub as datasets_hub
    from tests.test_data import REFUSAL, hub_fixture

    fixture = hub_fixture("text", "coarse_label", ("train", "test"), 6, size=120)
    revisions = []

    def fake_load_dataset(*args, revision=None):
        revisions.append(revision)
        if revision is None:
            raise REFUSAL
        return fixture

    monkeypatch.setattr(datasets_hub, "hub_reachable", lambda: None)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    args = ["--datasets", "trec6", "--methods", "none", "--profile", "smoke", "--no-report"]
    assert main([*args, "--no-progress", "--results-dir", str(tmp_path)]) == 0
    assert revisions == [None, "refs/convert/parquet"]  # loaded once per process
    (path,) = (tmp_path / "runs").rglob("*.json")
    assert load_record(path).result.data.revision == "refs/convert/parquet"


@pytest.mark.parametrize(
    "bad_row,match",
    [
        ('"a fine film",', "train.csv: empty label in row(s) 4"),
        ('"",pos', "train.csv: empty text in row(s) 4"),
    ],
)
def test_a_local_csv_row_without_label_or_text_is_refused(bad_row, match, tmp_path, capsys):
    folder = tmp_path / "data" / "toy"
    folder.mkdir(parents=True)
    good = ["text,label", '"good film",pos', '"bad film",neg']
    (folder / "train.csv").write_text("\n".join([*good, bad_row]) + "\n")
    for split in ("validation", "test"):
        (folder / f"{split}.csv").write_text("\n".join(good) + "\n")
    args = ["--methods", "none", "--datasets", "toy", "--data-dir", str(tmp_path / "data")]
    code = main([*args, "--profile", "smoke", "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and match in err and "delete" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.e2e
def test_a_smoke_first_look_leaves_the_repository_clean(tmp_path, monkeypatch, capsys):
    """The README's first look writes to the git-ignored scratch folder: `git status` of
    a repository with the suite's .gitignore stays clean, and its report is beside it."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    subprocess.run(["git", "-C", str(tmp_path), "add", ".gitignore"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "i",
        ],
        check=True,
    )
    monkeypatch.chdir(tmp_path)
    argv = ["--methods", "none", "--datasets", "rt-polarity", "--profile", "smoke"]
    assert main([*argv, "--no-progress"]) == 0
    assert "smoke-results/report/REPORT.md" in capsys.readouterr().out
    assert (tmp_path / "smoke-results" / "report" / "REPORT.md").is_file()
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain"], capture_output=True, text=True
    )
    assert status.stdout == ""


@pytest.mark.parametrize(
    "cores,device,todo,threads,workers,expected",
    [
        ([0, 1], "cpu", 5, None, "auto", (2, 1)),  # one 1-thread worker per core
        ([0, 1, 2, 3], "cpu", 5, 2, "auto", (2, 2)),  # --threads 2: a worker per 2 cores
        ([0, 1], "cpu", 1, None, "auto", (1, None)),  # one run: this process
        ([0], "cpu", 5, None, "auto", (1, None)),  # one core: this process
        ([0, 1], "cuda", 5, None, "auto", (1, None)),  # a GPU: this process
        ([0, 1], "cpu", 5, None, 1, (1, None)),  # an explicit count stays
    ],
)
def test_workers_auto_picks_one_single_thread_worker_per_core_on_a_cpu(
    cores, device, todo, threads, workers, expected, monkeypatch
):
    import argparse

    import torch

    from bench.cli import cli as cli_module

    monkeypatch.setattr(cli_module, "usable_cores", lambda: cores)
    args = argparse.Namespace(workers=workers, threads=threads, executor="local")
    cli_module.resolve_workers(args, torch.device(device), todo)
    assert (args.workers, args.threads) == expected


def test_workers_default_is_auto_unless_the_environment_says_otherwise(monkeypatch):
    from bench.cli.cli import build_parser

    monkeypatch.delenv("MIXUP_BENCH_WORKERS", raising=False)
    assert build_parser().parse_args([]).workers == "auto"
    monkeypatch.setenv("MIXUP_BENCH_WORKERS", "1")
    assert build_parser().parse_args([]).workers == 1
    monkeypatch.setenv("MIXUP_BENCH_WORKERS", "two")
    assert main(["--list"]) == 2
