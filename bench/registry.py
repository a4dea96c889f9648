"""The method registry: `@register` in a module of `methods/`, found by scanning the package
(and the `mixup_bench.methods` entry-point group for third-party packages)."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Mapping
from typing import Any

from bench.errors import UserError, did_you_mean
from bench.method_api import MixupMethod, build_options

ENTRY_POINT_GROUP = "mixup_bench.methods"
DEFAULT_ORDER = ("none", "word", "sentence", "tmix", "amplify", "manifold")

_REGISTRY: dict[str, type[MixupMethod]] = {}
_discovered = False


def register(cls: type[MixupMethod]) -> type[MixupMethod]:
    """Class decorator: add a method to the registry; a duplicate name is an error."""
    name = getattr(cls, "name", None)
    if not name or not isinstance(name, str):
        raise TypeError(f"{cls.__qualname__} must set a class attribute `name`")
    existing = _REGISTRY.get(name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"method name {name!r} is already registered by {existing.__module__}")
    _REGISTRY[name] = cls
    return cls


def discover() -> None:
    """Import every module of the `methods` package and every entry point, once."""
    global _discovered
    if _discovered:
        return
    import methods

    for info in pkgutil.iter_modules(methods.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"methods.{info.name}")
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry.load()
    _discovered = True


def method_names() -> list[str]:
    """Registered names: the built-in order first, then the rest alphabetically."""
    discover()
    known = [n for n in DEFAULT_ORDER if n in _REGISTRY]
    return known + sorted(n for n in _REGISTRY if n not in DEFAULT_ORDER)


def method_class(name: str) -> type[MixupMethod]:
    discover()
    if name not in _REGISTRY:
        raise UserError(
            f"unknown method {name!r}; known: {', '.join(method_names())}."
            f"{did_you_mean(name, _REGISTRY)}"
        )
    return _REGISTRY[name]


def create_method(name: str, options: Mapping[str, Any] | None = None) -> MixupMethod:
    """An instance of method `name` with validated options."""
    cls = method_class(name)
    return cls(build_options(cls, options or {}))
