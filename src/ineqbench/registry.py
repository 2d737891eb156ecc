"""A small name -> object registry with clear errors, used for every pluggable part of the suite.

Datasets, model sources, training recipes, attribution methods, inequality transforms and attacks
all register here, so the config validator can check every name before any work starts.

Names are declared where importing costs nothing (the stages' `settings` modules), their objects added
where they are implemented: `declare(name, module)` makes the name valid at once, and the first `get`
imports `module`, which `add`s the object. So validating a config and building the DAG never import
torch; only a job that uses an entry pays for it.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """Raised for a name that is not registered; the message lists the valid choices."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


def load(target: str):
    """The object `target` names, as "package.module:attribute"."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Lazy:
    """A function imported on its first call, for a registry entry whose metadata the config reads but
    whose code needs torch: `Lazy("ineqbench.data.cifar10:build")`."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __call__(self, *args, **kwargs):
        return load(self.target)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


class _Declared:
    def __init__(self, module: str) -> None:
        self.module = module


class Registry(Generic[T]):
    """Maps names to objects. `register(name)` is a decorator; names are unique."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | _Declared] = {}

    def declare(self, name: str, module: str) -> None:
        """Make `name` valid now; `module`, imported on the first `get`, adds its object."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = _Declared(module)

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._entries and not isinstance(self._entries[name], _Declared):
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        try:
            entry = self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None
        if isinstance(entry, _Declared):
            importlib.import_module(entry.module)
            entry = self._entries[name]
            if isinstance(entry, _Declared):
                raise RuntimeError(f"{self.kind} {name!r} is declared in {entry.module}, which does not add it")
        return entry

    def unknown_message(self, name: str) -> str:
        hint = difflib.get_close_matches(str(name), self._entries, n=1)
        did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
        return f"unknown {self.kind} {name!r}.{did_you_mean} Valid choices: {', '.join(sorted(self._entries))}"

    def check(self, name: str, where: str) -> None:
        """Raise ValueError naming `where` (a config key) unless `name` is registered."""
        if name not in self._entries:
            raise ValueError(f"{where}: {self.unknown_message(name)}")

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
