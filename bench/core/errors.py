"""The one exception type that the CLI turns into a one-line error and exit code 2, and the
one registry of named things whose unknown names it reports."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


class UserError(Exception):
    """Bad input from the user: the message names the problem and the fix."""


def close_matches(name: str, known: Iterable[str], cutoff: float = 0.6) -> list[str]:
    """Up to two names of `known` at least `cutoff` similar to `name` (difflib's ratio)."""
    return difflib.get_close_matches(name, list(known), n=2, cutoff=cutoff)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ' Did you mean X?' for a close match among `known`, else ''."""
    close = close_matches(name, known)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class Registry(dict[str, T]):
    """Named things of one kind (methods, datasets, profiles, studies): a dict that refuses
    a second entry under one name, checks a base class when given one, and answers an
    unknown name with one line listing the known ones and the closest match."""

    def __init__(self, kind: str, items: Iterable[tuple[str, T]] = (), base: type | None = None):
        super().__init__()
        self.kind, self.base = kind, base
        for name, item in items:
            self.add(name, item)

    def add(self, name: str, item: T, *, replace_same: bool = False) -> T:
        """Register `item` under `name`; a different item under a taken name is an error
        (`replace_same`: the same item re-registered, as a module imported twice, is not)."""
        if self.base is not None and not (isinstance(item, type) and issubclass(item, self.base)):
            raise TypeError(f"{self.kind} {name!r} must be a subclass of {self.base.__name__}")
        if name in self and not (replace_same and _same(self[name], item)):
            raise ValueError(f"{self.kind} name {name!r} is already registered ({self[name]!r})")
        self[name] = item
        return item

    def lookup(self, name: str, order: Iterable[str] | None = None) -> T:
        """The item named `name`, or a UserError naming the known ones (in `order`)."""
        if name not in self:
            known = ", ".join(order if order is not None else self)
            raise UserError(
                f"unknown {self.kind} {name!r}; known: {known}.{did_you_mean(name, self)}"
            )
        return self[name]


def _same(a: object, b: object) -> bool:
    return a is b or getattr(a, "__qualname__", None) == getattr(b, "__qualname__", object())
