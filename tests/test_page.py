"""The results page (reports/index.html): self-contained, small, reproducible, and showing
the report's own numbers. The browser tests are in test_page_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from bench.core.store import Store
from bench.report.render import page as page_module
from bench.report.render.page import ALL_DATASETS, PAGE, SIZE_LIMIT, write_page
from bench.report.render.report import write_report

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "reports" / PAGE


def embedded(html: str, element_id: str) -> dict:
    """The JSON of the page's <script type="application/json" id=...> element."""
    pattern = rf'<script type="application/json" id="{element_id}">(.*?)</script>'
    found = re.search(pattern, html, re.S)
    assert found, f"no {element_id} element"
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def small_page(tmp_path_factory) -> Path:
    """The page of a small results folder (two methods, two datasets, three seeds)."""
    from tests.test_report import write_acc_records

    store = write_acc_records(Store(tmp_path_factory.mktemp("page") / "results"))
    out = store.root.parent / "reports"
    write_report(store, out)
    return out / PAGE


def test_the_page_is_self_contained_and_under_its_size_limit(small_page):
    html = small_page.read_text()
    assert len(html.encode()) < SIZE_LIMIT
    assert not [tag for tag in re.findall(r"<script\b([^>]*)>", html) if "src=" in tag]
    markup = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", "", html, flags=re.S)
    assert not re.search(r"(src|href)=\"(https?:)?//", markup), "an external resource"
    assert not re.search(r"<link\b", markup)
    assert "vegaEmbed" in html and "gridjs" in html  # the libraries are inlined


def test_the_page_regenerates_identically(small_page, monkeypatch):
    first = small_page.read_bytes()
    captured = {}
    monkeypatch.setattr(
        "bench.report.render.report.write_page",
        lambda inputs, out: captured.setdefault("path", write_page(inputs, out)),
    )
    write_report(Store(small_page.parent.parent / "results"), small_page.parent)
    assert captured["path"].read_bytes() == first


def test_the_page_shows_the_reports_numbers(small_page):
    data = embedded(small_page.read_text(), "page-data")
    claims = pd.read_csv(small_page.parent / "claims.csv")
    shown = [[c["key"], *e[:6]] for c in data["claims"] for e in c["effects"]]
    assert len(shown) == len(claims)
    for row, (_, expected) in zip(shown, claims.iterrows(), strict=True):
        assert row[0] == expected.claim and row[1] == expected.regime
        assert row[3:6] == pytest.approx([expected.effect, expected.low, expected.high], abs=1e-6)


def test_an_oversized_page_is_refused_with_its_size(small_page, monkeypatch):
    monkeypatch.setattr(page_module, "SIZE_LIMIT", 1000)
    with pytest.raises(RuntimeError, match="over its 1,000 limit"):
        write_report(Store(small_page.parent.parent / "results"), small_page.parent / "big")


# ---------------------------------------------------------------- the committed page


@pytest.fixture(scope="module")
def committed() -> dict:
    if not COMMITTED.is_file():
        pytest.fail(f"{COMMITTED} is missing: run python run_bench.py --report")
    return embedded(COMMITTED.read_text(), "page-data")


def test_the_committed_page_matches_the_committed_claims_csv(committed):
    claims = pd.read_csv(REPO / "reports" / "claims.csv")
    shown = pd.DataFrame(
        [[c["key"], *e[:5]] for c in committed["claims"] for e in c["effects"]],
        columns=["claim", "regime", "comparison", "effect", "low", "high"],
    )
    assert len(shown) == len(claims)
    pd.testing.assert_frame_equal(
        shown, claims[shown.columns], check_exact=False, atol=1e-6, check_dtype=False
    )


@pytest.mark.parametrize("profile", ["quick", "quick-fp32"])
def test_the_committed_figure_shows_the_aggregate_and_difference_csvs(committed, profile):
    regime = f"reference ({profile}, minilm-l6)"
    points = pd.DataFrame(e for e in committed["effects"] if e["regime"] == regime)
    aggregate = pd.read_csv(REPO / "reports" / f"aggregate-{profile}-minilm-l6.csv")
    shown = points[points.dataset == ALL_DATASETS].set_index("method")
    for r in aggregate.itertuples():
        assert shown.loc[r.method, ["effect", "low", "high", "mde"]].tolist() == pytest.approx(
            [r.mean, r.corrected_low, r.corrected_high, r.mde], abs=1e-6
        )
    differences = pd.read_csv(REPO / "reports" / f"difference_to_none-{profile}-minilm-l6.csv")
    per_dataset = points[points.dataset != ALL_DATASETS].set_index(["dataset", "method"])
    for r in differences.dropna(subset=["p"]).itertuples():
        assert per_dataset.loc[(r.dataset, r.method), ["effect", "low", "high"]].tolist() == (
            pytest.approx([r.diff, r.ci_low, r.ci_high], abs=1e-6)
        )


def test_every_committed_run_row_links_to_a_record_that_exists(committed):
    rows = committed["runs"]["rows"]
    records = list((REPO / "results" / "runs").glob("**/*.json"))
    assert len(rows) == len([p for p in records if not p.name.startswith(".")])
    for row in rows:
        assert (COMMITTED.parent / row[-1]).resolve().is_file(), row[-1]


def test_the_vega_bundle_is_kept_on_disk_and_read_back_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXUP_BENCH_CACHE", str(tmp_path))
    made = page_module.vega_bundle.__wrapped__()
    (kept,) = tmp_path.glob("vega-bundle-*.js")
    assert kept.read_text() == made
    kept.write_text(made + "// read from the cache")
    assert page_module.vega_bundle.__wrapped__().endswith("// read from the cache")


def test_the_committed_tuned_figure_shows_the_tuned_curves_csv(committed):
    curves = pd.read_csv(REPO / "reports" / "tuned_curves.csv")
    shown = pd.DataFrame(committed["tuned_curves"])
    assert len(shown) == len(curves) > 0
    merged = shown.merge(curves, on=["dataset", "method", "budget"], suffixes=("", "_csv"))
    assert len(merged) == len(curves)
    assert merged["mean"].tolist() == pytest.approx(merged.mean_csv.tolist(), abs=1e-6)
    assert (merged.high - merged.low).tolist() == pytest.approx((2 * merged.sd).tolist(), abs=1e-5)
