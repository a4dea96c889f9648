"""The suite's cache folder on this machine: $MIXUP_BENCH_CACHE, else ~/.cache/mixup-bench
(scripts/setup.sh uses the same default for the source archives it downloads)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where downloaded archives, extra model weights and the page's script bundle are kept."""
    return Path(os.environ.get("MIXUP_BENCH_CACHE", "~/.cache/mixup-bench")).expanduser()
