"""mixup-bench: a fair benchmark of mixup augmentation for transformer text classifiers.

The folders are the architecture: `core` (settings, records, store, studies) imports
nothing else of bench; `api` (the method API and catalogue) and `run` (one run) build on
it; `sweep` runs many; `report/analyse` and `report/render` read records only; `cli` ties
them together (tests/test_layout.py enforces the seams)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings

__version__ = "0.1.0"

# The seams: each package of bench and the packages it may import (besides itself).
# tests/test_layout.py maps every import edge onto them and fails on any other.
SEAMS: dict[str, tuple[str, ...]] = {
    "core": (),
    "api": ("core",),
    "run": ("core", "api"),
    "sweep": ("core", "api", "run"),
    "report.analyse": ("core",),
    "report.render": ("core", "report.analyse"),
    "tune": ("core", "api", "run", "sweep"),
    "cli": ("core", "api", "run", "sweep", "tune", "report.analyse", "report.render"),
}

# modules that method plugins imported before the folders: old name -> new home
MOVED = {"bench.method_api": "bench.api.method_api", "bench.registry": "bench.api.registry"}


class _MovedModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as its new module (the same object, so one registry),
    with a DeprecationWarning naming the import to use."""

    def find_spec(self, name, path=None, target=None):
        if name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        warnings.warn(
            f"{spec.name} moved: import from bench.api (e.g. `from bench.api import "
            "MixupMethod, Site, register`)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module) -> None:
        """The module is the new one, already executed."""


if not any(isinstance(finder, _MovedModule) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModule())
