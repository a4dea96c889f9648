"""Third-party method plugins: a broken one is named in one line and leaves the suite
working; the import of `register` from its old home keeps working, with a warning."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

from bench.api import registry
from bench.api.method_api import METHODS
from bench.cli.cli import main

OLD_IMPORT_PLUGIN = """
import numpy as np
from bench.method_api import MixupMethod, Site
from bench.registry import register


@register
class OldStyle(MixupMethod):
    name = "old-style"

    def sites(self, depth, rng):
        return [Site("embeddings")]
"""


@pytest.fixture
def plugins(monkeypatch, tmp_path):
    """Install entry points {name: module source} for one fresh discovery."""

    def install(sources: dict[str, str]) -> None:
        for name, source in sources.items():
            (tmp_path / f"plugin_{name.replace('-', '_')}.py").write_text(source)
        points = [
            importlib.metadata.EntryPoint(
                name, f"plugin_{name.replace('-', '_')}", registry.ENTRY_POINT_GROUP
            )
            for name in sources
        ]
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
        monkeypatch.setattr(registry, "_discovered", False)
        monkeypatch.setattr(registry, "BROKEN", {})

    registry.discover()  # the built-in methods, once, before the fresh discovery
    before = dict(METHODS)
    yield install
    METHODS.clear()
    METHODS.update(before)
    for name in [m for m in sys.modules if m.startswith("plugin_")]:
        del sys.modules[name]


def test_a_broken_plugin_is_one_line_and_the_rest_works(plugins, capsys):
    plugins({"broken": "from bench.nowhere import register\n"})
    assert main(["--list"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "plugin 'broken' failed to load" in err[0]
    assert "ModuleNotFoundError" in err[0]


def test_methods_naming_a_broken_plugin_is_refused_with_its_reason(plugins, capsys, tmp_path):
    plugins({"broken": "raise RuntimeError('needs a GPU library')\n"})
    code = main(["--methods", "broken", "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: method 'broken' is a plugin that failed to load")
    assert "needs a GPU library" in err[-1]
    assert not (tmp_path / "r").exists()


def test_register_from_its_old_homes_still_works_with_a_warning(plugins):
    """A plugin written against bench.method_api and bench.registry (the imports before
    bench.api) still registers, with a DeprecationWarning naming the new import."""
    sys.modules.pop("bench.method_api", None)
    sys.modules.pop("bench.registry", None)
    plugins({"old-style": OLD_IMPORT_PLUGIN})
    with pytest.warns(DeprecationWarning, match="from bench.api"):
        names = registry.method_names()
    assert "old-style" in names and not registry.BROKEN
