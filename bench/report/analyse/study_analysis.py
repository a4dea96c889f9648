"""Study analysis: the records of a named study (label noise, per-class budgets, held-out
classes) -> tables per condition, with the same paired statistics as the main tables.

A study's block is its records of one model and one base setting (everything but the
fields the study varies). Each (dataset, condition) pair is one cell that the paired
tests treat like a dataset of the main table, and Holm's correction runs over all of them.
A noise study takes its rate-0 cell from the main reference (the same settings without
noise). What a study varies and how its conditions are labelled is its entry in
bench.core.studies.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pandas as pd

from bench.core.config import PROFILES
from bench.core.studies import CLEAN, Study, find_study
from bench.report.analyse.analysis import (
    BASELINE,
    aggregates,
    differences,
    method_order,
    ok_runs,
    per_method,
    reliability_curves,
    summary,
)
from bench.report.analyse.stats import mean_interval

CELL_SEPARATOR = " · "


@dataclass
class StudyAnalysis:
    """Everything the report shows for one study block."""

    study: str
    model: str
    methods: list[str]
    ok: pd.DataFrame  # one row per successful run, `dataset` = "dataset · condition"
    cells: pd.DataFrame  # dataset, condition, x, kind, method, mean, low, high, n (points)
    accuracy: pd.DataFrame  # summary() over cells
    differences: pd.DataFrame  # accuracy difference to none per cell, Holm over the study
    ece: pd.DataFrame
    ood: pd.DataFrame  # AUROC / FPR95 summary per cell and method (ood study only)
    auroc_differences: pd.DataFrame
    pooled: pd.DataFrame  # aggregates() over the varied cells (clean cells left out)
    cell_order: list[str]  # dataset · condition cells: clean first, then by series and x
    # the calibration figure's runs: the study's own conditions (clean cells left out)
    mean_ece: pd.Series = dataclasses.field(default_factory=pd.Series)
    reliability: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    # a tuning study's successful trials (bench.report.analyse.tuned); the tables above
    # hold its winners' runs, each method under its own name (options differ by dataset)
    trials: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


def base_key(settings, study: str) -> str:
    """The settings a study block shares: all but the fields the study varies."""
    data = dataclasses.asdict(settings)
    entry = find_study(study)
    for name in entry.varied if entry else ():
        data.pop(name, None)
    return json.dumps(data, sort_keys=True)


def condition(row: pd.Series, study: str) -> tuple[str, float, str]:
    """(label, x for plots, series within a dataset) of one run's condition."""
    entry = find_study(study)
    if entry is not None:
        return entry.label(row.record.spec)
    regime = row.record.spec.settings.regime()  # several regimes at once: name them all
    return ", ".join(f"{k}={v}" for k, v in regime.items()), 0.0, ""


def study_blocks(frame: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(study, model, block) for every study present. A label-noise block gains the clean
    runs of the main reference that share its base setting (its rate-0 cell)."""
    out = []
    studies = sorted(s for s in set(frame.study) if s)
    for study in studies:
        part = with_borrowed(frame, study)
        keys = part.record.map(lambda r, s=study: base_key(r.spec.settings, s))
        for (model, key), block in part.groupby([part.model, keys], sort=False):
            entry = find_study(study)
            if entry is not None and entry.borrows_clean:
                clean = frame[(frame.study == "") & (frame.model == model)]
                clean_keys = clean.record.map(lambda r, s=study: base_key(r.spec.settings, s))
                clean = clean[clean_keys == key]
                clean = clean[clean.dataset.isin(set(block.dataset))]
                borrowed = {*block.method, *block.method_name, BASELINE}  # variants' base
                clean = clean[clean.method.isin(borrowed)]
                block = pd.concat([clean, block])
            out.append((study, model, block))
    return out


def with_borrowed(frame: pd.DataFrame, study: str) -> pd.DataFrame:
    """A study's own records, and those of the studies it borrows from that are specs of
    its grid (a method, dataset, planned seed and the settings of one of its conditions)."""
    part = frame[frame.study == study]
    entry = find_study(study)
    if entry is None or not entry.borrows:
        return part
    profile = PROFILES[entry.profile]
    grid = {
        (method, dataset, seed, dataclasses.replace(profile, **Study.overrides(c)))
        for c in entry.conditions
        for method in entry.condition_methods(c)
        for dataset in entry.datasets
        for seed in entry.seeds
    }
    others = frame[frame.study.isin(entry.borrows) & frame.model.isin(set(part.model))]
    planned = others.record.map(
        lambda r: (r.spec.method, r.spec.dataset, r.spec.seed, r.spec.settings) in grid
    )
    return pd.concat([part, others[planned]])


def baseline_everywhere(ok: pd.DataFrame, study: str) -> pd.DataFrame:
    """`none` runs copied into every other cell of their dataset that has none of its own,
    so that a cell of method variants (the strength study) is compared with the reference:
    the clean cell's, or those of the cell the study names for it (`baseline_from`)."""
    sources = dict(find_study(study).baseline_from) if find_study(study) else {}
    own = set(ok[ok.method == BASELINE].condition)
    cells = ok[~ok.condition.isin(own | {CLEAN})].drop_duplicates(["base_dataset", "condition"])
    copies = [
        ok[
            (ok.method == BASELINE)
            & (ok.condition == sources.get(cell.condition, CLEAN))
            & (ok.base_dataset == cell.base_dataset)
        ].assign(
            condition=cell.condition,
            x=cell.x,
            series=cell.series,
            dataset=cell.dataset,
        )
        for cell in cells.itertuples()
    ]
    return pd.concat([ok, *copies], ignore_index=True)


def declared_runs(study: str, block: pd.DataFrame) -> pd.DataFrame:
    """The block without the study's own runs at seeds it never declared (neither planned
    nor an extra seed with its note): an undeclared look enters no table or verdict."""
    entry = find_study(study)
    if entry is None:
        return block
    declared = {*entry.seeds, *entry.extra_seeds}
    return block[(block.study != study) | block.seed.isin(declared)]


def split_trials(study: str, block: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A tuning study's block without its trials (the winners' runs under their method's
    name), and its successful trials; other blocks as they are, and no trials."""
    entry = find_study(study)
    if entry is None or not entry.trials:
        return block, pd.DataFrame()
    is_trial = (block.study == study) & block.seed.isin(entry.trial_seeds)
    finals = block[~is_trial]
    return finals.assign(method=finals.method_name), ok_runs(block[is_trial])


def analyse_study(study: str, block: pd.DataFrame) -> StudyAnalysis:
    model = block.model.iloc[0]
    block, trials = split_trials(study, block)
    block = declared_runs(study, block)
    ok = ok_runs(block)
    methods = method_order(block)
    if ok.empty:
        empty = pd.DataFrame()
        return StudyAnalysis(study, model, methods, ok, *[empty] * 7, [], trials=trials)
    labelled = ok.apply(lambda row: condition(row, study), axis=1, result_type="expand")
    ok = ok.assign(
        base_dataset=ok.dataset,
        condition=labelled[0],
        x=labelled[1],
        series=labelled[2],
        dataset=ok.dataset + CELL_SEPARATOR + labelled[0],
    )
    entry = find_study(study)
    if entry is not None and entry.baseline_in_every_cell:
        ok = baseline_everywhere(ok, study)
    if entry is not None and entry.borrows_clean:  # the clean cell joins every series
        clean, noisy = ok[ok.condition == CLEAN], ok[ok.condition != CLEAN]
        kinds = sorted(set(noisy.series)) or sorted(set(clean.series)) or [""]
        ok = pd.concat([noisy, *(clean.assign(series=kind) for kind in kinds)])
        cells_ok = ok
        ok = ok.drop_duplicates(subset=["dataset", "method", "seed"])
    else:
        cells_ok = ok
    has_ood = "auroc" in ok and ok.auroc.notna().any()
    present = [m for m in methods if m in set(ok.method)]
    own_runs = ok[ok.condition != CLEAN]
    return StudyAnalysis(
        study=study,
        model=model,
        methods=methods,
        ok=ok,
        cells=cell_intervals(cells_ok),
        accuracy=summary(ok),
        differences=study_differences(ok),
        ece=summary(ok, "ece", scale=1),
        ood=ood_summary(ok) if has_ood else pd.DataFrame(),
        auroc_differences=differences(ok, metric="auroc") if has_ood else pd.DataFrame(),
        pooled=pooled(ok),
        cell_order=cell_order(ok),
        mean_ece=per_method(own_runs, "ece", "mean", present),
        reliability=reliability_curves(own_runs, present),
        trials=trials,
    )


def cell_order(ok: pd.DataFrame) -> list[str]:
    """The cells in reading order: per dataset the clean cell, then each series by its x
    (10, 30, 100 per class; not the alphabetical 10, 100, 30)."""
    cells = ok.drop_duplicates("dataset")
    cells = cells.assign(noisy=cells.condition != CLEAN)
    return cells.sort_values(["base_dataset", "noisy", "series", "x"]).dataset.tolist()


def study_differences(ok: pd.DataFrame) -> pd.DataFrame:
    """Paired differences to none per cell, Holm over the study's own cells only. The
    clean cells borrowed from the main reference are listed as that reference (`family`
    "main"), without a Holm p of their own: the main table tests them."""
    own = differences(ok[ok.condition != CLEAN]).assign(family="study")
    clean = ok[ok.condition == CLEAN]
    if clean.empty:
        return own
    reference = differences(clean).assign(p_holm=None, significant=False, family="main")
    return pd.concat([reference, own], ignore_index=True)


def own_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a study's difference table that its Holm family covers."""
    return table[table.family == "study"] if "family" in table else table


def pooled(ok: pd.DataFrame) -> pd.DataFrame:
    """Each method's difference to none averaged over the study's varied cells (the
    clean reference cells of label noise left out), with the main table's stratified
    bootstrap and Bonferroni interval: does the method help under the study's conditions
    as a whole? Empty with fewer than two cells, where the cell's own test says it all."""
    varied = ok[ok.condition != CLEAN]
    if varied.dataset.nunique() < 2:
        return pd.DataFrame()
    return aggregates(varied)


def cell_intervals(ok: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy (%) with its 95% t-interval over seeds per dataset, series, x, method."""
    rows = []
    keys = ["base_dataset", "series", "x", "condition", "method"]
    for (dataset, series, x, label, method), group in ok.groupby(keys):
        values = 100 * group.accuracy.to_numpy()
        low, high = mean_interval(values)
        rows.append(
            {
                "dataset": dataset,
                "series": series,
                "x": x,
                "condition": label,
                "method": method,
                "mean": values.mean(),
                "low": low,
                "high": high,
                "n": len(values),
            }
        )
    return pd.DataFrame(rows)


def ood_summary(ok: pd.DataFrame) -> pd.DataFrame:
    """Per cell and method: in-distribution accuracy, AUROC and FPR95 (%), mean and sd."""
    table = ok.groupby(["dataset", "method"]).agg(
        accuracy=("accuracy", "mean"),
        auroc=("auroc", "mean"),
        auroc_sd=("auroc", "std"),
        fpr95=("fpr95", "mean"),
        fpr95_sd=("fpr95", "std"),
        n=("auroc", "count"),
    )
    return (100 * table.drop(columns="n")).assign(n=table.n).reset_index()
