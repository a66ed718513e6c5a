"""Read a Lambda's settings from its environment, listing every problem at once."""

from __future__ import annotations

from collections.abc import Mapping


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

    def prefix(self, name: str) -> str:
        """An S3 prefix: non-empty and ending with ``/`` so that it never matches a sibling."""
        value = self.text(name)
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
