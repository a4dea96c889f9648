"""Run records: one JSON file per run, written atomically, read back, resumed, tabulated."""

from __future__ import annotations

import base64
import functools
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.config import RunSpec
from bench.errors import UserError

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed", "diverged", "oom")
PACKAGES = ("torch", "transformers", "datasets", "numpy", "scikit-learn", "mixup-bench")


def encode_ints(values: np.ndarray) -> str:
    """Compact base64 of an int16 array (per-example predictions for paired tests)."""
    return base64.b64encode(np.asarray(values, dtype="<i2").tobytes()).decode()


def decode_ints(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i2").astype(np.int64)


def encode_floats(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f2").tobytes()).decode()


def decode_floats(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float64)


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
    import shlex  # noqa: PLC0415
    import sys  # noqa: PLC0415

    text = "python run_bench.py " + shlex.join(sys.argv[1:])
    return text.replace(str(Path.home()), "~")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Store:
    """The results folder: results/runs/<dataset>/<method>/<seed>-<hash>.json."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def path_for(self, spec: RunSpec) -> Path:
        return self.root / "runs" / spec.dataset / spec.method / f"seed{spec.seed}-{spec.hash}.json"

    def check_writable(self) -> None:
        """Fail early, before any training, when the results folder cannot be written."""
        try:
            (self.root / "runs").mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        except OSError as exc:
            raise UserError(
                f"results folder {self.root} cannot be written ({exc.strerror}); "
                f"choose another with --results-dir"
            ) from None

    def record_paths(self) -> list[Path]:
        """Record files; temporary files of an interrupted write (dot-files) are ignored."""
        return sorted(
            p for p in (self.root / "runs").glob("**/*.json") if not p.name.startswith(".")
        )

    def status(self, spec: RunSpec) -> str | None:
        """The status of the spec's record, or None when it has no readable record."""
        path = self.path_for(spec)
        record = read_record(path, warn=True) if path.is_file() else None
        return None if record is None else record.get("status")

    # ------------------------------------------------------------ claims (concurrent sweeps)

    def lock_path(self, spec: RunSpec) -> Path:
        return self.path_for(spec).with_suffix(".lock")

    def claim(self, spec: RunSpec) -> bool:
        """Take the spec for this process; False when a live process (maybe another sweep on
        the same results folder) holds it. A lock left by a dead process is taken over."""
        lock = self.lock_path(spec)
        lock.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if _lock_is_live(lock):
                    return False
                lock.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump({"pid": os.getpid(), "host": platform.node()}, handle)
            return True
        return False

    def release(self, spec: RunSpec) -> None:
        self.lock_path(spec).unlink(missing_ok=True)

    def exists(self, spec: RunSpec, statuses: tuple[str, ...] = ("ok",)) -> bool:
        """True when a readable record with one of `statuses` exists for this spec."""
        path = self.path_for(spec)
        if not path.is_file():
            return False
        record = read_record(path)
        return record is not None and record.get("status") in statuses

    def write(self, spec: RunSpec, record: dict[str, Any]) -> Path:
        """Write atomically: a temporary file in the same folder, then rename."""
        path = self.path_for(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def records(self, warn: bool = True) -> Iterator[dict[str, Any]]:
        """Every readable record; unreadable ones are reported with their path and skipped."""
        for path in self.record_paths():
            record = read_record(path, warn=warn)
            if record is not None:
                yield record

    def scan(self) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """(readable records, [(path, why skipped)]) without printing."""
        good, skipped = [], []
        for path in self.record_paths():
            record = read_record(path)
            if record is None:
                skipped.append((str(path.relative_to(self.root)), skip_reason(path)))
            else:
                good.append(record)
        return good, skipped


def read_record(path: Path, warn: bool = False) -> dict[str, Any] | None:
    """A record, or None (with a warning) when it is corrupt or of an unknown schema."""
    import sys  # noqa: PLC0415

    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        if warn:
            print(f"warning: skipping unreadable record {path}: {exc}", file=sys.stderr)
        return None
    if not isinstance(record, dict) or record.get("schema_version") not in (SCHEMA_VERSION,):
        if warn:
            got = record.get("schema_version") if isinstance(record, dict) else None
            print(
                f"warning: skipping record {path} of unknown schema version {got!r}",
                file=sys.stderr,
            )
        return None
    return record


def _lock_is_live(lock: Path) -> bool:
    """A lock is live when its process runs (same host) or it is on another host."""
    try:
        owner = json.loads(lock.read_text())
        pid, host = int(owner["pid"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False  # unreadable: a process died while writing it
    if host != platform.node():
        return True  # cannot check another machine's processes
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def skip_reason(path: Path) -> str:
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        return f"unreadable JSON ({exc.__class__.__name__})"
    version = record.get("schema_version") if isinstance(record, dict) else None
    return f"unknown schema version {version!r} (this suite reads {SCHEMA_VERSION})"


def make_record(
    spec: RunSpec,
    status: str,
    result: dict[str, Any] | None,
    started: str,
    error: str | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """Assemble the JSON record of one run (result is None for a failed run)."""
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "spec": spec.to_dict(),
        "spec_hash": spec.hash,
        "profile": profile,
        "status": status,
        "error": error,
        "provenance": {
            "packages": package_versions(),
            "git_commit": git_commit(),
            "command": invocation(),
            "started": started,
            "finished": now(),
            "platform": platform.platform(),
        },
    }
    if result is not None:
        record["metrics"] = result["metrics"]
        record["cost"] = result["cost"]
        record["mixing"] = result["mixing"]
        record["data"] = result["data"]
        record["model"] = result["model"]
        record["device"] = result["device"]
        record["predictions"] = {
            "test_pred": encode_ints(result["predictions"]),
            "test_label": encode_ints(result["test_labels"]),
            "test_confidence": encode_floats(result["confidences"]),
        }
    return record


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per record with the columns the summary and the report use."""
    rows = []
    for r in records:
        spec = r["spec"]
        test = r.get("metrics", {}).get("test", {})
        cost = r.get("cost", {})
        rows.append(
            {
                "dataset": spec["dataset"],
                "method": spec["method"],
                "seed": spec["seed"],
                "model": spec["model"],
                "status": r["status"],
                "spec_hash": r["spec_hash"],
                "accuracy": test.get("accuracy"),
                "macro_f1": test.get("macro_f1"),
                "nll": test.get("nll"),
                "ece": test.get("ece"),
                "val_accuracy": r.get("metrics", {}).get("validation", {}).get("accuracy"),
                "train_seconds": cost.get("train_seconds"),
                "median_step_seconds": cost.get("median_step_seconds"),
                "examples_per_second": cost.get("examples_per_second"),
                "peak_memory_mb": cost.get("peak_memory_mb"),
                "peak_memory_kind": cost.get("peak_memory_kind"),
                "device": r.get("device", {}).get("name"),
                "mean_one_minus_lambda": r.get("mixing", {}).get("mean_one_minus_lambda"),
                "error": r.get("error"),
            }
        )
    return pd.DataFrame(rows)


git_commit()  # at import: a commit made while a sweep runs must not be attributed to it
