"""Typed settings from plain configuration: the one loader the app and the tools share.

``build(SomeSettings, mapping, "path", problems)`` checks a JSON-like mapping against a frozen
dataclass's annotations (bool, int, float, str, optional values, tuples, string mappings and
nested dataclasses), collects every problem as ``"<path>: <what is wrong> (got <value>)"`` and
returns the instance, or ``None`` when there were problems. A partial nested section overrides
the field's default section key by key. Pure Python: the configuration of the CDK app
(``stacks/config.py``), the capacity planner and the scaling simulator all load through it.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any


def type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def convert(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert lists/dicts; collect problems."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return convert(value, inner, path, problems)
    if dataclasses.is_dataclass(tp):
        if isinstance(tp, type) and isinstance(value, tp):
            # A default section that a partial override left as it was (merged in by build).
            return value
        if not isinstance(value, Mapping):
            problems.append(f"{path}: must be an object (got {value!r})")
            return None
        return build(tp, value, path, problems)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            problems.append(f"{path}: must be a list (got {value!r})")
            return None
        items = [convert(v, args[0], f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(items)
    if origin is dict:
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            problems.append(f"{path}: must be an object of strings (got {value!r})")
            return None
        return dict(value)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(tp)
    if ok is None:
        raise TypeError(f"unsupported configuration type {tp!r} at {path}")
    if not ok:
        problems.append(f"{path}: must be {type_name(tp)} (got {value!r})")
        return None
    return float(value) if tp is float else value


def build(
    cls: Any,
    data: Mapping[str, Any],
    path: str,
    problems: list[str],
    reserved: frozenset[str] = frozenset(),
) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{path}." if path else ""
    known = ", ".join(sorted(set(fields) - reserved))
    # A settings class may say where a key it no longer has went (``unknown_key_hint``).
    hint_of = getattr(cls, "unknown_key_hint", None)
    for key in data:
        if key not in fields:
            hint = hint_of(key) if hint_of is not None else None
            where = f" ({hint})" if hint else ""
            problems.append(f"{prefix}{key}: unknown key (known: {known}){where}")
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for name, field in fields.items():
        if name not in data:
            continue
        value = data[name]
        # Optional sections too (``AlarmThreshold | None``): null turns them off.
        if dataclasses.is_dataclass(without_none(hints[name])) and isinstance(value, Mapping):
            # A partial section overrides the default section key by key, not as a whole.
            default = (
                field.default_factory()
                if field.default_factory is not dataclasses.MISSING
                else field.default
            )
            if dataclasses.is_dataclass(default) and not isinstance(default, type):
                value = merge(plain(default), value)
        kwargs[name] = convert(value, hints[name], f"{prefix}{name}", problems)
    if len(problems) > before:
        return None
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    for name in missing:
        problems.append(f"{prefix}{name}: required")
    if missing:
        return None
    return cls(**kwargs)


def plain(instance: Any) -> dict[str, Any]:
    """A dataclass instance as the plain mapping configuration would spell it."""
    return {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance) if f.init}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def without_none(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def cli_value(raw: Any, field_type: Any) -> Any:
    """Command-line context arrives as strings: a string field takes the text as given (so
    ``123456789012`` stays an account id); other fields read JSON where it parses."""
    if not isinstance(raw, str) or field_type is str:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw
