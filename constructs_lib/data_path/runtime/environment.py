"""Read a Lambda's settings from its environment, listing every problem at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class SettingsError(RuntimeError):
    """The function's environment is wrong: a deployment problem, named variable by variable."""


class Environment:
    """Typed reads of environment variables; ``check()`` raises with every problem found."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def text(self, name: str, *, default: str | None = None) -> str:
        value = self._environ.get(name, "").strip()
        if value:
            return value
        if default is not None:
            return default
        self.problems.append(f"{name} is not set")
        return ""

    def prefix(self, name: str, *, default: str | None = None) -> str:
        """An S3 prefix: non-empty and ending with ``/`` so that it never matches a sibling."""
        value = self.text(name, default=default)
        if value and not value.endswith("/"):
            self.problems.append(f"{name} must end with '/', got {value!r}")
        return value

    def integer(self, name: str, *, low: int, high: int, default: int | None = None) -> int:
        raw = self._environ.get(name, "").strip()
        if not raw and default is not None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be an integer between {low} and {high}, got {raw!r}")
            return low
        if not low <= value <= high:
            self.problems.append(f"{name} must be an integer between {low} and {high}, got {raw!r}")
        return value

    def check(self, function: str) -> None:
        if self.problems:
            raise SettingsError(
                f"the {function} function's environment is invalid: {'; '.join(self.problems)}"
            )


def setting(
    name: str,
    kind: str = "text",
    *,
    low: int = 0,
    high: int = 0,
    default: Any = None,
) -> Any:
    """A field of a function's settings dataclass, read from the environment variable ``name``
    as ``kind`` (``text``, ``prefix`` or ``integer`` between ``low`` and ``high``), ``default``
    when it is not set (None: it must be set)."""
    metadata = {"env": (name, kind, low, high, default)}
    if default is None:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def read_settings(cls: type[T], environ: Mapping[str, str], function: str) -> T:
    """``cls`` (a dataclass of ``setting`` fields) read from ``environ``; raises
    ``SettingsError`` naming every problem at once, in field order."""
    env = Environment(environ)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name, kind, low, high, default = field.metadata["env"]
        if kind == "integer":
            values[field.name] = env.integer(name, low=low, high=high, default=default)
        elif kind == "prefix":
            values[field.name] = env.prefix(name, default=default)
        else:
            values[field.name] = env.text(name, default=default)
    env.check(function)
    return cls(**values)
