"""The method catalogue: finds the methods (every module of the `methods` package, and the
`mixup_bench.methods` entry-point group for third-party packages), whose `@register`
(bench.method_api) fills the registry, and looks them up. It sits above `methods/` in the
layers: methods import only bench.method_api, and this module imports them."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import pkgutil
from collections.abc import Mapping
from typing import Any

import methods
from bench.config import METHOD_ORDER
from bench.method_api import METHODS, MixupMethod, build_options

ENTRY_POINT_GROUP = "mixup_bench.methods"

_discovered = False


def discover() -> None:
    """Import every module of the `methods` package and every entry point, once: their
    `@register` fills bench.method_api.METHODS."""
    global _discovered
    if _discovered:
        return
    for info in pkgutil.iter_modules(methods.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"methods.{info.name}")
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry.load()
    _discovered = True


def method_names() -> list[str]:
    """Registered names: the built-in order first, then the rest alphabetically."""
    discover()
    known = [n for n in METHOD_ORDER if n in METHODS]
    return known + sorted(n for n in METHODS if n not in METHOD_ORDER)


def method_class(name: str) -> type[MixupMethod]:
    discover()
    return METHODS.lookup(name, order=method_names())


def create_method(name: str, options: Mapping[str, Any] | None = None) -> MixupMethod:
    """An instance of method `name` with validated options."""
    cls = method_class(name)
    return cls(build_options(cls, options or {}))


def method_label(name: str, options: Mapping[str, Any]) -> str:
    """The method's name plus the options that differ from its defaults, e.g.
    tmix[alpha=16,max_trick=False]: the label a record carries into the report."""
    defaults = dataclasses.asdict(method_class(name).Options())
    changed = {k: v for k, v in options.items() if defaults.get(k, v) != v}
    if not changed:
        return name
    shown = ",".join(f"{k}={_text(v)}" for k, v in sorted(changed.items()))
    return f"{name}[{shown}]"


def _text(value: Any) -> str:
    return "/".join(str(v) for v in value) if isinstance(value, tuple | list) else str(value)
