"""Markdown pieces shared by the main report and the study sections: cells, numbers,
the difference-to-none rows and the claims they support."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.report.analyse.analysis import POI_REPLICATES


def wide_cells(
    table: pd.DataFrame,
    methods: list[str],
    bold: str = "**",
    digits: int = 2,
    best: str = "max",
    order: list[str] | None = None,
) -> pd.DataFrame:
    """dataset x method cells 'mean ± std (n)', the best mean per dataset in bold; rows
    alphabetical, or in `order` when given (a study's conditions by budget or rate)."""
    rows = {}
    for dataset, group in table.groupby("dataset"):
        target = group["mean"].max() if best == "max" else group["mean"].min()
        cells = {}
        for r in group.itertuples():
            std = "" if pd.isna(r.std) else f" ± {r.std:.{digits}f}"
            text = f"{r.mean:.{digits}f}{std} ({r.n})"
            cells[r.method] = f"{bold}{text}{bold}" if np.isclose(r.mean, target) else text
        rows[dataset] = cells
    wide = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=methods).fillna("–")
    return wide if order is None else wide.reindex([d for d in order if d in wide.index])


def anchor(heading: str) -> str:
    """The link target a markdown renderer (GitHub's rule) gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def contents(lines: list[str]) -> str:
    """One line linking every top-level (`## `) section of a markdown document."""
    seen: dict[str, int] = {}
    links = []
    for line in lines:
        if line.startswith("## "):
            title = line[3:].strip()
            target = anchor(title)
            n = seen.get(target, 0)
            seen[target] = n + 1
            links.append(f"[{title.replace('`', '')}](#{target}{f'-{n}' if n else ''})")
    return "**Contents**: " + " · ".join(links) if links else ""


def fmt_p(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def fmt_x(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.2f}x"


DIFF_HEADERS = ["dataset", "method", "seeds", "diff", "95% CI", "p", "p (Holm)", "MDE"]


def difference_rows(differences: pd.DataFrame, order: list[str] | None = None) -> list[list[Any]]:
    """Table rows of analysis.differences, by dataset (alphabetical, or in `order`) and method."""
    rank = {d: i for i, d in enumerate(order or sorted(set(differences.dataset)))}
    ranked = differences.assign(_rank=differences.dataset.map(rank))
    return [
        [
            r.dataset,
            r.method,
            r.seeds,
            f"{r.diff:+.2f}{'*' if r.significant else ''}",
            "n/a" if np.isnan(r.ci_low) else f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]",
            fmt_p(r.p),
            fmt_p(r.p_holm),
            "n/a" if np.isnan(r.mde) else f"{r.mde:.2f}",
        ]
        for r in ranked.sort_values(["_rank", "method"]).itertuples()
    ]


def aggregate_headers(over: str) -> list[str]:
    return [
        "method",
        over,
        "mean diff",
        "95% interval",
        "Bonferroni interval",
        "P(improve)",
        "interval",
    ]


def aggregate_rows(aggregates: pd.DataFrame) -> list[list[Any]]:
    """One row per method of analysis.aggregates: mean, both intervals, P(improvement)."""
    return [
        [
            r.method,
            r.datasets,
            f"{r.mean:+.2f}",
            f"[{r.low:+.2f}, {r.high:+.2f}]",
            f"[{r.corrected_low:+.2f}, {r.corrected_high:+.2f}]",
            f"{r.p_improvement:.2f}",
            f"[{r.p_improvement_low:.2f}, {r.p_improvement_high:.2f}]",
        ]
        for r in aggregates.itertuples()
    ]


def aggregate_caption(over: str) -> str:
    """What the aggregate table shows; `over` names what is averaged (datasets, or a
    study's dataset · condition cells)."""
    return (
        f"Mean over {over} of the mean paired difference to `none` (points): per seed, the "
        f"difference averaged over the {over}, then its 95% t-interval over seeds (the "
        "report's one interval procedure) and the same interval Bonferroni-corrected over "
        "the methods compared (level 1 - 0.05 / methods; a claim that the aggregate differs "
        "from 0 rests on this one). Also the probability of improvement P(method > none) "
        f"averaged over the {over} (ties count one half), as in the rliable protocol: it "
        "compares every run of the method with every run of `none` on a dataset (all "
        "pairs, not by seed), and its interval, the one resampling left (stratified "
        f"bootstrap, {POI_REPLICATES:,} replicates), resamples each method's runs "
        f"independently, as rliable does; over the {over} with at least 3 seeds of both; "
        "its interval is per method."
    )


def table_section(
    title: str, caption: str, rows: Any, headers: Any = "keys", level: int = 3
) -> list[str]:
    """A titled table as the report writes every one: heading, caption (if any), table."""
    lines = [f"{'#' * level} {title}", ""]
    if caption:
        lines += [caption, ""]
    return lines + [tabulate(rows, headers=headers, tablefmt="github"), ""]
