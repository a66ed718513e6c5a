"""The running emulator's services, for the code moto calls back into (providers, patches).

moto's backends are process-wide; so is this: one emulator runs per process at a time. The
services use this state; it does not know their modules (``Emulator`` in ``server.py`` fills
it in), so each field names its service's class in a comment rather than by import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Journal:
    """What the control plane did, for the report and the update/teardown checks."""

    # (stack name, logical id, resource type, action) in order; action: create/update/delete.
    operations: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Resource properties accepted without an effect here, and why: (type, property) -> reason.
    inert: dict[tuple[str, str], str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, stack: str, logical_id: str, resource_type: str, action: str) -> None:
        self.operations.append((stack, logical_id, resource_type, action))

    def since(self, mark: int) -> list[tuple[str, str, str, str]]:
        return self.operations[mark:]


@dataclass
class State:
    api: Any = None  # aws.Api: SDK clients on the emulator, as the CLI's role or another
    lambdas: Any = None  # lambdas.runtime.LambdaService
    pollers: Any = None  # lambdas.poller.Pollers
    endpoints: Any = None  # endpoint.EndpointService
    faults: Any = None  # faults.Faults
    iam: Any = None  # iam.Enforcer
    endpoint_url: str = ""
    journal: Journal = field(default_factory=Journal)
    extras: dict[str, Any] = field(default_factory=dict)

    def require_api(self) -> Any:
        if self.api is None:
            raise RuntimeError("the emulator is not running")
        return self.api


current = State()
