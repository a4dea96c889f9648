"""The results page, `reports/index.html`: one self-contained file that opens from the file
system with no server and no network, built from the same analysis objects as REPORT.md
(no second computation). Vega-Lite (the chart written with Altair, its JavaScript from
vl-convert's bundle) draws the interactive effect-vs-regime figure; Grid.js (vendored in
`static/`, MIT) sorts and searches the tables."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from bench.core.cache import cache_dir
from bench.core.store import Store
from bench.report.analyse.analysis import BlockAnalysis
from bench.report.analyse.claims import Claim
from bench.report.analyse.study_analysis import StudyAnalysis
from bench.report.analyse.tuned import TunedAnalysis
from bench.report.render.report_answers import profiles, study_profile, study_regime

PAGE = "index.html"
ALL_DATASETS = "all datasets (aggregate)"  # the figure's rows that aggregate over datasets
SIZE_LIMIT = 2_000_000  # bytes: the page must stay small enough to mail or commit
STATIC = Path(__file__).parent / "static"
DIGITS = 6  # decimals kept in the page's data (the CSVs keep full precision)

RUN_COLUMNS = [
    "dataset",
    "method",
    "seed",
    "regime",
    "accuracy %",
    "macro-F1 %",
    "ECE %",
    "step s",
    "status",
    "record",
]


@dataclass
class PageInputs:
    """Everything the page shows, as the report computed it."""

    claims: list[Claim]
    effects: pd.DataFrame  # regime_effects: Figure 1's rows
    blocks: list[tuple[str, BlockAnalysis]]  # (regime name, analysis) of the main blocks
    studies: list[StudyAnalysis]
    frame: pd.DataFrame  # records_frame of every record
    store: Store
    tuned: TunedAnalysis | None = None  # the tuned study, where it has trials


def number(value: Any) -> float | int | str | None:
    """A JSON-safe value: floats rounded to DIGITS decimals, NaN as null."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    value = float(value)
    return None if math.isnan(value) else round(value, DIGITS)


def claim_rows(claims: list[Claim]) -> list[dict[str, Any]]:
    """Each claim with its verdict, why, and every effect it was decided on."""
    return [
        {
            "key": c.key,
            "text": c.text,
            "verdict": c.verdict,
            "why": c.reason(),
            "effects": [
                [e.regime, e.what, number(e.mean), number(e.low), number(e.high), number(e.mde)]
                + [e.seeds, e.side]
                for e in c.effects
            ],
        }
        for c in claims
    ]


def figure_rows(inputs: PageInputs) -> list[dict[str, Any]]:
    """The figure's points: each regime's aggregate (Figure 1 of the report) and each
    per-dataset difference to `none` behind it (the difference tables)."""
    rows = [
        {
            "regime": r.regime,
            "profile": r.profile,
            "method": r.method,
            "dataset": ALL_DATASETS,
            "cell": "",
            "comparison": f"{r.method} - none, accuracy points",
            "effect": number(r.mean),
            "low": number(r.low),
            "high": number(r.high),
            "mde": number(r.mde),
            "seeds": int(r.seeds),
            "interval": "95% t over seeds, Bonferroni over the regime's methods",
        }
        for r in inputs.effects.itertuples()
    ]
    tables = [(name, profiles(a.ok), a.differences) for name, a in inputs.blocks] + [
        (study_regime(s), study_profile(s), s.differences) for s in inputs.studies
    ]
    for regime, profile, differences in tables:
        if differences.empty:  # one method alone: nothing compared with `none`
            continue
        for r in differences.dropna(subset=["p"]).itertuples():
            dataset, _, cell = str(r.dataset).partition(" · ")  # a study's dataset · condition
            rows.append(
                {
                    "regime": regime,
                    "profile": profile,
                    "method": r.method,
                    "dataset": dataset,
                    "cell": cell,
                    "comparison": f"{r.method} - none, accuracy points",
                    "effect": number(r.diff),
                    "low": number(r.ci_low),
                    "high": number(r.ci_high),
                    "mde": number(r.mde),
                    "seeds": int(r.seeds),
                    "interval": "95% t over seeds, this dataset alone (uncorrected; "
                    f"Holm p = {r.p_holm:.3g})"
                    if not pd.isna(r.p_holm)
                    else "95% t over seeds, this dataset alone (uncorrected)",
                }
            )
    return rows


def dataset_tables(inputs: PageInputs) -> list[dict[str, Any]]:
    """The per-dataset tables of every main block and study, as the report's CSVs hold them."""
    out = []
    for name, a in inputs.blocks:
        acc = a.accuracy
        out.append(table(f"Test accuracy (%), {name}", acc[["dataset", "method", "mean", "std"]]))
        out.append(table(f"Difference to none (points), {name}", difference_columns(a.differences)))
    for s in inputs.studies:
        title = f"Difference to none (points), study {study_regime(s)}"
        out.append(table(title, difference_columns(s.differences)))
    if inputs.tuned is not None:
        out.append(table("Tuned study: trials per dataset and method", inputs.tuned.trials))
    return [t for t in out if t["rows"]]


def difference_columns(differences: pd.DataFrame) -> pd.DataFrame:
    keep = ["dataset", "method", "seeds", "diff", "ci_low", "ci_high", "p_holm", "mde"]
    if differences.empty or "p" not in differences:
        return pd.DataFrame(columns=keep)
    return differences.dropna(subset=["p"])[keep]


def table(title: str, frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "title": title,
        "columns": list(frame.columns),
        "rows": [[number(v) for v in row] for row in frame.itertuples(index=False)],
    }


def run_rows(inputs: PageInputs, out_dir: Path) -> list[list[Any]]:
    """One row per record: identity, regime, test metrics, step time, status, and the
    record file's path relative to the page."""
    rows = []
    for r in inputs.frame.sort_values(["dataset", "method", "seed"], kind="stable").itertuples():
        spec = r.record.spec
        regime = (
            f"{r.study}: {spec.condition}" if r.study else f"reference ({r.profile}, {r.model})"
        )
        path = inputs.store.path_for(spec)
        rows.append(
            [r.dataset, r.method, int(r.seed), regime]
            + [number(100 * getattr(r, m, float("nan"))) for m in ("accuracy", "macro_f1", "ece")]
            + [number(getattr(r, "median_step_seconds", float("nan"))), r.status]
            + [Path(os.path.relpath(path, out_dir)).as_posix()]
        )
    return rows


def page_data(inputs: PageInputs, out_dir: Path) -> dict[str, Any]:
    """Everything the page shows, JSON-ready (the browser tests and the CSV test read it)."""
    return {
        "claims": claim_rows(inputs.claims),
        "effects": figure_rows(inputs),
        "tables": dataset_tables(inputs),
        "runs": {"columns": RUN_COLUMNS, "rows": run_rows(inputs, out_dir)},
        "tuned_curves": tuned_curve_rows(inputs.tuned),
    }


def tuned_curve_rows(tuned: TunedAnalysis | None) -> list[dict[str, Any]]:
    """The expected-maximum validation curves of the tuned study, with their one-sd band."""
    if tuned is None or tuned.curves.empty:
        return []
    return [
        {
            "dataset": r.dataset,
            "method": r.method,
            "budget": int(r.budget),
            "mean": number(r.mean),
            "low": number(r.mean - r.sd),
            "high": number(r.mean + r.sd),
        }
        for r in tuned.curves.itertuples()
    ]


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script, for the Vega-Lite version Altair writes.
    Bundling takes about 2 s, so the result is kept on disk per vl-convert and Vega-Lite
    version (under $MIXUP_BENCH_CACHE, default ~/.cache/mixup-bench)."""
    import altair as alt
    import vl_convert

    version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    kept = cache_dir() / f"vega-bundle-{metadata.version('vl-convert-python')}-vl{version}.js"
    if kept.is_file():
        return kept.read_text()
    bundle = vl_convert.javascript_bundle(vl_version=version)
    try:  # a cache only: a folder that cannot be written costs the 2 s again next time
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(bundle)
        partial.replace(kept)
    except OSError:
        pass
    return bundle


def script_json(value: Any) -> str:
    """JSON to inline in a <script> element: `</` written as `<\\/` (the same JSON)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")


def script_text(code: str) -> str:
    """JavaScript to inline in a <script> element; refuses code that would end it early."""
    if "</script" in code.lower():
        raise ValueError("inlined JavaScript contains '</script': it would end the element")
    return code


def write_page(inputs: PageInputs, out_dir: Path, report_name: str = "REPORT.md") -> Path:
    """Write `index.html` beside the report; fails loudly if it outgrows SIZE_LIMIT.
    (Altair and Jinja load here, not at import: a sweep's processes never need them.)"""
    import jinja2

    from bench.report.render.page_chart import effect_chart, expected_max_chart

    data = page_data(inputs, out_dir)
    datasets = sorted({row["dataset"] for row in data["effects"]} - {ALL_DATASETS})
    spec = effect_chart(
        list(dict.fromkeys(row["regime"] for row in data["effects"])),
        list(dict.fromkeys(row["method"] for row in data["effects"])),
        datasets,
        ALL_DATASETS,
    ).to_dict()
    tuned_spec = (
        expected_max_chart(sorted({row["method"] for row in data["tuned_curves"]})).to_dict()
        if data["tuned_curves"]
        else None
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(STATIC), autoescape=True, keep_trailing_newline=True
    )
    html = env.get_template("page.html.j2").render(
        data_json=script_json(data),
        spec_json=script_json(spec),
        tuned_spec_json=script_json(tuned_spec),
        vega_js=script_text(vega_bundle()),
        grid_js=script_text((STATIC / "gridjs.umd.js").read_text()),
        grid_css=(STATIC / "gridjs-mermaid.min.css").read_text(),
        claims=data["claims"],
        report_name=report_name,
        records=len(inputs.frame),
        tuned=bool(data["tuned_curves"]),
    )
    size = len(html.encode())
    if size > SIZE_LIMIT:
        raise RuntimeError(f"{PAGE} would be {size:,} bytes, over its {SIZE_LIMIT:,} limit")
    path = out_dir / PAGE
    path.write_text(html)
    return path
