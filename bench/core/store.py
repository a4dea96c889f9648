"""Run records on disk: one JSON file per run, written atomically, read back, claimed with
lock files so that concurrent sweeps never train the same spec twice. What a record holds
is defined in bench.core.records."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.core.config import RunSpec
from bench.core.errors import UserError
from bench.core.records import RunRecord, RunStatus, UnreadableRecord


@dataclass
class Store:
    """The results folder: results/runs/<dataset>/<method>/<seed>-<hash>.json."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def path_for(self, spec: RunSpec) -> Path:
        return self.root / "runs" / spec.dataset / spec.method / f"seed{spec.seed}-{spec.hash}.json"

    def check_writable(self) -> None:
        """Fail early, before any training, when the results folder cannot be written. The
        probe leaves nothing behind: folders it made are removed again (the first record
        makes them), so a command that fails later leaves no empty results folder."""
        runs = self.root / "runs"
        made = [p for p in (runs, *runs.parents) if not p.exists()]
        try:
            runs.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=runs, prefix=".probe-"):
                pass
        except OSError as exc:
            raise UserError(
                f"results folder {self.root} cannot be written ({exc.strerror}); "
                f"choose another with --results-dir"
            ) from None
        finally:
            for folder in made:  # innermost first
                if folder.is_dir():
                    folder.rmdir()

    def record_paths(self) -> list[Path]:
        """Record files; temporary files of an interrupted write (dot-files) are ignored."""
        return sorted(
            p for p in (self.root / "runs").glob("**/*.json") if not p.name.startswith(".")
        )

    def status(self, spec: RunSpec) -> RunStatus | None:
        """The status of the spec's record, or None when it has no readable record."""
        path = self.path_for(spec)
        record = read_record(path, warn=True) if path.is_file() else None
        return None if record is None else record.status

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

    def finished(self, spec: RunSpec) -> bool:
        """True when a readable record of this spec says ok."""
        path = self.path_for(spec)
        if not path.is_file():
            return False
        record = read_record(path)
        return record is not None and record.status is RunStatus.OK

    def write(self, record: RunRecord) -> Path:
        """Write atomically: a temporary file in the same folder, then rename."""
        path = self.path_for(record.spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(record.to_json(), handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def records(self, warn: bool = True) -> Iterator[RunRecord]:
        """Every readable record; unreadable ones are reported with their path and skipped."""
        for path in self.record_paths():
            record = read_record(path, warn=warn)
            if record is not None:
                yield record

    def scan(self) -> tuple[list[RunRecord], list[tuple[str, str]]]:
        """(readable records, [(path, why skipped)]) without printing."""
        good, skipped = [], []
        for path in self.record_paths():
            try:
                good.append(load_record(path))
            except UnreadableRecord as exc:
                skipped.append((str(path.relative_to(self.root)), str(exc)))
        return good, skipped


def load_record(path: Path) -> RunRecord:
    """The record in `path`; UnreadableRecord (saying why) when it cannot be read."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UnreadableRecord(f"unreadable JSON ({exc.__class__.__name__})") from None
    return RunRecord.from_json(data)


def read_record(path: Path, warn: bool = False) -> RunRecord | None:
    """The record in `path`, or None (with a warning naming the file) when unreadable."""
    try:
        return load_record(path)
    except UnreadableRecord as exc:
        if warn:
            print(f"warning: skipping record {path}: {exc}", file=sys.stderr)
        return None


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
