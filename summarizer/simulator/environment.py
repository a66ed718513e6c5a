"""An environment of ``cdk.json`` as the simulator takes it, read by the app's own loader.

``load_environment`` hands ``cdk.json``'s context and the ``-c`` overrides to
``stacks.config.load_configs``, exactly as a synth does (the same merge rules, types, checks and
messages; ``-c summarizer.scaling.max_capacity=10`` overrides one key, parsed as the field's
type), and takes from the validated ``AppConfig`` what a simulation needs: the scaling and data
path settings, the instance type, the handler's batch size and the cold start. So what is
simulated is exactly what would deploy, and a configuration the app refuses is refused here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from constructs_lib._validation import ConfigurationError
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


def parse_overrides(pairs: Sequence[str], subject: str = "-c") -> dict[str, str]:
    """``summarizer.a.b=value`` pairs as the context keys ``cdk -c`` would give the app."""
    problems: list[str] = []
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, equals, raw = pair.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not equals or parts[0] != CONTEXT_KEY or len(parts) < 2 or not all(parts):
            problems.append(
                f"{pair!r}: must look like 'summarizer.<section>.<key>=<value>', e.g. "
                "'summarizer.scaling.max_capacity=10'"
            )
            continue
        overrides[key] = raw
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
    """One environment of ``cdk_json``, with ``overrides`` (context keys such as
    ``summarizer.scaling.max_capacity``, as ``parse_overrides`` makes them) given on top.

    ``cold_start`` (``hub``, ``staged`` or ``staged_uncompressed``) overrides what the
    configuration implies: staged weights when ``model_data_uri`` is set, else the Hub.
    """
    source = Path(cdk_json)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise SimulationError(
            str(source), [f"cannot be read ({error.strerror or error})"]
        ) from None
    except ValueError as error:
        raise SimulationError(str(source), [f"is not valid JSON ({error})"]) from None
    context = document.get("context") if isinstance(document, dict) else None
    context = dict(context) if isinstance(context, Mapping) else {}
    context.update(overrides or {})
    context[f"{CONTEXT_KEY}.environment"] = environment
    # The app's one loader, imported here: it needs pydantic (the `tools` or `cdk` extra).
    try:
        from stacks.config import load_configs
    except ImportError as error:
        raise SimulationError(
            "configuration",
            [
                f"reading cdk.json needs {error.name or 'pydantic'}: "
                'pip install "pegasus-async-constructs[tools]"'
            ],
        ) from None
    subject = f"{source} environment {environment!r}"
    try:
        (config,) = load_configs(context)
    except ConfigurationError as error:
        # Problems of this environment carry its name: the subject says it already.
        prefix = f"[{environment}] "
        raise SimulationError(subject, [p.removeprefix(prefix) for p in error.problems]) from None
    problems: list[str] = []
    batch_size = _batch_size(config.model_environment, problems)
    kind = cold_start or cold_start_kind(config.model_data_uri, config.model_data_compression)
    if kind not in COLD_STARTS:
        problems.append(f"cold start: must be one of {', '.join(COLD_STARTS)} (got {kind!r})")
    if problems:
        raise SimulationError(subject, problems)
    return Environment(
        name=environment,
        scaling=config.scaling,
        data_path=config.data_path,
        cold_start=COLD_STARTS[kind],
        instance_type=config.instance_type,
        batch_size=batch_size,
    )


def _batch_size(environment: Mapping[str, str], problems: list[str]) -> int:
    """The endpoint's SUMMARIZER_BATCH_SIZE: what the handler reads from its environment."""
    raw = environment.get(BATCH_SIZE_VARIABLE)
    if raw is None or not raw.strip():
        return HANDLER_DEFAULT_BATCH_SIZE
    text = raw.strip()
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= HANDLER_MAX_BATCH_SIZE:
        problems.append(
            f"model_environment.{BATCH_SIZE_VARIABLE}: must be a whole number from 1 to "
            f"{HANDLER_MAX_BATCH_SIZE}, as the handler accepts (got {raw!r})"
        )
        return HANDLER_DEFAULT_BATCH_SIZE
    return value
