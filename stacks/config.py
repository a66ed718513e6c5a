"""Typed, validated configuration of the app, read from ``cdk.json`` context.

``cdk.json`` holds the embedded default under the context key ``summarizer``:
``{"environments": {"dev": {...}, "prod": {...}}}``. Each environment overrides the defaults of
``AppConfig`` (nested sections merge key by key). Any field can be overridden from the command line
with ``-c summarizer.<field>=<value>`` (nested: ``-c summarizer.scaling.max_capacity=10``);
``-c summarizer.environment=prod`` synthesizes only that environment. Values given on the command
line are parsed as JSON where the field is not a string.

Every problem is collected and reported at once, with the bad value; nothing falls back to a
default silently.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from aws_cdk import RemovalPolicy

from constructs_lib._validation import ConfigurationError, check_int
from constructs_lib.data_path.settings import DataPathSettings
from constructs_lib.dlc_image import DlcVersion
from constructs_lib.model import instance_type_problems, model_data_uri_problems
from constructs_lib.monitoring import MonitoringSettings
from constructs_lib.notifications import email_problems
from constructs_lib.scaling import ScalingSettings

CONTEXT_KEY = "summarizer"
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
REMOVAL_POLICIES = {"retain": RemovalPolicy.RETAIN, "destroy": RemovalPolicy.DESTROY}


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppConfig:
    """One environment's configuration. Defaults are the documented production-minded values."""

    name: str
    account: str | None = None
    region: str | None = None
    model_id: str = "google/pegasus-large"
    model_revision: str | None = None
    model_data_uri: str | None = None
    dlc: DlcVersion = dataclasses.field(
        default_factory=lambda: DlcVersion(transformers="4.51.3", pytorch="2.6.0")
    )
    instance_type: str = "ml.g5.xlarge"
    initial_instance_count: int = 1
    max_concurrent_invocations_per_instance: int = 2
    container_startup_timeout_seconds: int = 600
    input_retention_days: int = 7
    result_retention_days: int = 30
    removal_policy: str = "retain"
    termination_protection: bool = False
    notification_emails: tuple[str, ...] = ()
    include_response_in_notifications: bool = True
    model_environment: dict[str, str] = dataclasses.field(default_factory=dict)
    scaling: ScalingSettings = dataclasses.field(default_factory=ScalingSettings)
    monitoring: MonitoringSettings = dataclasses.field(default_factory=MonitoringSettings)
    data_path: DataPathSettings = dataclasses.field(default_factory=DataPathSettings)

    @property
    def stack_name(self) -> str:
        return f"PegasusSummarizer-{self.name}"

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        return REMOVAL_POLICIES[self.removal_policy]

    def problems(self) -> list[str]:
        """Cross-field and value checks (types were checked while loading)."""
        problems: list[str] = []
        if not ENVIRONMENT_NAME.match(self.name):
            problems.append(
                f"environment name: must be lowercase letters, digits and '-', starting with a "
                f"letter, at most 20 characters (got {self.name!r})"
            )
        if self.account is not None and not ACCOUNT.match(self.account):
            problems.append(f"account: must be a 12-digit AWS account id (got {self.account!r})")
        if self.region is not None and not REGION.match(self.region):
            problems.append(f"region: must look like 'us-east-1' (got {self.region!r})")
        if not self.model_id.strip():
            problems.append(f"model_id: must not be empty (got {self.model_id!r})")
        if self.model_revision is not None and self.model_data_uri is not None:
            problems.append(
                "model_revision: only applies to a Hub model, not to model_data_uri "
                f"(got {self.model_revision!r})"
            )
        problems += model_data_uri_problems("model_data_uri", self.model_data_uri)
        problems += self.dlc.problems("dlc")
        problems += instance_type_problems("instance_type", self.instance_type)
        check_int(problems, "initial_instance_count", self.initial_instance_count, minimum=1)
        check_int(
            problems,
            "max_concurrent_invocations_per_instance",
            self.max_concurrent_invocations_per_instance,
            minimum=1,
            maximum=1000,
        )
        check_int(
            problems,
            "container_startup_timeout_seconds",
            self.container_startup_timeout_seconds,
            minimum=60,
            maximum=3600,
        )
        check_int(problems, "input_retention_days", self.input_retention_days, minimum=1)
        check_int(problems, "result_retention_days", self.result_retention_days, minimum=1)
        if self.removal_policy not in REMOVAL_POLICIES:
            problems.append(
                f"removal_policy: must be one of {', '.join(REMOVAL_POLICIES)} "
                f"(got {self.removal_policy!r})"
            )
        problems += email_problems("notification_emails", self.notification_emails)
        problems += [f"scaling.{p}" for p in self.scaling.problems()]
        problems += [f"monitoring.{p}" for p in self.monitoring.problems()]
        problems += [f"data_path.{p}" for p in self.data_path.problems()]
        return problems


# --- loading -------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert lists/dicts; collect problems."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(value, inner, path, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            problems.append(f"{path}: must be an object (got {value!r})")
            return None
        return _build(tp, value, path, problems)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            problems.append(f"{path}: must be a list (got {value!r})")
            return None
        items = [_convert(v, args[0], f"{path}[{i}]", problems) for i, v in enumerate(value)]
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
        problems.append(f"{path}: must be {_type_name(tp)} (got {value!r})")
        return None
    return float(value) if tp is float else value


def _build(
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
    for key in data:
        if key not in fields:
            problems.append(f"{prefix}{key}: unknown key (known: {known})")
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for name, field in fields.items():
        if name not in data:
            continue
        value = data[name]
        if dataclasses.is_dataclass(hints[name]) and isinstance(value, Mapping):
            # A partial section overrides the default section key by key, not as a whole.
            default = (
                field.default_factory()
                if field.default_factory is not dataclasses.MISSING
                else field.default
            )
            if dataclasses.is_dataclass(default) and not isinstance(default, type):
                value = _merge(_plain(default), value)
        kwargs[name] = _convert(value, hints[name], f"{prefix}{name}", problems)
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


def _plain(instance: Any) -> dict[str, Any]:
    """A dataclass instance as the plain mapping configuration would spell it."""
    return {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance) if f.init}


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _cli_value(raw: Any) -> Any:
    """Command-line context arrives as strings: read JSON where it parses, else keep the text."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _cli_overrides(context: Mapping[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key, raw in sorted(context.items()):
        if not key.startswith(f"{CONTEXT_KEY}.") or key == f"{CONTEXT_KEY}.environment":
            continue
        *parents, leaf = key[len(CONTEXT_KEY) + 1 :].split(".")
        node = overrides
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _cli_value(raw)
    return overrides


def load_configs(context: Mapping[str, Any]) -> list[AppConfig]:
    """Every selected environment's configuration, or one ConfigurationError listing all problems.

    ``context`` maps context keys to values: the ``summarizer`` block from cdk.json, and any
    ``summarizer.*`` keys given with ``-c``.
    """
    problems: list[str] = []
    block = context.get(CONTEXT_KEY)
    if not isinstance(block, Mapping) or not isinstance(block.get("environments"), Mapping):
        raise ConfigurationError(
            "Invalid summarizer configuration",
            [f"{CONTEXT_KEY}: cdk.json context must hold {{'environments': {{...}}}}"],
        )
    for key in block:
        if key != "environments":
            problems.append(f"{CONTEXT_KEY}.{key}: unknown key (known: environments)")
    environments: Mapping[str, Any] = block["environments"]
    selected = context.get(f"{CONTEXT_KEY}.environment")
    names = list(environments)
    if selected is not None:
        if selected not in environments:
            problems.append(
                f"environment: unknown environment {selected!r} (known: {', '.join(names)})"
            )
            names = []
        else:
            names = [selected]
    overrides = _cli_overrides(context)
    configs: list[AppConfig] = []
    for name in names:
        section = environments[name]
        if not isinstance(section, Mapping):
            problems.append(f"environments.{name}: must be an object (got {section!r})")
            continue
        data = _merge(section, overrides)
        found: list[str] = []
        if "name" in data:
            found.append("name: unknown key (the environment's key in cdk.json names it)")
            data = {k: v for k, v in data.items() if k != "name"}
        config = _build(AppConfig, {"name": name, **data}, "", found, frozenset({"name"}))
        if config is not None:
            found += config.problems()
        problems += [f"[{name}] {p}" for p in found]
        if config is not None and not found:
            configs.append(config)
    if problems:
        raise ConfigurationError("Invalid summarizer configuration", problems)
    return configs
