"""Report analysis: run records -> tables (pandas frames with named columns). Rendering
(markdown, CSV, LaTeX, figures) lives in bench.report.render; nothing here
draws or writes, and nothing here needs the method registry: records carry their labels.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from bench.core.config import METHOD_ORDER, PROFILES
from bench.core.records import RunRecord, RunStatus
from bench.report.analyse.sampling import sampling_widths
from bench.report.analyse.stats import (
    ALPHA,
    RankTest,
    friedman_nemenyi,
    holm,
    mean_interval,
    paired_mde,
    paired_t,
    seeds_needed,
    stratified_bootstrap,
)

BASELINE = "none"
MIN_BOOTSTRAP_SEEDS = 3


def profile_name(record: RunRecord) -> str:
    """The profile whose settings the record's spec has; else the profile its request
    started from with the settings that differ from it (e.g. 'quick, selection=best-val'),
    or 'custom' for an older record that did not say."""
    settings = record.spec.settings
    for name, candidate in PROFILES.items():
        if candidate == settings:
            return name
    started = PROFILES.get(record.spec.profile or "")
    if started is None:
        return "custom"
    changed = [
        f"{f.name}={getattr(settings, f.name)}"
        for f in dataclasses.fields(settings)
        if getattr(settings, f.name) != getattr(started, f.name)
    ]
    return ", ".join([str(record.spec.profile), *changed])


def records_frame(records: list[RunRecord]) -> pd.DataFrame:
    """One row per record: identity, status, test metrics, cost, mixing, and the record."""
    rows = []
    for r in records:
        res = r.result
        row = {
            "dataset": r.spec.dataset,
            "method": r.method_label,
            "method_name": r.spec.method,
            "seed": r.spec.seed,
            "model": r.spec.model,
            "status": r.status.value,
            "error": r.error,
            "setting": json.dumps(
                {"spec_version": r.spec.version, **dataclasses.asdict(r.spec.settings)},
                sort_keys=True,
            ),
            "profile": profile_name(r),
            "study": r.spec.study,
            "record": r,
            **{name: getattr(r.spec.settings, name) for name in STUDY_COLUMNS},
        }
        if res is not None:
            test = res.metrics.test
            row.update(
                accuracy=test.accuracy,
                macro_f1=test.macro_f1,
                nll=test.nll,
                ece=test.ece,
                # mean confidence - accuracy, points: > 0 overconfident, < 0 under
                confidence_gap=100 * (float(np.mean(res.predictions.confidence)) - test.accuracy),
                val_accuracy=res.metrics.validation.accuracy,
                train_seconds=res.cost.train_seconds,
                median_step_seconds=res.cost.median_step_seconds,
                steps=res.cost.steps,
                activation_mb=res.cost.activation_mb,
                examples_per_second=res.cost.examples_per_second,
                peak_memory_mb=res.cost.peak_memory_mb,
                peak_memory_kind=res.cost.peak_memory_kind,
                device=res.device.name,
                mean_one_minus_lambda=res.mixing.mean_one_minus_lambda,
                share_mixing_steps=res.mixing.share_mixing_steps,
                num_labels=res.data.num_labels,
                predicted_classes=len(np.unique(res.predictions.pred)),
                majority_accuracy=majority_share(res.predictions.label),
                degenerate=degenerate_run(res.predictions.pred, res.predictions.label),
            )
            if res.metrics.ood is not None:
                row.update(auroc=res.metrics.ood.auroc, fpr95=res.metrics.ood.fpr95)
        rows.append(row)
    return pd.DataFrame(rows)


STUDY_COLUMNS = ("epochs", "label_noise", "noise_kind", "per_class", "ood_classes", "input_noise")


def majority_share(labels: np.ndarray) -> float:
    """Accuracy of always predicting the most frequent label."""
    return float(np.bincount(labels).max() / len(labels)) if len(labels) else float("nan")


def degenerate_run(pred: np.ndarray, label: np.ndarray) -> bool:
    """Not a working classifier: accuracy not significantly above always predicting the
    most frequent test label (one-sided binomial test, alpha 0.05), or the classes it
    predicts hold less than half of the test examples. A long-tailed test set (r52) can be
    classified well with few classes predicted: that alone does not count."""
    if len(label) == 0:
        return True
    correct = int(np.sum(pred == label))
    above_majority = binomtest(correct, len(label), majority_share(label), alternative="greater")
    covered = float(np.isin(label, np.unique(pred)).mean())
    return bool(above_majority.pvalue >= ALPHA or covered < 0.5)


def method_order(frame: pd.DataFrame) -> list[str]:
    """The method labels of a frame: the built-in methods in their usual order (each
    with its variants), then the others alphabetically."""
    names = dict(zip(frame.method, frame.method_name, strict=True))

    def key(label: str) -> tuple[int, str]:
        name = names[label]
        return (METHOD_ORDER.index(name) if name in METHOD_ORDER else 99, label)

    return sorted(names, key=key)


def ok_runs(block: pd.DataFrame) -> pd.DataFrame:
    return block[block.status == RunStatus.OK.value].copy()


# ---------------------------------------------------------------- per dataset


def summary(ok: pd.DataFrame, metric: str = "accuracy", scale: float = 100) -> pd.DataFrame:
    """dataset, method, mean, std (ddof 1), n of `metric` over seeds, times `scale`."""
    table = ok.groupby(["dataset", "method"])[metric].agg(mean="mean", std="std", n="count")
    table[["mean", "std"]] *= scale
    return table.reset_index()


def baselines(ok: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: classes, majority-class accuracy (%), and the runs flagged degenerate
    (`degenerate_run`)."""
    table = ok.groupby("dataset").agg(
        classes=("num_labels", "max"),
        majority=("majority_accuracy", "max"),
        runs=("degenerate", "size"),
        degenerate_runs=("degenerate", "sum"),
        median_predicted_classes=("predicted_classes", "median"),
    )
    table["majority"] *= 100
    return table.reset_index()


def baseline_by_dataset(ok: pd.DataFrame, baseline: str, metric: str) -> dict[str, pd.DataFrame]:
    """The baseline's (seed, metric) rows per dataset."""
    base = ok.loc[ok.method == baseline, ["dataset", "seed", metric]]
    return {d: g[["seed", metric]] for d, g in base.groupby("dataset")}


def paired_on_seed(group: pd.DataFrame, base: pd.DataFrame | None, metric: str) -> pd.DataFrame:
    """`group`'s rows joined with the baseline's on the seed (inner, in group's order):
    columns seed, metric and metric_base; only the two columns travel (a merge of whole
    record frames costs 3 ms a call)."""
    if base is None:
        return pd.DataFrame(columns=["seed", metric, f"{metric}_base"])
    if not base.seed.is_unique:  # a merge's many-to-one rows
        return group[["seed", metric]].merge(base, on="seed", suffixes=("", "_base"))
    where = pd.Index(base.seed).get_indexer(group.seed)
    found = where >= 0
    return pd.DataFrame(
        {
            "seed": group.seed.to_numpy()[found],
            metric: group[metric].to_numpy()[found],
            f"{metric}_base": base[metric].to_numpy()[where[found]],
        }
    )


def differences(
    ok: pd.DataFrame, baseline: str = BASELINE, metric: str = "accuracy", scale: float = 100
) -> pd.DataFrame:
    """Per dataset and method: the paired difference of `metric` to the baseline over the
    seeds both ran (points), its 95% t-interval, p, Holm-adjusted p over the whole table,
    whether it is significant after correction, the MDE and the seeds a 1-point difference
    needs."""
    rows = []
    bases = baseline_by_dataset(ok, baseline, metric)
    for (dataset, method), group in ok.groupby(["dataset", "method"]):
        if method == baseline:
            continue
        pairs = paired_on_seed(group, bases.get(dataset), metric)
        if pairs.empty:
            continue
        test = paired_t(scale * pairs[metric], scale * pairs[f"{metric}_base"])
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "seeds": test.n,
                "diff": test.mean,
                "sd_diff": test.sd,
                "ci_low": test.low,
                "ci_high": test.high,
                "p": test.p,
                "mde": paired_mde(test.sd, test.n),
                "seeds_for_1_point": seeds_needed(test.sd, 1.0),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_holm"] = holm(list(table.p))
    table["significant"] = [p is not None and p < ALPHA for p in table.p_holm]
    return table


def power_table(diffs: pd.DataFrame) -> pd.DataFrame:
    """reports/power.csv: dataset, method, seeds, sd_diff, mde, seeds_for_1_point."""
    columns = ["dataset", "method", "seeds", "sd_diff", "mde", "seeds_for_1_point"]
    return diffs[columns] if not diffs.empty else pd.DataFrame(columns=columns)


# ---------------------------------------------------------------- across datasets


def rank_test(acc: pd.DataFrame) -> RankTest:
    """Friedman and Nemenyi over the datasets where every method ran."""
    wide = acc.pivot(index="dataset", columns="method", values="mean")
    return friedman_nemenyi(wide)


POI_REPLICATES = 20_000  # enough that the PoI bounds do not move over RNG seeds (a test)


def aggregates(
    ok: pd.DataFrame, baseline: str = BASELINE, reps: int = POI_REPLICATES
) -> pd.DataFrame:
    """Per method: the mean over seeds of the dataset-averaged difference (method -
    baseline, points) with its 95% t-interval and the same interval Bonferroni-corrected
    over the methods compared (what a claim rests on): the report's one interval
    procedure (`tests/test_coverage.py` checks its coverage at 3-7 seeds). Also the
    probability of improvement with its stratified bootstrap interval (the one resampling
    left). Only datasets with at least MIN_BOOTSTRAP_SEEDS paired seeds count."""
    per_method = {}
    bases = baseline_by_dataset(ok, baseline, "accuracy")
    for method in method_order(ok):
        if method == baseline:
            continue
        per_dataset = {}
        for dataset, group in ok[ok.method == method].groupby("dataset"):
            pairs = paired_on_seed(group, bases.get(dataset), "accuracy")
            if len(pairs) >= MIN_BOOTSTRAP_SEEDS:
                per_dataset[dataset] = (
                    100 * pairs.accuracy.to_numpy(),
                    100 * pairs.accuracy_base.to_numpy(),
                )
        if per_dataset:
            per_method[method] = per_dataset
    rows = []
    for method, per_dataset in per_method.items():
        poi = stratified_bootstrap(per_dataset, reps=reps)
        per_seed = per_seed_difference(ok, method, baseline, datasets=set(per_dataset))
        low, high = mean_interval(per_seed)
        corrected_low, corrected_high = mean_interval(per_seed, ALPHA / len(per_method))
        sd = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan")
        rows.append(
            {
                "method": method,
                "datasets": len(per_dataset),
                "seeds": len(per_seed),
                "mean": float(per_seed.mean()) if len(per_seed) else float("nan"),
                "low": low,
                "high": high,
                "p_improvement": poi.p_improvement,
                "p_improvement_low": poi.p_improvement_low,
                "p_improvement_high": poi.p_improvement_high,
                "corrected_low": corrected_low,
                "corrected_high": corrected_high,
                # the smallest difference the corrected test detects (power 0.8)
                "mde": paired_mde(sd, len(per_seed), ALPHA / len(per_method)),
                "compared": len(per_method),
            }
        )
    return pd.DataFrame(rows)


def per_seed_difference(
    ok: pd.DataFrame,
    a: str,
    b: str,
    metric: str = "accuracy",
    scale: float = 100,
    datasets: set[str] | None = None,
) -> np.ndarray:
    """Per seed, the mean of a - b over the datasets both ran (or `datasets`), at the
    seeds that ran every one of them."""
    part = ok[ok.method.isin([a, b])]
    wide = part.pivot_table(index="seed", columns=["dataset", "method"], values=metric)
    ran = {method: {d for d, m in wide.columns if m == method} for method in (a, b)}
    names = sorted(ran[a] & ran[b] if datasets is None else datasets)
    if not names:
        return np.array([])
    diffs = pd.DataFrame({d: wide[(d, a)] - wide[(d, b)] for d in names}).dropna()
    return scale * diffs.mean(axis=1).to_numpy()


# ---------------------------------------------------------------- cost and mixing


def cost(ok: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Per device and method: medians over (dataset, seed) of cost and of its ratio to
    the baseline on the same dataset and seed (timings compare only within a device)."""
    rows = []
    for (device, method), group in ok.groupby(["device", "method"]):
        base = ok[(ok.device == device) & (ok.method == baseline)]
        pairs = group.merge(base, on=["dataset", "seed"], suffixes=("", "_base"))
        row = {
            "device": device,
            "method": method,
            "runs": len(group),
            "train_s_median": group.train_seconds.median(),
            "step_ms_median": 1000 * group.median_step_seconds.median(),
            "peak_memory_mb_median": group.peak_memory_mb.median(),
            "memory_kind": ",".join(sorted(set(group.peak_memory_kind.dropna()))),
            # train time over steps x median step: above 1 when some steps are much slower
            "step_skew": (group.train_seconds / (group.steps * group.median_step_seconds)).median(),
            "activation_mb_median": group.activation_mb.median()
            if "activation_mb" in group
            else float("nan"),
        }
        if not pairs.empty:
            for name, column in (
                ("train_time_x", "train_seconds"),
                ("step_time_x", "median_step_seconds"),
                ("examples_per_s_x", "examples_per_second"),
                ("peak_memory_x", "peak_memory_mb"),
                ("activation_x", "activation_mb"),
            ):
                row[name] = (pairs[column] / pairs[f"{column}_base"]).median()
        rows.append(row)
    return pd.DataFrame(rows)


def mixing(ok: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean 1 - lambda and the share of steps with 1 - lambda > 0.01."""
    table = ok.groupby("method").agg(
        mean_one_minus_lambda=("mean_one_minus_lambda", "mean"),
        share_mixing_steps=("share_mixing_steps", "mean"),
    )
    return table.reset_index()


def reliability(ok: pd.DataFrame, method: str, bins: int = 15) -> pd.DataFrame:
    """Per confidence bin: mean confidence, accuracy and count, pooled over runs."""
    conf, correct = [], []
    for record in ok[ok.method == method].record:
        conf.append(record.result.predictions.confidence)
        correct.append(record.result.predictions.correct)
    if not conf:
        return pd.DataFrame(columns=["confidence", "accuracy", "count"])
    c, k = np.concatenate(conf), np.concatenate(correct)
    index = np.clip(np.ceil(c * bins).astype(int) - 1, 0, bins - 1)
    frame = pd.DataFrame({"bin": index, "confidence": c, "accuracy": k.astype(float)})
    out = frame.groupby("bin").agg(
        confidence=("confidence", "mean"), accuracy=("accuracy", "mean"), count=("accuracy", "size")
    )
    return out.reset_index(drop=True)


def reliability_curves(ok: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """`reliability` of every method with runs, one frame with a method column."""
    parts = [reliability(ok, m).assign(method=m) for m in methods if (ok.method == m).any()]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=["confidence", "accuracy", "count", "method"])
    return pd.concat(parts, ignore_index=True)


def validation_curves(ok: pd.DataFrame) -> pd.DataFrame:
    """Validation accuracy per dataset, method and epoch, mean over seeds."""
    points = [
        {"dataset": dataset, "method": method, "epoch": p.epoch, "val_accuracy": p.val_accuracy}
        for dataset, method, r in zip(ok.dataset, ok.method, ok.record, strict=True)
        for p in r.result.metrics.curves
    ]
    if not points:
        return pd.DataFrame(columns=["dataset", "method", "epoch", "val_accuracy"])
    frame = pd.DataFrame(points)
    return frame.groupby(["dataset", "method", "epoch"]).val_accuracy.mean().reset_index()


def per_method(ok: pd.DataFrame, column: str, how: str, methods: list[str]) -> pd.Series:
    """`how` ('mean', 'median') of a column per method, in `methods` order (NaN where a
    method has no value, or no run has the column)."""
    if column not in ok:
        return pd.Series(np.nan, index=methods, dtype=float)
    return ok.groupby("method")[column].agg(how).reindex(methods)


# ---------------------------------------------------------------- one block


@dataclass
class BlockAnalysis:
    """Everything the report shows for one (settings, model) block of records."""

    methods: list[str]
    ok: pd.DataFrame
    accuracy: pd.DataFrame
    macro_f1: pd.DataFrame
    ece: pd.DataFrame
    baselines: pd.DataFrame
    differences: pd.DataFrame
    ranks: RankTest
    aggregates: pd.DataFrame
    cost: pd.DataFrame
    mixing: pd.DataFrame
    # ECE and NLL differences to none (x 100), paired by seed, Holm over each table
    calibration: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
    # aggregate intervals with the test examples resampled too (bench.report.analyse.sampling)
    sampling: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    # what the figures draw beyond the tables
    reliability: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    val_curves: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    mean_ece: pd.Series = dataclasses.field(default_factory=pd.Series)  # per method
    activation_median: pd.Series = dataclasses.field(default_factory=pd.Series)  # MiB


def analyse_block(block: pd.DataFrame) -> BlockAnalysis:
    ok = ok_runs(block)
    methods = method_order(block)
    acc = summary(ok)
    return BlockAnalysis(
        methods=methods,
        ok=ok,
        accuracy=acc,
        macro_f1=summary(ok, "macro_f1"),
        ece=summary(ok, "ece", scale=1),
        baselines=baselines(ok),
        differences=differences(ok),
        ranks=rank_test(acc),
        aggregates=aggregates(ok),
        cost=cost(ok),
        mixing=mixing(ok),
        calibration={metric: differences(ok, metric=metric) for metric in CALIBRATION},
        sampling=sampling_widths(ok, methods),
        reliability=reliability_curves(ok, methods),
        val_curves=validation_curves(ok),
        mean_ece=per_method(ok, "ece", "mean", methods),
        activation_median=per_method(ok, "activation_mb", "median", methods),
    )


CALIBRATION = {"ece": "ECE", "nll": "NLL"}  # record column: name in the report
