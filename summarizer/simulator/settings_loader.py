"""The scaling and data path settings of an environment, read from ``cdk.json`` like the stack.

This reader takes only what the simulation needs from ``context.summarizer.environments.<env>``
and builds the same ``ScalingSettings`` and ``DataPathSettings`` with the app's own loader
(``stacks.schema``: the same merge rules, types and messages; ``-c
summarizer.scaling.max_capacity=10`` overrides one key; values parse as JSON where they can, else
stay text); their own ``problems()`` then check them exactly as a synth would. Keys it does not
need are left to the stack's configuration to check.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from constructs_lib.data_path.settings import DataPathSettings
from constructs_lib.model.cold_start import cold_start_kind
from constructs_lib.scaling.settings import ScalingSettings
from summarizer.simulator.engine import (
    COLD_STARTS,
    HANDLER_DEFAULT_BATCH_SIZE,
    HANDLER_MAX_BATCH_SIZE,
    ColdStart,
    Variant,
)
from summarizer.simulator.errors import SimulationError

CONTEXT_KEY = "summarizer"
# The handler's environment variable for the most windows of one generate call.
BATCH_SIZE_VARIABLE = "SUMMARIZER_BATCH_SIZE"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Environment:
    """What the simulator takes from one environment's configuration."""

    name: str
    scaling: ScalingSettings
    data_path: DataPathSettings
    cold_start: ColdStart
    instance_type: str
    # SUMMARIZER_BATCH_SIZE from model_environment, else the handler's default.
    batch_size: int = HANDLER_DEFAULT_BATCH_SIZE

    def variant(self, name: str | None = None) -> Variant:
        """This environment as a simulation variant."""
        return Variant(
            name=name or self.name,
            scaling=self.scaling,
            data_path=self.data_path,
            cold_start=self.cold_start,
            batch_size=self.batch_size,
        )


def parse_overrides(pairs: Sequence[str], subject: str = "-c") -> dict[str, Any]:
    """``summarizer.a.b=value`` pairs as a nested mapping below ``summarizer``."""
    problems: list[str] = []
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, equals, raw = pair.partition("=")
        key = key.strip()
        if not equals or not key.startswith(f"{CONTEXT_KEY}.") or key == f"{CONTEXT_KEY}.":
            problems.append(
                f"{pair!r}: must look like 'summarizer.<section>.<key>=<value>', e.g. "
                "'summarizer.scaling.max_capacity=10'"
            )
            continue
        *parents, leaf = key[len(CONTEXT_KEY) + 1 :].split(".")
        node = overrides
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                problems.append(f"{pair!r}: {part} is already set to a value")
                break
            node = child
        else:
            node[leaf] = _schema().cli_value(raw, None)
    if problems:
        raise SimulationError(subject, problems)
    return overrides


def load_environment(
    cdk_json: Path | str,
    environment: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    cold_start: str | None = None,
) -> Environment:
    """One environment's settings from ``cdk_json`` with ``overrides`` merged in.

    ``cold_start`` (``hub`` or ``staged``) overrides what the configuration implies: staged
    weights when ``model_data_uri`` is set, else a download from the Hub.
    """
    source = Path(cdk_json)
    subject = f"{source} environment {environment!r}"
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise SimulationError(
            str(source), [f"cannot be read ({error.strerror or error})"]
        ) from None
    except ValueError as error:
        raise SimulationError(str(source), [f"is not valid JSON ({error})"]) from None
    block = document.get("context", {}).get(CONTEXT_KEY) if isinstance(document, dict) else None
    environments = block.get("environments") if isinstance(block, dict) else None
    if not isinstance(environments, dict):
        raise SimulationError(
            str(source), [f"context.{CONTEXT_KEY} must hold {{'environments': {{...}}}}"]
        )
    if environment not in environments:
        known = ", ".join(environments) or "none"
        raise SimulationError(
            str(source), [f"environment: unknown environment {environment!r} (known: {known})"]
        )
    section = environments[environment]
    if not isinstance(section, dict):
        raise SimulationError(subject, [f"must be an object (got {section!r})"])
    data = _schema().merge(section, overrides or {})
    problems: list[str] = []
    scaling = _section(ScalingSettings, data, "scaling", problems)
    data_path = _section(DataPathSettings, data, "data_path", problems)
    if scaling is not None:
        problems += [f"scaling.{p}" for p in scaling.problems()]
    if data_path is not None:
        problems += [f"data_path.{p}" for p in data_path.problems()]
    instance_type = data.get("instance_type", "ml.g5.xlarge")
    if not isinstance(instance_type, str):
        problems.append(f"instance_type: must be str (got {instance_type!r})")
    batch_size = _batch_size(data.get("model_environment", {}), problems)
    uri, compression = data.get("model_data_uri"), data.get("model_data_compression", "gzip")
    kind = cold_start or cold_start_kind(uri if isinstance(uri, str) else None, compression)
    if kind not in COLD_STARTS:
        problems.append(f"cold start: must be one of {', '.join(COLD_STARTS)} (got {kind!r})")
    if problems or scaling is None or data_path is None:
        raise SimulationError(subject, problems)
    return Environment(
        name=environment,
        scaling=scaling,
        data_path=data_path,
        cold_start=COLD_STARTS[kind],
        instance_type=instance_type,
        batch_size=batch_size,
    )


def _batch_size(environment: Any, problems: list[str]) -> int:
    """The endpoint's SUMMARIZER_BATCH_SIZE: what the handler reads from its environment."""
    if not isinstance(environment, Mapping):
        problems.append(f"model_environment: must be an object of strings (got {environment!r})")
        return HANDLER_DEFAULT_BATCH_SIZE
    raw = environment.get(BATCH_SIZE_VARIABLE)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return HANDLER_DEFAULT_BATCH_SIZE
    # The app passes it as a string; a -c override may arrive as a number.
    text = str(raw).strip() if not isinstance(raw, bool) else ""
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= HANDLER_MAX_BATCH_SIZE:
        problems.append(
            f"model_environment.{BATCH_SIZE_VARIABLE}: must be a whole number from 1 to "
            f"{HANDLER_MAX_BATCH_SIZE}, as the handler accepts (got {raw!r})"
        )
        return HANDLER_DEFAULT_BATCH_SIZE
    return value


def _section(cls: Any, data: Mapping[str, Any], name: str, problems: list[str]) -> Any:
    """The settings section ``name`` of ``data`` as ``cls``, through the app's own loader."""
    section = data.get(name, {})
    if not isinstance(section, Mapping):
        problems.append(f"{name}: must be an object (got {section!r})")
        return None
    return _schema().build(cls, section, name, problems)


def _schema() -> Any:
    """The app's schema check (``stacks/schema.py``, pydantic), imported when a configuration is
    read: the wheel ships it, and pydantic comes with the ``tools`` or ``cdk`` extra."""
    try:
        from stacks import schema
    except ImportError as error:
        raise SimulationError(
            "configuration",
            [
                f"reading cdk.json needs {error.name or 'pydantic'}: "
                'pip install "pegasus-async-constructs[tools]"'
            ],
        ) from None
    return schema
