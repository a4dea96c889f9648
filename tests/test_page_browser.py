"""The committed results page in a real browser (headless Chromium through Playwright):
what a reader does with it. Without a browser these tests are skipped with the command that
installs one; CI sets MIXUP_BENCH_BROWSER_TESTS=require, so there they fail instead."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report.render.browser import browser_missing, open_page

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "reports" / "index.html"
POINTS = '#figure svg path[aria-roledescription="point"]'

missing = browser_missing()
if missing and os.environ.get("MIXUP_BENCH_BROWSER_TESTS") == "require":
    raise RuntimeError(f"MIXUP_BENCH_BROWSER_TESTS=require, but {missing}")
pytestmark = pytest.mark.skipif(missing is not None, reason=missing or "")


@pytest.fixture(scope="module")
def opened():
    with open_page(PAGE) as (page, messages):
        yield page, messages


def point_labels(page) -> list[str]:
    return page.locator(POINTS).evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")


def test_the_page_loads_without_console_errors(opened):
    _, messages = opened
    assert [m for m in messages if m[0] in ("error", "pageerror")] == []


def test_the_verdict_table_has_one_row_per_claim(opened):
    page, _ = opened
    claims = pd.read_csv(REPO / "reports" / "claims.csv").claim.unique()
    rows = page.locator("#verdicts tbody tr")
    assert rows.count() == len(claims)
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.claim)")) == sorted(claims)


def test_filtering_to_one_method_leaves_only_its_points(opened):
    page, _ = opened
    before = point_labels(page)
    assert any("method: word;" in label for label in before)
    page.select_option('.vega-bindings select[name="method_filter"]', "amplify")
    page.wait_for_timeout(300)
    after = point_labels(page)
    page.select_option('.vega-bindings select[name="method_filter"]', "all")
    assert 0 < len(after) < len(before)
    assert all("method: amplify;" in label for label in after)


def test_filtering_to_one_dataset_shows_its_per_dataset_differences(opened):
    page, _ = opened
    page.select_option('.vega-bindings select[name="dataset_filter"]', "rt-polarity")
    page.wait_for_timeout(300)
    labels = point_labels(page)
    page.select_option('.vega-bindings select[name="dataset_filter"]', index=0)
    assert labels and all("dataset: rt-polarity;" in label for label in labels)


def test_hovering_a_point_shows_its_interval(opened):
    page, _ = opened
    point = page.locator(POINTS).first
    point.scroll_into_view_if_needed()
    point.hover()
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5000)
    text = tooltip.inner_text()
    assert "interval" in text and "[" in text and "MDE" in text and "seeds" in text
    page.mouse.move(0, 0)


def test_a_run_rows_link_points_to_a_record_that_exists(opened):
    page, _ = opened
    page.fill("#runs input.gridjs-search-input", "amplify")
    page.wait_for_timeout(500)
    link = page.locator("#runs a.record").first
    href = link.get_attribute("href")
    row = link.locator("xpath=ancestor::tr").inner_text()
    page.fill("#runs input.gridjs-search-input", "")
    assert "amplify" in row
    assert href and (PAGE.parent / href).resolve().is_file(), href


def test_a_screenshot_at_1280x800_is_not_blank(opened):
    from matplotlib.image import imread

    page, _ = opened
    page.evaluate("window.scrollTo(0, 0)")
    pixels = imread(io.BytesIO(page.screenshot()), format="png")
    assert pixels.shape[:2] == (800, 1280)
    grey = pixels[..., :3].mean(axis=2)
    assert grey.std() > 0.05  # text, a table and colours, not one flat colour
    assert len(np.unique((grey * 255).astype(int))) > 20


def test_opening_a_claim_lists_every_effect_it_was_decided_on(opened):
    page, _ = opened
    claims = pd.read_csv(REPO / "reports" / "claims.csv")
    page.click('#verdicts a[href="#claim-C1"]')
    details = page.locator("#claim-C1")
    assert details.evaluate("d => d.open")
    rows = details.locator("tbody tr")
    assert rows.count() == (claims.claim == "C1").sum()
    details.evaluate("d => { d.open = false; }")


def test_the_tuned_figure_draws_one_line_per_dataset_and_method(opened):
    page, _ = opened
    curves = pd.read_csv(REPO / "reports" / "tuned_curves.csv")
    lines = page.locator('#tuned-figure svg path[aria-roledescription="line mark"]')
    assert lines.count() == len(curves.groupby(["dataset", "method"]))
