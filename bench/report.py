"""Reports regenerated from results/ alone (no model, no data): REPORT.md with embedded
figures, CSV tables for pandas and LaTeX tables for papers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.stats import average_ranks, mcnemar_exact, paired_t, summary_over_seeds
from bench.store import Store, decode_floats, decode_ints, records_frame

ALPHA = 0.05


# ---------------------------------------------------------------- loading


def method_label(spec: dict[str, Any]) -> str:
    """The method name, plus the options that differ from its defaults (e.g. tmix[alpha=16])."""
    from bench.registry import method_class  # noqa: PLC0415

    name = spec["method"]
    try:
        defaults = dict(_default_options(method_class(name)))
    except Exception:  # a method that is no longer registered: show its name only
        return name
    changed = {
        k: v
        for k, v in spec.get("method_options", {}).items()
        if k in defaults and _same(defaults[k], v) is False
    }
    if not changed:
        return name
    shown = ",".join(f"{k}={_fmt(v)}" for k, v in sorted(changed.items()))
    return f"{name}[{shown}]"


def _default_options(cls) -> list[tuple[str, Any]]:
    import dataclasses  # noqa: PLC0415

    return [(f.name, f.default) for f in dataclasses.fields(cls.Options)]


def _same(a: Any, b: Any) -> bool:
    return list(a) == list(b) if isinstance(a, tuple | list) else a == b


def _fmt(value: Any) -> str:
    return "/".join(str(v) for v in value) if isinstance(value, tuple | list) else str(value)


def load_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """records_frame plus the columns the report groups by."""
    frame = records_frame(records)
    if frame.empty:
        return frame
    frame["method"] = [method_label(r["spec"]) for r in records]
    frame["setting"] = [json.dumps(r["spec"]["settings"], sort_keys=True) for r in records]
    frame["profile"] = [r.get("profile") or "custom" for r in records]
    frame["record"] = records
    return frame


def method_order(methods: list[str]) -> list[str]:
    from bench.registry import DEFAULT_ORDER  # noqa: PLC0415

    def key(m: str) -> tuple[int, str]:
        base = m.split("[")[0]
        return (DEFAULT_ORDER.index(base) if base in DEFAULT_ORDER else 99, m)

    return sorted(set(methods), key=key)


# ---------------------------------------------------------------- tables


def accuracy_table(ok: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Long table: dataset, method, mean, std, n of `metric` (in %)."""
    table = summary_over_seeds(ok, metric)
    table[["mean", "std"]] = table[["mean", "std"]] * 100
    return table


def wide_cells(table: pd.DataFrame, methods: list[str], bold: str = "**") -> pd.DataFrame:
    """dataset x method cells 'mean ± std (n)', the best mean per dataset in bold."""
    rows = {}
    for dataset, group in table.groupby("dataset"):
        best = group["mean"].max()
        cells = {}
        for r in group.itertuples():
            std = "" if pd.isna(r.std) else f" ± {r.std:.2f}"
            text = f"{r.mean:.2f}{std} ({r.n})"
            cells[r.method] = f"{bold}{text}{bold}" if np.isclose(r.mean, best) else text
        rows[dataset] = cells
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=methods).fillna("–")


def paired_rows(ok: pd.DataFrame, baseline: str = "none") -> pd.DataFrame:
    """Difference to the baseline per dataset and method, over the seeds both ran."""
    rows = []
    for (dataset, method), group in ok.groupby(["dataset", "method"]):
        if method == baseline:
            continue
        base = ok[(ok.dataset == dataset) & (ok.method == baseline)]
        pairs = group.merge(base, on="seed", suffixes=("", "_base"))
        if pairs.empty:
            continue
        diff = 100 * (pairs.accuracy - pairs.accuracy_base)
        p_t = paired_t(pairs.accuracy.to_numpy(), pairs.accuracy_base.to_numpy())
        p_mcnemar, agreeing = [], 0
        for r, seed_diff in zip(pairs.itertuples(), diff, strict=True):
            a, b = _correct(r.record), _correct(r.record_base)
            if a is not None and b is not None and len(a) == len(b):
                p = mcnemar_exact(a, b)
                p_mcnemar.append(p)
                # significant in this seed *and* in the direction of the mean difference
                agreeing += bool(p < ALPHA and np.sign(seed_diff) == np.sign(diff.mean()))
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "n_pairs": len(pairs),
                "diff_mean": diff.mean(),
                "diff_std": diff.std(ddof=1) if len(diff) > 1 else np.nan,
                "p_paired_t": p_t,
                "mcnemar_p_max": max(p_mcnemar) if p_mcnemar else np.nan,
                "mcnemar_significant": agreeing,
            }
        )
    return pd.DataFrame(rows)


def _correct(record: dict[str, Any]) -> np.ndarray | None:
    preds = record.get("predictions")
    if not preds:
        return None
    return decode_ints(preds["test_pred"]) == decode_ints(preds["test_label"])


def cost_rows(ok: pd.DataFrame, baseline: str = "none") -> pd.DataFrame:
    """Per device and method: median over (dataset, seed) of cost relative to the baseline."""
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
        }
        if not pairs.empty:
            row["train_time_x"] = (pairs.train_seconds / pairs.train_seconds_base).median()
            row["step_time_x"] = (
                pairs.median_step_seconds / pairs.median_step_seconds_base
            ).median()
            row["examples_per_s_x"] = (
                pairs.examples_per_second / pairs.examples_per_second_base
            ).median()
            row["peak_memory_x"] = (pairs.peak_memory_mb / pairs.peak_memory_mb_base).median()
        rows.append(row)
    return pd.DataFrame(rows)


def _p(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _mark(row: Any) -> str:
    sig_t = row.p_paired_t is not None and not pd.isna(row.p_paired_t) and row.p_paired_t < ALPHA
    sig_m = row.n_pairs and row.mcnemar_significant == row.n_pairs
    return "*" if sig_t or sig_m else ""


# ---------------------------------------------------------------- the report


def write_report(store: Store, out_dir: Path) -> Path:
    """Regenerate reports/ from the records in `store`; returns the path of REPORT.md."""
    from bench import figures  # noqa: PLC0415

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records, skipped = store.scan()
    frame = load_frame(records)
    lines = [
        "# Mixup benchmark report",
        "",
        "Generated by `python run_bench.py --report` from the run records in "
        f"`{store.root.name}/` alone; do not edit by hand.",
        "",
    ]
    if frame.empty:
        lines += ["No records yet."]
        _skipped_section(lines, skipped)
        (out_dir / "REPORT.md").write_text("\n".join(lines) + "\n")
        return out_dir / "REPORT.md"
    notes = store.root / "README.md"
    if notes.is_file():  # the human note next to the results: the command that made them
        lines += ["## About these results", "", notes.read_text().strip(), ""]
    settings = list(dict.fromkeys(frame.setting))
    for index, setting in enumerate(settings):
        part = frame[frame.setting == setting]
        for model in dict.fromkeys(part.model):
            block = part[part.model == model]
            suffix = "" if len(settings) == 1 and part.model.nunique() == 1 else f"-{index}-{model}"
            _section(lines, block, out_dir, suffix.replace("/", "_"), figures)
    _skipped_section(lines, skipped)
    (out_dir / "REPORT.md").write_text("\n".join(lines) + "\n")
    return out_dir / "REPORT.md"


def _section(
    lines: list[str], block: pd.DataFrame, out_dir: Path, suffix: str, figures: Any
) -> None:
    ok = block[block.status == "ok"].copy()
    methods = method_order(list(block.method))
    first = block.record.iloc[0]
    settings = first["spec"]["settings"]
    profiles = ", ".join(sorted(set(block.profile)))
    lines += [f"## Model `{block.model.iloc[0]}`, profile {profiles}", ""]
    lines += _provenance(block, settings)
    if ok.empty:
        lines += ["No successful runs.", ""]
        _failed(lines, block)
        return
    acc = accuracy_table(ok)
    acc.to_csv(out_dir / f"accuracy{suffix}.csv", index=False)
    paired = paired_rows(ok)
    cost = cost_rows(ok)
    lines += _headline(acc, paired, cost, methods)
    wide = wide_cells(acc, methods)
    lines += [
        "### Test accuracy (%)",
        "",
        "Mean ± standard deviation over seeds (n = number of seeds); the best mean per "
        "dataset in bold. The std measures seed-to-seed variance of the whole training "
        "run (initialisation of the head, data order, dropout, mixing draws) on a fixed "
        "test set, not the sampling error of the test set.",
        "",
        tabulate(wide, headers="keys", tablefmt="github"),
        "",
    ]
    (out_dir / f"accuracy{suffix}.tex").write_text(
        tabulate(
            wide_cells(acc, methods, bold="").reset_index().values.tolist(),
            headers=["dataset", *methods],
            tablefmt="latex_booktabs",
        )
        + "\n"
    )
    ranks = average_ranks(acc)
    n_complete = len(acc.pivot(index="dataset", columns="method", values="mean").dropna())
    if not ranks.empty:
        lines += [
            "### Average rank across datasets",
            "",
            f"Rank of each method by mean accuracy within each dataset (1 = best), "
            f"averaged over the {n_complete} datasets where every method ran.",
            "",
            tabulate(
                [[m, f"{r:.2f}"] for m, r in ranks.items()],
                headers=["method", "average rank"],
                tablefmt="github",
            ),
            "",
        ]
        ranks.rename("average_rank").to_csv(out_dir / f"ranks{suffix}.csv")
    if not paired.empty:
        paired.to_csv(out_dir / f"difference_to_none{suffix}.csv", index=False)
        rows = [
            [
                r.dataset,
                r.method,
                r.n_pairs,
                f"{r.diff_mean:+.2f}{_mark(r)}",
                "n/a" if pd.isna(r.diff_std) else f"{r.diff_std:.2f}",
                _p(r.p_paired_t),
                _p(r.mcnemar_p_max),
                f"{r.mcnemar_significant}/{r.n_pairs}",
            ]
            for r in paired.sort_values(["dataset", "method"]).itertuples()
        ]
        lines += [
            "### Difference to `none` (accuracy points)",
            "",
            "Paired by seed. *paired t* tests whether the mean difference over seeds is "
            "zero (seed variance; needs 2 or more seeds). *McNemar* tests, for each seed, "
            "whether the two runs' per-example errors on the test set differ (test-set "
            "sampling); the table shows the largest p over seeds and in how many seeds "
            f"p < {ALPHA} with the difference in the direction of the mean. `*` marks a "
            f"difference significant by the t-test at {ALPHA} or by McNemar in every seed "
            "in that direction. No correction for multiple comparisons.",
            "",
            tabulate(
                rows,
                headers=[
                    "dataset",
                    "method",
                    "seeds",
                    "diff",
                    "std",
                    "p (paired t)",
                    "p (McNemar, max)",
                    "McNemar p<0.05",
                ],
                tablefmt="github",
            ),
            "",
        ]
    cost.to_csv(out_dir / f"cost{suffix}.csv", index=False)
    lines += [
        "### Cost relative to `none`",
        "",
        "Medians over datasets and seeds of the ratio to `none` on the same dataset "
        "and seed; timings are compared only within one device. Train time excludes "
        "evaluation. Peak memory is the CUDA peak allocated memory on GPUs and the "
        "run's peak resident set (whole process, model included) on CPUs.",
        "",
    ]
    for device, group in cost.groupby("device"):
        rows = []
        for method in methods:
            r = group[group.method == method]
            if r.empty:
                continue
            r = r.iloc[0]
            rows.append(
                [
                    method,
                    f"{r.train_s_median:.1f}",
                    f"{r.step_ms_median:.0f}",
                    _x(r.get("train_time_x")),
                    _x(r.get("step_time_x")),
                    _x(r.get("examples_per_s_x")),
                    f"{r.peak_memory_mb_median:.0f}",
                    _x(r.get("peak_memory_x")),
                ]
            )
        lines += [
            f"Device: {device}",
            "",
            tabulate(
                rows,
                headers=[
                    "method",
                    "train s",
                    "step ms",
                    "train time x",
                    "step time x",
                    "examples/s x",
                    "peak MB",
                    "peak memory x",
                ],
                tablefmt="github",
            ),
            "",
        ]
    calib = accuracy_table(ok, "ece")
    calib[["mean", "std"]] = calib[["mean", "std"]] / 100  # ECE stays a fraction
    calib.to_csv(out_dir / f"ece{suffix}.csv", index=False)
    f1 = accuracy_table(ok, "macro_f1")
    f1.to_csv(out_dir / f"macro_f1{suffix}.csv", index=False)
    lines += [
        "### Macro-F1 (%)",
        "",
        tabulate(wide_cells(f1, methods), headers="keys", tablefmt="github"),
        "",
    ]
    mixing = ok.groupby("method").mean_one_minus_lambda.mean()
    lines += [
        "### Realised mixing strength",
        "",
        "Mean of `1 - lambda` over all training steps (0 for `none`).",
        "",
        tabulate(
            [[m, f"{mixing[m]:.3f}"] for m in methods if m in mixing],
            headers=["method", "mean 1 - lambda"],
            tablefmt="github",
        ),
        "",
    ]
    lines += ["### Figures", ""]
    for name, caption in figures.draw_all(ok, methods, out_dir, suffix):
        lines += [f"![{caption}]({name}.png)", "", f"*{caption}* ([SVG]({name}.svg))", ""]
    _failed(lines, block)


def _headline(
    acc: pd.DataFrame, paired: pd.DataFrame, cost: pd.DataFrame, methods: list[str]
) -> list[str]:
    """One row per method: the answer to 'does it help, by how much, at what cost?'."""
    ranks = average_ranks(acc)
    rows = []
    for method in methods:
        p = paired[paired.method == method] if not paired.empty else paired
        c = cost[cost.method == method]
        step_x = c.step_time_x.median() if "step_time_x" in c and not c.empty else np.nan
        if method == "none":
            rows.append([method, "–", "–", "–", _rank(ranks, method), "1.00x"])
            continue
        if p.empty:
            continue
        better = int((p.diff_mean > 0).sum())
        worse = int((p.diff_mean < 0).sum())
        sig_better = int(sum(1 for r in p.itertuples() if _mark(r) and r.diff_mean > 0))
        sig_worse = int(sum(1 for r in p.itertuples() if _mark(r) and r.diff_mean < 0))
        rows.append(
            [
                method,
                f"{p.diff_mean.mean():+.2f}",
                f"{better} / {worse} of {len(p)}",
                f"{sig_better} / {sig_worse}",
                _rank(ranks, method),
                _x(step_x),
            ]
        )
    return [
        "### Summary",
        "",
        "Per method, over the datasets: the mean difference in test accuracy to `none` "
        "(points), on how many datasets its mean is above / below `none`, on how many "
        "that difference is significant (`*` in the difference table), its average rank, "
        "and its median training-step time relative to `none`.",
        "",
        tabulate(
            rows,
            headers=[
                "method",
                "mean diff to none",
                "above / below none",
                "significant above / below",
                "average rank",
                "step time x",
            ],
            tablefmt="github",
        ),
        "",
    ]


def _rank(ranks: pd.Series, method: str) -> str:
    return f"{ranks[method]:.2f}" if method in ranks else "–"


def _x(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.2f}x"


def _provenance(block: pd.DataFrame, settings: dict[str, Any]) -> list[str]:
    records = list(block.record)
    commands = sorted(
        {
            r["provenance"].get("command", "not in these records: see About these results")
            for r in records
        }
    )
    shown_commands = [c if c.startswith("not in") else f"`{c}`" for c in commands]
    devices = sorted({d for d in block.device.dropna()})
    packages = records[0]["provenance"]["packages"]
    started = min(r["provenance"]["started"] for r in records)
    finished = max(r["provenance"]["finished"] for r in records)
    commits = sorted({r["provenance"]["git_commit"] for r in records})
    sources = {}
    for r in records:
        if "data" in r:
            sources[r["spec"]["dataset"]] = (
                r["data"]["source"],
                r["data"]["sizes"],
                r["data"]["fingerprint"],
            )
    seeds = sorted(set(block.seed))
    lines = [
        "| | |",
        "|---|---|",
        f"| command(s) | {'<br>'.join(shown_commands)} |",
        f"| model | `{block.model.iloc[0]}` "
        f"({records[0].get('model', {}).get('revision', 'unknown')}) |",
        f"| settings | {', '.join(f'{k}={v}' for k, v in settings.items())} |",
        f"| seeds | {', '.join(map(str, seeds))} |",
        f"| device(s) | {'; '.join(devices) or 'unknown'} |",
        f"| packages | {', '.join(f'{k} {v}' for k, v in packages.items())} |",
        f"| runs | {len(block)} records, {started} to {finished} |",
        f"| suite commit(s) | {', '.join(commits)} |",
        "",
    ]
    if sources:
        lines += [
            "Datasets (packaged ones are stand-ins, not the official files):",
            "",
            tabulate(
                [
                    [d, s, f"{z['train']}/{z['validation']}/{z['test']}", f]
                    for d, (s, z, f) in sorted(sources.items())
                ],
                headers=["dataset", "source", "train/val/test used", "fingerprint"],
                tablefmt="github",
            ),
            "",
        ]
    return lines


def _failed(lines: list[str], block: pd.DataFrame) -> None:
    bad = block[block.status != "ok"]
    if bad.empty:
        return
    lines += [
        "### Runs that did not finish",
        "",
        "Listed here and left out of every average above.",
        "",
        tabulate(
            [
                [r.dataset, r.method, r.seed, r.status, (r.error or "")[:120]]
                for r in bad.itertuples()
            ],
            headers=["dataset", "method", "seed", "status", "error"],
            tablefmt="github",
        ),
        "",
    ]


def _skipped_section(lines: list[str], skipped: list[tuple[str, str]]) -> None:
    if skipped:
        lines += [
            "## Records skipped",
            "",
            tabulate(skipped, headers=["file", "why"], tablefmt="github"),
            "",
        ]


def reliability(ok: pd.DataFrame, method: str, bins: int = 15) -> pd.DataFrame:
    """Per confidence bin: mean confidence, accuracy and count, pooled over runs."""
    conf, correct = [], []
    for record in ok[ok.method == method].record:
        preds = record.get("predictions") or {}
        if "test_confidence" in preds:
            conf.append(decode_floats(preds["test_confidence"]))
            correct.append(decode_ints(preds["test_pred"]) == decode_ints(preds["test_label"]))
    if not conf:
        return pd.DataFrame(columns=["confidence", "accuracy", "count"])
    c, k = np.concatenate(conf), np.concatenate(correct)
    index = np.clip(np.ceil(c * bins).astype(int) - 1, 0, bins - 1)
    frame = pd.DataFrame({"bin": index, "confidence": c, "accuracy": k.astype(float)})
    out = frame.groupby("bin").agg(
        confidence=("confidence", "mean"), accuracy=("accuracy", "mean"), count=("accuracy", "size")
    )
    return out.reset_index(drop=True)
