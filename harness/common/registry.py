"""A small registry with "did you mean" errors.

Used for adapters, graph passes, attribution methods, estimators and probe sets: each
registers under a unique key, duplicate keys are refused at import time, and a lookup of an
unknown key lists what exists and the closest matches.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterator
from typing import Generic, TypeVar

from harness.common.errors import HarnessError, excerpt

T = TypeVar("T")


def closest(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """The candidates nearest to ``name`` (by difflib ratio), best first."""
    if len(name) > 200:  # difflib is quadratic: a hostile 1 MB name gets no suggestion
        return []
    return difflib.get_close_matches(name, candidates, n=n, cutoff=0.4)


def suggest(name: str, candidates: list[str]) -> str:
    """'did you mean ...? valid names: ...' for an unknown ``name``."""
    near = closest(name, candidates)
    hint = f"did you mean {' or '.join(repr(c) for c in near)}? " if near else ""
    shown = sorted(candidates)[:12]
    listing = ", ".join(shown) + (f" and {len(candidates) - 12} more" if len(candidates) > 12 else "")
    return f"{hint}valid names: {listing or '(none)'}"


def did_you_mean(name: str, candidates: list[str], what: str) -> str:
    """One-line message for an unknown name, with the closest valid names."""
    return f"unknown {what} {excerpt(name)}; {suggest(name, candidates)}"


class Registry(Generic[T]):
    """Name -> object mapping that refuses duplicates and explains unknown names."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}

    def register(self, name: str, description: str | None = None):
        """Decorator registering ``obj`` under ``name``."""

        def decorate(obj: T) -> T:
            self.add(name, obj, description)
            return obj

        return decorate

    def add(self, name: str, obj: T, description: str | None = None) -> None:
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._items[name] = obj
        if description:
            self._descriptions[name] = description

    def describe(self, name: str) -> str:
        """One line for ``harness list``: the description given at registration, else the
        object's ``description`` attribute, else the first line of a function's or class's docstring."""
        obj = self.get(name)
        text = self._descriptions.get(name) or getattr(obj, "description", None)
        if not (isinstance(text, str) and text) and (inspect.isroutine(obj) or inspect.isclass(obj)):
            text = (inspect.getdoc(obj) or "").strip().split("\n\n")[0]
        return " ".join(str(text or "").replace("``", "").split())

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise HarnessError(did_you_mean(name, list(self._items), self.what)) from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
