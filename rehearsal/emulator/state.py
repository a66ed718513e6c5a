"""The running emulator's services, for the code moto calls back into (providers, patches).

moto's backends are process-wide; so is this: one emulator runs per process at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rehearsal.emulator.aws import Api
    from rehearsal.emulator.endpoint import EndpointService
    from rehearsal.emulator.faults import Faults
    from rehearsal.emulator.iam import Enforcer
    from rehearsal.lambdas.poller import Pollers
    from rehearsal.lambdas.runtime import LambdaService


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
    api: Api | None = None
    lambdas: LambdaService | None = None
    pollers: Pollers | None = None
    endpoints: EndpointService | None = None
    faults: Faults | None = None
    iam: Enforcer | None = None
    endpoint_url: str = ""
    journal: Journal = field(default_factory=Journal)
    extras: dict[str, Any] = field(default_factory=dict)

    def require_api(self) -> Api:
        if self.api is None:
            raise RuntimeError("the emulator is not running")
        return self.api


current = State()
