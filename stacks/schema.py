"""The configuration's schema check: JSON-like settings into typed frozen dataclasses, by pydantic.

``build(SomeSettings, mapping, "path", problems)`` validates a mapping against a frozen
dataclass's annotations (bool, int, float, str, optional values, tuples, string mappings and
nested dataclasses) and returns the instance, or ``None`` after appending every problem as
``"<path>: <what is wrong> (got <value>)"``. A partial nested section overrides the field's
default section key by key. Values are checked once, here, at load; each settings class's
``problems()`` then checks bounds and cross-field rules.

Why pydantic (v2, pinned in requirements.txt): strict typing (no "6" for 6, no true for 1),
unknown keys refused (``extra="forbid"``), a location for every error and every error at once,
from a library the Python ecosystem maintains, instead of a hand-written type walker. cattrs
imports faster on this machine (about 0.08 s against pydantic's 0.15 s) but stops at the first
error unless told otherwise and reports no per-field locations of its own. The settings stay
plain dataclasses, so the construct library keeps no dependency on pydantic.

Pure Python: importing this module does not import aws_cdk.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

# Strict: JSON types only, no coercion of "6" to 6; unknown keys are errors.
_CONFIG = ConfigDict(strict=True, extra="forbid")
_TYPE_NAMES = {
    "int_type": "int",
    "float_type": "float",
    "bool_type": "bool",
    "string_type": "str",
}


def without_none(tp: Any) -> Any:
    """``X`` of ``X | None``; any other annotation as it is."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _dataclasses_in(tp: Any) -> list[type]:
    """Every dataclass reachable from the annotation ``tp``."""
    tp = without_none(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        found = [tp]
        for hint in typing.get_type_hints(tp).values():
            found += _dataclasses_in(hint)
        return found
    return [c for arg in typing.get_args(tp) for c in _dataclasses_in(arg)]


@cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    # Plain dataclasses carry their pydantic configuration as an attribute.
    for found in _dataclasses_in(cls):
        if "__pydantic_config__" not in vars(found):
            found.__pydantic_config__ = _CONFIG  # type: ignore[attr-defined]
    return TypeAdapter(cls)


def plain(instance: Any) -> Any:
    """A settings value as the JSON configuration would spell it."""
    if dataclasses.is_dataclass(instance) and not isinstance(instance, type):
        return {
            f.name: plain(getattr(instance, f.name)) for f in dataclasses.fields(instance) if f.init
        }
    if isinstance(instance, list | tuple):
        return [plain(v) for v in instance]
    if isinstance(instance, Mapping):
        return {k: plain(v) for k, v in instance.items()}
    return instance


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on ``base``, nested mappings key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _with_default_sections(cls: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with each partial nested section merged onto the field's default section."""
    merged = dict(data)
    for field in dataclasses.fields(cls):
        value = merged.get(field.name)
        if not field.init or not isinstance(value, Mapping):
            continue
        default = (
            field.default_factory()
            if field.default_factory is not dataclasses.MISSING
            else field.default
        )
        if dataclasses.is_dataclass(default) and not isinstance(default, type):
            merged[field.name] = merge(plain(default), value)
    return merged


def _class_at(cls: Any, loc: tuple[Any, ...]) -> Any:
    """The annotation at ``loc`` below the dataclass ``cls``."""
    tp: Any = cls
    for part in loc:
        tp = without_none(tp)
        origin = typing.get_origin(tp)
        if origin is tuple or origin is dict:
            tp = typing.get_args(tp)[-1 if origin is dict else 0]
            continue
        if not dataclasses.is_dataclass(tp):
            return None
        tp = typing.get_type_hints(tp).get(str(part))
    return without_none(tp)


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        data = data[part]
    return data


def _where(path: str, loc: tuple[Any, ...]) -> str:
    where = path
    for part in loc:
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += f".{part}" if where else str(part)
    return where


def _problem(
    cls: Any, data: Any, path: str, error: Mapping[str, Any], reserved: frozenset[str]
) -> str:
    """One pydantic error as ``"<key>: <what is allowed> (got <value>)"``."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind in _UNKNOWN_KEY:
        parent = _class_at(cls, loc[:-1])
        names = {f.name for f in dataclasses.fields(parent) if f.init}
        known = ", ".join(sorted(names - reserved if parent is cls else names))
        hint_of = getattr(parent, "unknown_key_hint", None)
        hint = hint_of(str(loc[-1])) if hint_of is not None else None
        return f"{_where(path, loc)}: unknown key (known: {known})" + (f" ({hint})" if hint else "")
    if kind == "missing":
        return f"{_where(path, loc)}: required"
    # A key or value inside a mapping of strings: the mapping is what is wrong.
    while loc and typing.get_origin(_class_at(cls, loc[:-1])) is dict:
        loc = loc[:-1]
    value = _value_at(data, loc)
    expected = _class_at(cls, loc)
    if typing.get_origin(expected) is dict:
        return f"{_where(path, loc)}: must be an object of strings (got {value!r})"
    if typing.get_origin(expected) is tuple:
        return f"{_where(path, loc)}: must be a list (got {value!r})"
    if dataclasses.is_dataclass(expected):
        return f"{_where(path, loc)}: must be an object (got {value!r})"
    name = _TYPE_NAMES.get(kind, getattr(expected, "__name__", str(expected)))
    return f"{_where(path, loc)}: must be {name} (got {value!r})"


def build(
    cls: Any,
    data: Mapping[str, Any],
    path: str,
    problems: list[str],
    reserved: frozenset[str] = frozenset(),
) -> Any:
    """``cls`` from ``data``, or ``None`` after appending every problem to ``problems``.

    ``reserved`` fields are set by the loader, not written in configuration (``name``): they
    are left out of the known keys an unknown key's message lists.
    """
    merged = _with_default_sections(cls, data)
    found: list[tuple[list[int], str]] = []
    while True:
        try:
            # JSON mode: arrays are tuples and integers are floats where the annotation says
            # so, as JSON spells them; nothing else converts.
            built = _adapter(cls).validate_json(json.dumps(merged, allow_nan=True))
            break
        except ValidationError as error:
            errors = error.errors(include_url=False)
        # Unknown keys of this section itself (a nested section's stop it from building).
        unknown = [e for e in errors if e["type"] in _UNKNOWN_KEY and len(e["loc"]) == 1]
        found += [
            (_order(cls, tuple(e["loc"]), e["type"]), _problem(cls, merged, path, e, reserved))
            for e in errors
        ]
        if len(unknown) < len(errors):
            built = None
            break
        # Only unknown keys of its own: the section still builds without them, so its own
        # checks run too (every problem at once).
        merged = _without(merged, [tuple(e["loc"]) for e in unknown])
    # As a reader fixes them: a section's unknown keys, then its fields in declared order.
    found.sort(key=lambda item: item[0])
    problems += list(dict.fromkeys(p for _, p in found))
    return built


_UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")


def _order(cls: Any, loc: tuple[Any, ...], kind: str) -> list[int]:
    """Where an error sorts: field positions along ``loc``; an unknown key before its fields."""
    ranks: list[int] = []
    tp: Any = cls
    for index, part in enumerate(loc):
        tp = without_none(tp)
        if kind in _UNKNOWN_KEY and index == len(loc) - 1:
            ranks.append(-1)
            break
        if dataclasses.is_dataclass(tp):
            names = [f.name for f in dataclasses.fields(tp)]
            ranks.append(names.index(part) if part in names else -1)
            tp = typing.get_type_hints(tp).get(str(part))
        else:
            ranks.append(part if isinstance(part, int) else 0)
            args = typing.get_args(tp)
            tp = args[-1] if args else None
    return ranks


def _without(data: Mapping[str, Any], locs: list[tuple[Any, ...]]) -> dict[str, Any]:
    """``data`` without the keys at ``locs``."""
    copy: dict[str, Any] = json.loads(json.dumps(data, allow_nan=True))
    for loc in locs:
        node = copy
        for part in loc[:-1]:
            node = node[part]
        node.pop(loc[-1], None)
    return copy


def cli_value(raw: Any, field_type: Any) -> Any:
    """Command-line context arrives as strings: a string field takes the text as given (so
    ``123456789012`` stays an account id); other fields read JSON where it parses."""
    if not isinstance(raw, str) or field_type is str:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw
