"""Checks of one request's parts: generation parameters, article text and document ids.

Each check raises ``ValueError`` with a message that names the field, the value and what is
allowed; the toolkit returns that message to the client with HTTP 400.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class ParameterSpec:
    """Type and inclusive bounds of one client-settable generation parameter."""

    kind: type
    low: float | None = None
    high: float | None = None


# The whitelist of generation parameters a request may set. Sampling is left out on purpose:
# summaries of an async job should be reproducible. ``max_new_tokens`` is left out because it
# silently overrides ``max_length``; batch size is an operator setting (memory), not a client one.
PARAMETERS: Mapping[str, ParameterSpec] = {
    "max_length": ParameterSpec(int, 1, 1024),
    "min_length": ParameterSpec(int, 0, 1024),
    "num_beams": ParameterSpec(int, 1, 16),
    "length_penalty": ParameterSpec(float, -5.0, 5.0),
    "no_repeat_ngram_size": ParameterSpec(int, 0, 10),
    "repetition_penalty": ParameterSpec(float, 1.0, 5.0),
    "early_stopping": ParameterSpec(bool),
}

_JSON_TYPE_NAMES: Mapping[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}

# JSON may spell a UTF-16 surrogate half on its own ("\ud800"); Python keeps it in the str, and
# the tokenizer (Rust, UTF-8 only) then fails deep inside with a TypeError.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Control, format (zero-width, BOM, bidi marks) and separator characters carry no text: an
# article made only of them tokenizes to nothing and the model would invent a summary.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def json_type(value: object) -> str:
    """Name a decoded JSON value's type the way a JSON client knows it (not Python's name)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def check_unicode(text: str, label: str) -> None:
    """Refuse lone surrogates, which are not Unicode text and cannot be encoded as UTF-8."""
    match = _SURROGATE.search(text)
    if match is not None:
        raise ValueError(
            f"{label} contains a lone surrogate U+{ord(match.group()):04X} at character "
            f"{match.start()}: text must be valid Unicode (a surrogate needs its pair)"
        )


def check_article(text: str, label: str) -> str:
    """Refuse articles with nothing to summarize: the model would invent a summary of nothing."""
    check_unicode(text, label)
    if text.strip() == "":
        raise ValueError(f"{label} is empty or whitespace-only")
    # Stops at the first visible character, so ordinary text costs next to nothing.
    if all(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in text):
        raise ValueError(
            f"{label} has no visible text: only whitespace, control or zero-width characters"
        )
    return text


def check_id(value: object, label: str) -> str:
    """A document id is echoed in its result line: a non-empty string of at most 128 characters."""
    if not isinstance(value, str):
        raise ValueError(f"{label}: 'id' must be a string, got {json_type(value)}")
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise ValueError(
            f"{label}: 'id' must have 1 to {MAX_ID_LENGTH} characters, got {len(value)}"
        )
    check_unicode(value, f"{label}: 'id'")
    return value


def _check_type(name: str, spec: ParameterSpec, value: object, prefix: str) -> None:
    """Refuse values of the wrong JSON type (booleans are not numbers, although Python says so)."""
    if spec.kind is bool:
        ok, expected = isinstance(value, bool), "a boolean"
    elif spec.kind is int:
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        expected = "a number"
    if not ok:
        raise ValueError(f"{prefix}parameter '{name}' must be {expected}, got {json_type(value)}")


def validate_parameters(parameters: object, prefix: str = "") -> dict[str, Any]:
    """Check generation parameters against the whitelist, their JSON types and their bounds.

    ``prefix`` (``"line 3: "``) says where the parameters came from for JSON Lines requests.
    """
    if not isinstance(parameters, dict):
        raise ValueError(f"{prefix}'parameters' must be an object, got {json_type(parameters)}")
    valid: dict[str, Any] = {}
    for name, value in parameters.items():
        spec = PARAMETERS.get(name)
        if spec is None:
            raise ValueError(
                f"{prefix}unknown parameter {name!r}: supported parameters are "
                f"{', '.join(sorted(PARAMETERS))}"
            )
        _check_type(name, spec, value, prefix)
        if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
            low, high = (
                (int(spec.low), int(spec.high)) if spec.kind is int else (spec.low, spec.high)
            )
            raise ValueError(
                f"{prefix}parameter '{name}' must be between {low} and {high}, got {value}"
            )
        valid[name] = float(value) if spec.kind is float else value
    check_lengths(valid.get("min_length"), valid.get("max_length"), prefix)
    return valid


def check_lengths(min_length: int | None, max_length: int | None, prefix: str) -> None:
    """min_length above max_length would make generate() ignore one of them without a word."""
    if min_length is not None and max_length is not None and min_length > max_length:
        raise ValueError(
            f"{prefix}parameter 'min_length' ({min_length}) must not exceed "
            f"'max_length' ({max_length})"
        )


def check_fields(body: Mapping[str, Any], prefix: str, allowed: tuple[str, ...]) -> None:
    """Refuse unknown fields: a misspelt 'parameters' must not be ignored silently."""
    for key in body:
        if key not in allowed:
            optional = " and ".join(f"'{name}'" for name in allowed[1:])
            expected = f"'{allowed[0]}' and optional {optional}"
            raise ValueError(f"{prefix}unknown field {key!r}: expected {expected}")
