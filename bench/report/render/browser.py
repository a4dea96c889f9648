"""Headless Chromium for the results page: the browser tests and the README's screenshot.
Playwright drives the system's Chromium (Debian's `chromium` package) through
`executable_path`, since Playwright's own browser download needs the network."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INSTALL_HINT = (
    "apt-get install -y chromium && pip install -e '.[test]' "
    "(or set MIXUP_BENCH_CHROMIUM to a Chromium binary)"
)
# no first-run work and no background connections: this machine's network is closed
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def find_chromium() -> str | None:
    """The Chromium binary: $MIXUP_BENCH_CHROMIUM, else chromium on the PATH."""
    chosen = os.environ.get("MIXUP_BENCH_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_missing() -> str | None:
    """Why the browser cannot start here (with how to fix it), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright is not installed; install it and a browser: {INSTALL_HINT}"
    if find_chromium() is None:
        return f"no Chromium found; install one: {INSTALL_HINT}"
    return None


@contextmanager
def open_page(path: Path, ready: str = "body[data-ready=yes]") -> Iterator[tuple[Any, list]]:
    """The page at `path` opened from the file system in headless Chromium at 1280x800,
    once `ready` matches; yields (page, console messages and page errors)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            messages: list[tuple[str, str]] = []
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
            page.goto(Path(path).resolve().as_uri())
            page.wait_for_selector(ready, timeout=60_000)
            yield page, messages
        finally:
            browser.close()


def screenshot(page_path: Path, out: Path) -> Path:
    """A 1280x800 screenshot of the page's first screen (the README shows it)."""
    reason = browser_missing()
    if reason:
        raise SystemExit(reason)
    with open_page(page_path) as (page, _):
        page.screenshot(path=str(out))
    return out
