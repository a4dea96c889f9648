"""Write reports/index.png, the README's picture of the results page, from reports/index.html
in headless Chromium: `python scripts/screenshot_page.py [PAGE [PNG]]`."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.report.render.browser import screenshot

if __name__ == "__main__":
    page = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("reports/index.html")
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else page.with_suffix(".png")
    print(screenshot(page, out))
