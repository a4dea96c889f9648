"""Markdown pieces shared by the main report and the study sections: cells, numbers,
the difference-to-none rows and the claims they support."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bench.stats import ALPHA


def wide_cells(
    table: pd.DataFrame, methods: list[str], bold: str = "**", digits: int = 2, best: str = "max"
) -> pd.DataFrame:
    """dataset x method cells 'mean ± std (n)', the best mean per dataset in bold."""
    rows = {}
    for dataset, group in table.groupby("dataset"):
        target = group["mean"].max() if best == "max" else group["mean"].min()
        cells = {}
        for r in group.itertuples():
            std = "" if pd.isna(r.std) else f" ± {r.std:.{digits}f}"
            text = f"{r.mean:.{digits}f}{std} ({r.n})"
            cells[r.method] = f"{bold}{text}{bold}" if np.isclose(r.mean, target) else text
        rows[dataset] = cells
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=methods).fillna("–")


def fmt_p(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def fmt_x(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.2f}x"


DIFF_HEADERS = ["dataset", "method", "seeds", "diff", "95% CI", "p", "p (Holm)", "MDE"]


def difference_rows(differences: pd.DataFrame) -> list[list[Any]]:
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
        for r in differences.sort_values(["dataset", "method"]).itertuples()
    ]


def per_dataset_claims(d: pd.DataFrame, cell: str = "dataset", metric: str = "points") -> list[str]:
    """Differences to none that survive Holm correction, and nothing else. `cell` names
    what a row compares on (a dataset, or a dataset under a study's condition)."""
    out = []
    n = int(d.p.notna().sum())
    untested = len(d) - n
    if untested:
        out.append(
            f"- {untested} of {len(d)} comparisons have no p-value (one seed, or the same "
            "difference in every seed: the t statistic is undefined); they support no claim."
        )
    significant = d[d.significant]
    if significant.empty:
        out.append(
            f"- No method differs from `none` on any {cell} after Holm correction over the "
            f"{n} tested comparisons of the difference table (alpha {ALPHA})."
        )
        return out
    for r in significant.itertuples():
        side = "above" if r.diff > 0 else "below"
        out.append(
            f"- `{r.method}` is {side} `none` on {r.dataset}: {r.diff:+.2f} {metric} "
            f"(95% CI [{r.ci_low:+.2f}, {r.ci_high:+.2f}], Holm p = {fmt_p(r.p_holm)})."
        )
    out.append(f"- Every other difference is not significant after Holm correction over {n} tests.")
    return out
