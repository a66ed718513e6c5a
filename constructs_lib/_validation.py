"""Validation shared by every construct and the app configuration.

Problems are collected, never raised one at a time, so a user fixes a bad configuration in one
round instead of one error per synth.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


class ConfigurationError(ValueError):
    """Raised with every problem of one configuration or set of construct properties at once."""

    def __init__(self, subject: str, problems: Iterable[str]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{subject}: {count} problem{'s' if count != 1 else ''}:\n{lines}")


def raise_if_problems(subject: str, problems: Iterable[str]) -> None:
    """Raise one ConfigurationError listing ``problems`` if there are any."""
    found = list(problems)
    if found:
        raise ConfigurationError(subject, found)


def is_token(value: Any) -> bool:
    """True when ``value`` is an unresolved CDK token, which cannot be validated at synth time.

    Every ``Token.is_unresolved`` is a round trip to the CDK's Node process, and validation asks
    hundreds of times per synth, so plain values are answered here: string tokens contain
    ``${Token[``, number tokens are huge encoded doubles (Python floats), and ints never are.
    """
    if isinstance(value, str):
        return "${Token[" in value and _is_unresolved(value)
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) > 1e200 and _is_unresolved(value)
    return False


def _is_unresolved(value: Any) -> bool:
    # Imported here, not at the top: the settings dataclasses that use these checks are read by
    # pure-Python tools (planner, simulator) that must not start the CDK's Node process. A value
    # that looks like a token only arises where the CDK is already loaded.
    from aws_cdk import Token

    return bool(Token.is_unresolved(value))


def check_int(
    problems: list[str],
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> None:
    """Append a problem unless ``value`` is an int within [minimum, maximum] (or a token)."""
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{name}: must be a whole number (got {value!r})")
        return
    if is_token(value):
        return
    if minimum is not None and value < minimum:
        problems.append(f"{name}: must be at least {minimum} (got {value!r})")
    if maximum is not None and value > maximum:
        problems.append(f"{name}: must be at most {maximum} (got {value!r})")


def check_number(
    problems: list[str],
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    exclusive_minimum: float | None = None,
    maximum: float | None = None,
) -> None:
    """Append a problem unless ``value`` is a number within the given bounds (or a token)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name}: must be a number (got {value!r})")
        return
    if not math.isfinite(value):
        # JSON configuration can carry NaN/Infinity; tokens are never such values.
        problems.append(f"{name}: must be a finite number (got {value!r})")
        return
    if is_token(value):
        return
    if minimum is not None and value < minimum:
        problems.append(f"{name}: must be at least {minimum} (got {value!r})")
    if exclusive_minimum is not None and value <= exclusive_minimum:
        problems.append(f"{name}: must be greater than {exclusive_minimum} (got {value!r})")
    if maximum is not None and value > maximum:
        problems.append(f"{name}: must be at most {maximum} (got {value!r})")
