"""Named studies: every grid names real methods and datasets and valid settings, expands
to exactly its runs, and its records get their own report section (kept out of the main
tables), with the label-noise study's rate 0 taken from the main reference."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.api.registry import method_names
from bench.cli.cli import main
from bench.core.config import PROFILES, RunSpec
from bench.core.records import Mixing, OODScores
from bench.core.store import Store, load_record
from bench.core.studies import AMPLIFY_MATCHED, AMPLIFY_STRONG, STUDIES, get_study
from bench.report.render.report import write_report
from bench.run.datasets.registry import build_registry
from bench.sweep.planning import make_plan, merge_plans, study_requests
from bench.tune.planning import tuned_plan
from tests.conftest import fake_record, fake_result, report_text, skip_figure_rendering


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_study_grid_is_valid_and_expands_to_its_runs(name, tmp_path):
    study = STUDIES[name]
    registry = build_registry(None)
    assert set(study.methods) <= set(method_names())
    assert set(study.datasets) <= set(registry.entries)
    plan = merge_plans(
        [make_plan(r, registry, Store(tmp_path / "r")) for r in study_requests(study)]
    )
    expected = study.runs
    if study.trials:  # a tuning study plans its trials; its winners once the trials end
        plan = tuned_plan(study, registry, Store(tmp_path / "r"))
        expected -= len(study.seeds) * len(study.methods) * len(study.datasets)
        assert expected == study.trials * len(study.methods) * len(study.datasets)
    assert len(plan.todo) == expected and not plan.done
    assert len({spec.hash for spec in plan.todo}) == expected
    assert {spec.study for spec in plan.todo} == {name}  # every run knows its study
    assert all(spec.condition for spec in plan.todo)
    seeds = [spec.seed for spec in plan.todo]
    assert seeds == sorted(seeds)  # seed-major: a stopped study leaves whole seeds


def test_study_seeds_can_be_replaced(tmp_path):
    study = STUDIES["ood"]
    plan = merge_plans(
        [make_plan(r, build_registry(None), Store(tmp_path)) for r in study_requests(study, (7,))]
    )
    assert {spec.seed for spec in plan.todo} == {7}


def test_study_refuses_flags_it_fixes(tmp_path, capsys):
    code = main(["--study", "label-noise", "--epochs", "2", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "--study label-noise fixes" in err and "drop --epochs" in err


def test_list_shows_the_studies(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name, study in STUDIES.items():
        assert name in out and study.question in out


# ---------------------------------------------------------------- report sections


REGIME_STUDY = {
    "label_noise": "label-noise",
    "per_class": "low-resource",
    "ood_classes": "ood",
    "input_noise": "input-noise",
}


def spec(method, seed, **regime):
    """A run of the regime's study (or of the main tables, without a regime), as --study
    would have named it."""
    settings = dataclasses.replace(PROFILES["smoke"], **regime)
    study = next((REGIME_STUDY[k] for k in regime if k in REGIME_STUDY), "")
    return RunSpec(method, "ds", "minilm-l6", seed, settings, study=study)


def result(accuracy, auroc=None):
    labels = np.array([0] * 10 + [1] * 10)
    n = int(round(accuracy * 20))
    preds = np.where(np.arange(20) < n, labels, 1 - labels)
    res = fake_result(preds, labels, accuracy=accuracy)
    if auroc is None:
        return res
    metrics = dataclasses.replace(res.metrics, ood=OODScores(auroc, 1 - auroc, 20, 8))
    return dataclasses.replace(res, metrics=metrics)


def write_study_results(root: Path) -> Path:
    store = Store(root / "results")
    acc = {  # regime -> method -> accuracy per seed 0, 1, 2
        (): {"none": [0.9, 0.85, 0.9], "word": [0.9, 0.9, 0.95]},
        (("label_noise", 0.2),): {"none": [0.7, 0.6, 0.65], "word": [0.8, 0.75, 0.85]},
        (("per_class", 4), ("train_size", None)): {"none": [0.6, 0.5, 0.55], "word": [0.5] * 3},
    }
    for regime, by_method in acc.items():
        for method, values in by_method.items():
            for seed, a in enumerate(values):
                store.write(fake_record(spec(method, seed, **dict(regime)), result=result(a)))
    for method, aurocs in {"none": [0.7, 0.72, 0.69], "word": [0.8, 0.83, 0.85]}.items():
        for seed, auroc in enumerate(aurocs):
            store.write(fake_record(spec(method, seed, ood_classes=2), result=result(0.8, auroc)))
    return store.root


@pytest.fixture
def study_results(tmp_path) -> Path:
    return write_study_results(tmp_path)


@pytest.fixture(scope="module")
def study_report(tmp_path_factory) -> tuple[Path, str]:
    """The report of `study_results`, written once for the tests that only read it."""
    root = tmp_path_factory.mktemp("studies")
    out = root / "reports"
    with pytest.MonkeyPatch.context() as patch:
        skip_figure_rendering(patch)  # the figures' files are still written, empty
        return out, report_text(write_report(Store(write_study_results(root)), out))


def test_study_sections_and_main_tables_are_kept_apart(study_report):
    out, text = study_report
    main_acc = pd.read_csv(out / "accuracy.csv").set_index("method")
    assert main_acc.loc["none", "n"] == 3  # only the clean runs in the main table
    assert main_acc.loc["none", "mean"] == pytest.approx(100 * np.mean([0.9, 0.85, 0.9]))
    for title in (
        "Study: Label noise",
        "Study: Low-resource budgets",
        "Study: Out-of-distribution",
    ):
        assert title in text

    noise = pd.read_csv(out / "study_label-noise_accuracy.csv")
    cells = set(zip(noise.condition, noise.method, strict=True))
    assert cells >= {("clean", "none"), ("clean", "word"), ("symmetric 0.2", "word")}
    diff = pd.read_csv(out / "study_label-noise_difference_to_none.csv").set_index("dataset")
    assert diff.loc["ds · symmetric 0.2", "diff"] == pytest.approx(15.0)
    assert diff.loc["ds · clean", "diff"] == pytest.approx(10 / 3)
    # Holm over the study's own cell only: the clean cell is the main table's, tested there
    assert diff.loc["ds · symmetric 0.2", "p_holm"] == pytest.approx(
        diff.loc["ds · symmetric 0.2", "p"]
    )
    assert np.isnan(diff.loc["ds · clean", "p_holm"]) and diff.loc["ds · clean", "family"] == "main"
    assert "Holm over the 1 tests of this study's own cells" in text
    assert (out / "study_label-noise_curves.png").is_file()

    low = pd.read_csv(out / "study_low-resource_difference_to_none.csv")
    assert low.dataset.tolist() == ["ds · 4/class, 1 ep"]
    assert low["diff"].iloc[0] == pytest.approx(-5.0)

    ood = pd.read_csv(out / "study_ood_ood.csv").set_index("method")
    assert ood.loc["word", "auroc"] == pytest.approx(100 * np.mean([0.8, 0.83, 0.85]))
    assert "Max-softmax AUROC ranges 70.3-82.7% over the methods" in text
    auroc = pd.read_csv(out / "study_ood_auroc_difference.csv")
    assert auroc["diff"].iloc[0] == pytest.approx(100 * np.mean([0.1, 0.11, 0.16]))


def test_a_study_whose_runs_all_failed_is_listed_not_analysed(tmp_path, unrendered_figures):
    store = Store(tmp_path / "results")
    store.write(fake_record(spec("none", 0, label_noise=0.2), "failed", error="boom"))
    text = report_text(write_report(store, tmp_path / "reports"))
    assert "## Study: Label noise" in text and "No successful runs." in text


def test_pooled_aggregate_covers_the_varied_cells_not_the_clean_one(
    study_results, tmp_path, unrendered_figures
):
    store = Store(study_results)
    for method, values in {"none": [0.5, 0.45, 0.5], "word": [0.6, 0.6, 0.6]}.items():
        for seed, a in enumerate(values):
            store.write(fake_record(spec(method, seed, label_noise=0.4), result=result(a)))
    out = tmp_path / "reports"
    text = report_text(write_report(store, out))
    pooled = pd.read_csv(out / "study_label-noise_pooled.csv").set_index("method")
    assert pooled.loc["word", "datasets"] == 2  # symmetric 0.2 and 0.4, not clean
    assert pooled.loc["word", "mean"] == pytest.approx((15.0 + 35 / 3) / 2)
    assert pooled.loc["word", "compared"] == 1
    assert "### Pooled over the study's conditions" in text
    assert "Aggregate `word` - `none` over 2 dataset · condition cells" in text
    assert "The pooled intervals take these cells as fixed" in text
    assert not (out / "study_low-resource_pooled.csv").exists()  # one cell: its own test


def test_study_provenance_counts_borrowed_clean_runs_apart(study_report):
    _, text = study_report
    section = text.split("## Study: Label noise")[1].split("## Study:")[0]
    assert "Runs: 6 records (6 ok), seeds 0, 1, 2;" in section
    assert "The clean cells are 6 records of the main reference (seeds 0, 1, 2)" in section


def test_study_tables_list_the_budgets_in_numeric_order(tmp_path, unrendered_figures):
    store = Store(tmp_path / "results")
    for per_class in (10, 100, 30):
        for method in ("none", "word"):
            for seed in range(2):
                regime = {"per_class": per_class, "train_size": None}
                store.write(fake_record(spec(method, seed, **regime), result=result(0.7)))
    out = tmp_path / "reports"
    text = report_text(write_report(store, out))
    rows = [line for line in text.splitlines() if line.startswith("| ds · ")]
    accuracy_rows = [row.split("|")[1].strip() for row in rows[:3]]
    assert accuracy_rows == ["ds · 10/class, 1 ep", "ds · 30/class, 1 ep", "ds · 100/class, 1 ep"]


def test_a_study_is_one_entry_no_other_module_names_one():
    """Adding a study is one entry in bench/studies.py: no other module spells a name."""
    root = Path(__file__).resolve().parents[1]
    # the record's "ood" key (the OOD scores of a run) is not the study's name
    record_layer = {"studies.py", "records.py", "harness.py"}
    for path in sorted((root / "bench").rglob("*.py")):
        if path.name in record_layer:
            continue
        text = path.read_text()
        for name in STUDIES:
            assert f'"{name}"' not in text and f"'{name}'" not in text, (path.name, name)


# ---------------------------------------------------------------- studies without a marker


def quick_spec(method, seed, model="minilm-l6", options=(), study="", **changes):
    settings = dataclasses.replace(PROFILES["quick"], **changes)
    options = tuple(sorted(options))
    return RunSpec(method, "ds", model, seed, settings, options, profile="quick", study=study)


@pytest.fixture(scope="module")
def ladder_report(tmp_path_factory) -> tuple[Path, str]:
    """The report of the quick reference (none, amplify) and one run set of each
    marker-less study, written once."""
    root = tmp_path_factory.mktemp("ladder")
    store = Store(root / "results")
    runs = {
        quick_spec("none", 0): [0.8, 0.7, 0.75],
        quick_spec("amplify", 0): [0.8, 0.72, 0.75],
        quick_spec("amplify", 0, options=AMPLIFY_STRONG.items(), study="strength"): [
            0.85,
            0.8,
            0.8,
        ],
        quick_spec("none", 0, epochs=10, study="schedule"): [0.6, 0.6, 0.65],
        quick_spec("word", 0, epochs=10, study="schedule"): [0.7, 0.7, 0.75],
        quick_spec("none", 0, model="mpnet-base", study="base-model"): [0.9, 0.9, 0.9],
        quick_spec("word", 0, model="mpnet-base", study="base-model"): [0.9, 0.95, 0.9],
    }
    for first, values in runs.items():
        for seed, a in enumerate(values):
            spec_ = dataclasses.replace(first, seed=seed)
            store.write(fake_record(spec_, result=result(a)))
    out = root / "reports"
    with pytest.MonkeyPatch.context() as patch:
        skip_figure_rendering(patch)
        return out, report_text(write_report(store, out))


def migration():
    """scripts/migrate_study_names.py as a module (it holds the old membership test)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / "migrate_study_names.py"
    spec = importlib.util.spec_from_file_location("migrate_study_names", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_gave_each_marker_less_study_exactly_its_runs():
    def study_of(spec):
        return "+".join(s.name for s in STUDIES.values() if migration().member(s, spec))

    assert study_of(quick_spec("none", 0)) == ""  # the reference
    assert study_of(quick_spec("amplify", 0, options=AMPLIFY_STRONG.items())) == "strength"
    assert study_of(quick_spec("amplify", 0, options=[("alpha", 0.5)])) == ""
    assert study_of(quick_spec("none", 0, epochs=10)) == "schedule"
    assert study_of(quick_spec("none", 0, epochs=5)) == ""
    assert study_of(quick_spec("none", 0, train_size=2048)) == "data-size"
    assert study_of(quick_spec("none", 0, model="mpnet-base")) == "base-model"
    assert study_of(quick_spec("none", 0, model="mpnet-base", epochs=10)) == ""


def test_committed_study_records_keep_their_study_when_a_profile_changes(monkeypatch):
    """A run knows its study: the report reads it from the record, so a later change to
    the quick profile cannot detach the committed records from their studies."""
    from bench.core import config
    from bench.report.analyse.analysis import records_frame

    root = Path(__file__).resolve().parent.parent / "results"
    paths = sorted((root / "runs" / "r8" / "none").glob("seed0-*.json"))
    before = records_frame([load_record(p) for p in paths])
    changed = dataclasses.replace(config.PROFILES["quick"], epochs=4, lr=2e-4)
    monkeypatch.setitem(config.PROFILES, "quick", changed)
    after = records_frame([load_record(p) for p in paths])
    assert {"schedule", "data-size"} <= set(before.study)  # the studies without a marker
    assert before.study.tolist() == after.study.tolist()


def test_marker_less_studies_are_kept_out_of_the_main_tables(ladder_report):
    out, text = ladder_report
    main_acc = pd.read_csv(out / "accuracy.csv")
    assert set(main_acc.method) == {"none", "amplify"} and set(main_acc.n) == {3}
    for title in ("Study: Mixing strength", "Study: Longer training", "Study: A base-size"):
        assert title in text


def test_the_scope_and_each_study_caveat_name_the_encoders_of_the_records(ladder_report):
    _, text = ladder_report
    scope = next(line for line in text.splitlines() if line.startswith("**Scope**"))
    assert "the encoders `minilm-l6` and `mpnet-base`," in scope
    base_model = text.split("## Study: A base-size encoder")[1].split("\n## ")[0]
    assert "the encoder is `mpnet-base` only" in base_model
    schedule = text.split("## Study: Longer training")[1].split("\n## ")[0]
    assert "the encoder is `minilm-l6` only" in schedule


def test_strength_compares_each_variant_with_the_reference_none(ladder_report):
    out, _ = ladder_report
    diff = pd.read_csv(out / "study_strength_difference_to_none.csv").set_index("dataset")
    strong = diff.loc["ds · Beta(1, 1), max trick"]
    assert strong["diff"] == pytest.approx(100 * np.mean([0.05, 0.1, 0.05]))
    assert strong["family"] == "study"
    assert diff.loc["ds · clean", "method"] == "amplify"  # AMPLIFY as published, for context


def test_schedule_takes_the_three_epoch_reference_as_its_clean_cell(ladder_report):
    out, _ = ladder_report
    diff = pd.read_csv(out / "study_schedule_difference_to_none.csv").set_index("dataset")
    assert diff.loc["ds · 10 epochs", "diff"] == pytest.approx(100 * np.mean([0.1, 0.1, 0.1]))
    accuracy = pd.read_csv(out / "study_schedule_accuracy.csv")
    clean = accuracy[accuracy.condition == "clean"]  # the reference's none, not its amplify
    assert clean.method.tolist() == ["none"] and clean["mean"].iloc[0] == pytest.approx(75.0)


def test_the_claims_are_judged_on_amplify_as_published_and_m1_on_its_matched_variant(
    tmp_path, unrendered_figures
):
    """C1 in the reference and the schedule study's cells, on AMPLIFY as published; the
    strength study's variants never decide it. M1 puts the variant that draws lambda as
    the baselines do in AMPLIFY's place, against the mixups that draw it that way."""
    matched_options = tuple(sorted(AMPLIFY_MATCHED.items()))

    def mixing(accuracy: float):
        return dataclasses.replace(result(accuracy), mixing=Mixing(0.2, 0.5))

    store = Store(tmp_path / "results")
    runs = {
        quick_spec("none", 0): [0.70, 0.70, 0.70],
        quick_spec("word", 0, options=matched_options): [0.70, 0.72, 0.71],
        quick_spec("amplify", 0): [0.70, 0.71, 0.71],
        quick_spec("amplify", 0, options=AMPLIFY_STRONG.items(), study="strength"): [
            0.60,
            0.65,
            0.61,
        ],
        quick_spec("amplify", 0, options=matched_options, study="strength"): [0.60, 0.62, 0.61],
        quick_spec("none", 0, epochs=10, study="schedule"): [0.80, 0.80, 0.80],
        quick_spec("word", 0, epochs=10, study="schedule"): [0.80, 0.82, 0.80],
        quick_spec("amplify", 0, epochs=10, study="schedule"): [0.85, 0.865, 0.85],
    }
    for first, values in runs.items():
        for seed, a in enumerate(values):
            res = result(a) if first.method == "none" else mixing(a)
            store.write(fake_record(dataclasses.replace(first, seed=seed), result=res))
    text = report_text(write_report(store, tmp_path / "reports"))
    evidence = pd.read_csv(tmp_path / "reports" / "claims.csv")
    c1 = evidence[evidence.claim == "C1"].set_index(["regime", "comparison"]).effect.round(2)
    assert c1["reference (quick, minilm-l6)", "amplify - word, points"] == -0.33
    assert c1["schedule study (minilm-l6, quick, epochs=10)", "amplify - word, points"] == 4.83
    assert not any("strength" in regime for regime, _ in c1.index)
    m1 = evidence[evidence.claim == "M1"].set_index(["regime", "comparison"]).effect.round(2)
    matched = "strength study, amplify at Beta(0.2, 0.2), max trick (minilm-l6, quick)"
    assert list(m1.index) == [(matched, "amplify - word, points")]
    assert m1[matched, "amplify - word, points"] == -10.0  # (0.60, 0.62, 0.61) - word
    claims = text.split("## The seed paper's claims, tested")[1].split("\n## ")[0]
    assert any(line.startswith("| M1") for line in claims.splitlines())


def test_seeds_beyond_the_plan_are_shown_beside_the_verdicts_at_the_planned_seeds(
    tmp_path, unrendered_figures
):
    """base-model planned seeds 0-4 and ran 5-6 after a look: its section says so, and the
    Summary gives the verdicts at the planned seeds beside the ones with every seed."""
    store = Store(tmp_path / "results")
    for seed in range(7):
        for method, a in (("none", 0.70), ("word", 0.71), ("amplify", 0.705)):
            jitter = 0.003 * ((seed * 7 + len(method)) % 5)
            mixing = Mixing(0.0, 0.0) if method == "none" else Mixing(0.2, 0.5)
            ref = dataclasses.replace(result(a + jitter), mixing=mixing)
            store.write(fake_record(quick_spec(method, seed), result=ref))
            base = quick_spec(method, seed, model="mpnet-base", study="base-model")
            big = dataclasses.replace(result(a + 0.1 + jitter), mixing=mixing)
            store.write(fake_record(base, result=big))
    text = report_text(write_report(store, tmp_path / "reports"))
    claims = text.split("## The seed paper's claims, tested")[1].split("\n## ")[0]
    looks = next(line for line in claims.splitlines() if line.startswith("- **Looks declared**"))
    assert "base-model seeds 5, 6: seeds 5 and 6 were added after" in looks
    assert "C1 *" in looks
    section = text.split("## Study: A base-size encoder")[1].split("\n## ")[0]
    assert "planned 0, 1, 2, 3, 4" in section and "beyond the plan: 5, 6" in section
    evidence = text.split("### The evidence, claim by claim")[1].split("\n## ")[0]
    base_rows = [line for line in evidence.splitlines() if "base-model study" in line]
    assert base_rows and all("7 (2 beyond the plan, after a look)" in r for r in base_rows)


def test_an_undeclared_look_enters_no_table_or_verdict(tmp_path, unrendered_figures):
    """A study's run at a seed it neither planned nor declared as an extra seed (with the
    look after which it ran) is left out of its analysis, and its section says so."""
    from bench.report.analyse.analysis import records_frame
    from bench.report.render.study_report import analyse_studies, seeds_line

    records = []
    for seed, (clean, noisy) in enumerate([(0.9, 0.7), (0.85, 0.6), (0.9, 0.65), (0.2, 0.1)]):
        seed = 9 if seed == 3 else seed  # label-noise plans 0-2 and declares 3 only
        for method in ("none", "word"):
            records.append(fake_record(spec(method, seed), result=result(clean)))
            noisy_spec = spec(method, seed, label_noise=0.2)
            records.append(fake_record(noisy_spec, result=result(noisy)))
    frame = records_frame(records)
    ((block, analysis),) = [x for x in analyse_studies(frame) if x[1].study == "label-noise"]
    own = analysis.ok[analysis.ok.condition != "clean"]
    assert sorted(set(own.seed)) == [0, 1, 2]
    line = " ".join(seeds_line(block, get_study("label-noise")))
    assert "undeclared: seed 9" in line and "left out of every table and verdict" in line
