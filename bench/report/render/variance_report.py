"""The report's section on the variance study: per source of randomness, the pooled
standard deviation of accuracy and of the paired difference to `none`, the F-intervals of
their ratios, and the cells (`variance.csv` beside it)."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from bench.report.analyse.variance import VarianceAnalysis, variance_sentence


def variance_section(analysis: VarianceAnalysis, out_dir: Path) -> list[str]:
    """The markdown of the section, and `variance.csv`."""
    analysis.per_cell.to_csv(out_dir / "variance.csv", index=False)
    source_rows = [
        [r.source, r.cells, r.df, f"{r.pooled_sd_accuracy:.2f}", f"{r.pooled_sd_diff:.2f}",
         f"{r.sign_changes} of {r.cells}"]
        for r in analysis.per_source.itertuples()
    ]  # fmt: skip
    ratio_rows = [
        [f"{r.a} / {r.b}", f"{r.ratio:.2f}", f"[{r.low:.2f}, {r.high:.2f}]"]
        for r in analysis.ratios
        if r.ratio >= 1
    ]
    pairs = len(analysis.ratios) // 2
    return [
        "## Where the variance comes from",
        "",
        f"**Finding**: {variance_sentence(analysis)}.",
        "",
        "Each source's five draws (four of the study's, and the reference's seed-0 run) with "
        "the others held at seed 0; per (dataset, method) cell the standard deviation over the "
        "draws, pooled over the cells (points; df: the pooled degrees of freedom). *flips*: "
        "cells whose difference to `none` is above 0 for one draw and below for "
        "another.",
        "",
        tabulate(
            source_rows,
            headers=[
                "source",
                "cells",
                "df",
                "sd of accuracy",
                "sd of the difference",
                "flips",
            ],
            tablefmt="github",
        ),
        "",
        f"Ratios of the pooled variances of the difference (F-intervals, Bonferroni over the "
        f"{pairs} pairs; a source moves a comparison more than another only where the "
        "interval lies above 1):",
        "",
        tabulate(ratio_rows, headers=["sources", "ratio", "interval"], tablefmt="github"),
        "",
        "Every cell: `variance.csv`.",
        "",
    ]
