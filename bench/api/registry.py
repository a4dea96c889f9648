"""The method catalogue: finds the methods (every module of the `methods` package, and the
`mixup_bench.methods` entry-point group for third-party packages), whose `@register`
(bench.api.method_api) fills the registry, and looks them up. It sits above `methods/` in the
layers: methods import only bench.api.method_api, and this module imports them."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import pkgutil
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import methods
from bench.api import method_api
from bench.api.method_api import METHODS, MixupMethod, build_options
from bench.core.config import METHOD_ORDER
from bench.core.errors import UserError

ENTRY_POINT_GROUP = "mixup_bench.methods"

_discovered = False
# plugins that failed to load: the plugin's name (module or entry point) -> its error
BROKEN: dict[str, str] = {}


def _load_plugin(name: str, load: Callable[[], Any]) -> None:
    """Load one plugin; a failure is one line on stderr naming it, and the rest works."""
    try:
        load()
    except Exception as exc:  # any error in third-party code: report it, go on
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        BROKEN[name] = error
        print(
            f"warning: method plugin {name!r} failed to load ({error}); the other methods "
            "work, and --methods naming it is refused",
            file=sys.stderr,
            flush=True,
        )


def discover() -> None:
    """Import every module of the `methods` package and every entry point, once: their
    `@register` fills bench.api.method_api.METHODS. A plugin that fails to load is recorded
    in BROKEN and reported in one line."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in pkgutil.iter_modules(methods.__path__):
        if not info.name.startswith("_"):
            module = f"methods.{info.name}"
            _load_plugin(info.name, lambda module=module: importlib.import_module(module))
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _load_plugin(entry.name, entry.load)


def __getattr__(name: str) -> Any:
    """`register` lived here once: plugins written against that import keep working."""
    if name == "register":
        warnings.warn(
            "import register from bench.api (bench.registry.register is deprecated)",
            DeprecationWarning,
            stacklevel=2,
        )
        return method_api.register
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def method_names() -> list[str]:
    """Registered names: the built-in order first, then the rest alphabetically."""
    discover()
    known = [n for n in METHOD_ORDER if n in METHODS]
    return known + sorted(n for n in METHODS if n not in METHOD_ORDER)


def method_class(name: str) -> type[MixupMethod]:
    discover()
    if name not in METHODS and name in BROKEN:
        raise UserError(
            f"method {name!r} is a plugin that failed to load ({BROKEN[name]}): fix or "
            "uninstall it, or leave it out of --methods"
        )
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
