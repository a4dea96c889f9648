"""The dataset registry: packaged (offline), hub and local-folder sources under one name
each. The sources depend on `bench.run.datasets.base` only; this module sits above them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import Registry, UserError
from bench.run.datasets import hub, local, packaged
from bench.run.datasets.base import DatasetEntry, TextDataset


@dataclass
class DatasetRegistry:
    entries: Registry[DatasetEntry] = field(default_factory=lambda: Registry("dataset"))

    def add(self, entry: DatasetEntry) -> None:
        if entry.name in self.entries:
            raise UserError(
                f"dataset name {entry.name!r} is registered twice "
                f"({self.entries[entry.name].kind} and {entry.kind})"
            )
        self.entries.add(entry.name, entry)

    def get(self, name: str) -> DatasetEntry:
        return self.entries.lookup(name)


def build_registry(data_dir: str | os.PathLike | None = None) -> DatasetRegistry:
    """All packaged and hub datasets, plus the local folders under `data_dir`."""
    registry = DatasetRegistry()
    for entry in packaged.entries() + hub.entries():
        registry.add(entry)
    if data_dir is not None:
        for entry in local.entries(Path(data_dir)):
            registry.add(entry)
    return registry


_cache: dict[tuple[str, str, str], TextDataset] = {}


def load_dataset_cached(entry: DatasetEntry) -> TextDataset:
    """Load once per process (a sweep runs many methods and seeds on the same data)."""
    key = (entry.kind, entry.name, entry.description)  # local folders: description has the path
    if key not in _cache:
        _cache[key] = entry.loader()
    return _cache[key]
