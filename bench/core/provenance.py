"""Provenance of a run: package versions, the suite's commit, the command, the clock."""

from __future__ import annotations

import functools
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("torch", "transformers", "datasets", "numpy", "scikit-learn", "mixup-bench")


def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = platform.python_version()
    return found


@functools.cache
def git_commit() -> str:
    """The commit of the suite's checkout (with +dirty), or 'unknown'. Read once, when the
    process starts (see the end of this module), so that it names the code that runs."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty.strip() else "")


def invocation() -> str:
    """The command that started this process, with the home folder shown as ~."""
    text = "python run_bench.py " + shlex.join(sys.argv[1:])
    return text.replace(str(Path.home()), "~")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def platform_name() -> str:
    return platform.platform()


git_commit()  # at import: a commit made while a sweep runs must not be attributed to it
