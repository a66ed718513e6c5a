"""Custom resources as CloudFormation runs them, without Docker.

moto (5.2.x) sends only a Create request, runs the function only in Docker, passes property
values as JSON booleans and numbers (CloudFormation sends strings: CDK's S3 notifications handler
breaks on a boolean), points the response URL at ``host.docker.internal``, and ignores FAILED
responses, so a failing handler leaves the stack in progress forever.

Here each lifecycle request (Create, Update, Delete) invokes the service token's function in a
local execution environment with properties as CloudFormation sends them, and waits for the
function's PUT to the response URL (served by the emulator itself): SUCCESS gives the physical id
and the ``Data`` attributes, FAILED fails the operation with the handler's reason.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, ClassVar

from rehearsal.emulator import lambdas
from rehearsal.emulator.providers import NotEmulated, Provider
from rehearsal.emulator.state import current

RESPONSE_PATH = "/_rehearsal/cfn-response/"
# How long CloudFormation waits beyond the function's own timeout for a response.
RESPONSE_GRACE_S = 30.0


class CustomResourceFailed(Exception):
    """The handler answered FAILED, or never answered."""


class Responses:
    """The response URLs in flight and what was PUT to them."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._answers: dict[str, dict[str, Any]] = {}

    def new(self) -> str:
        return uuid.uuid4().hex

    def put(self, token: str, body: bytes) -> bool:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = {"Status": "FAILED", "Reason": f"response body is not JSON: {body[:200]!r}"}
        with self._lock:
            self._answers[token] = answer
            self._lock.notify_all()
        return True

    def wait(self, token: str, timeout: float) -> dict[str, Any] | None:
        with self._lock:
            self._lock.wait_for(lambda: token in self._answers, timeout)
            return self._answers.pop(token, None)


RESPONSES = Responses()


def as_cloudformation_sends(value: Any) -> Any:
    """CloudFormation passes every scalar property of a custom resource as a string."""
    if isinstance(value, dict):
        return {k: as_cloudformation_sends(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_cloudformation_sends(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


class CustomResource(Provider):
    TYPE = "Custom::*"
    APPLIED = frozenset({"ServiceToken"})
    INERT: ClassVar[dict[str, str]] = {}

    def has_attribute(self, name: str) -> bool:
        return name in self.attributes

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # whatever the handler returns in Data

    def _request(
        self, kind: str, properties: dict[str, Any], old: dict[str, Any] | None
    ) -> dict[str, Any]:
        token = RESPONSES.new()
        event: dict[str, Any] = {
            "RequestType": kind,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": f"{current.endpoint_url}{RESPONSE_PATH}{token}",
            "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": as_cloudformation_sends(properties),
        }
        if kind != "Create":
            event["PhysicalResourceId"] = self.physical_id
        if old is not None:
            event["OldResourceProperties"] = as_cloudformation_sends(old)
        function = lambdas.function_by_arn(properties["ServiceToken"])
        outcome = lambdas.run(function, event)
        answer = RESPONSES.wait(token, timeout=0 if outcome.failed else RESPONSE_GRACE_S)
        if answer is None:
            detail = outcome.describe() if outcome.failed else "no response was sent"
            raise CustomResourceFailed(
                f"{self.resource_type} {self.logical_id} {kind}: {detail}\n{outcome.log[-1500:]}"
            )
        if answer.get("Status") != "SUCCESS":
            raise CustomResourceFailed(
                f"{self.resource_type} {self.logical_id} {kind} FAILED: {answer.get('Reason')}"
            )
        return answer

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Provider:
        provider = cls(
            resource_name,
            dict(cloudformation_json.get("Properties") or {}),
            logical_id=kwargs["LogicalId"],
            stack_id=kwargs["StackId"],
            account_id=account_id,
            region=region_name,
        )
        provider.resource_type = kwargs["ResourceType"]
        provider.create()
        return provider

    resource_type: str = "Custom::Resource"

    def create(self) -> None:
        if "ServiceToken" not in self.properties:
            raise NotEmulated(f"{self.logical_id}: a custom resource needs a ServiceToken")
        if ":sns:" in self.properties["ServiceToken"]:
            raise NotEmulated("custom resources backed by an SNS topic are not emulated")
        answer = self._request("Create", self.properties, None)
        self.physical_id = answer.get("PhysicalResourceId") or self.physical_id
        self.attributes = dict(answer.get("Data") or {})

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        old = self.properties
        old_physical = self.physical_id
        answer = self._request("Update", properties, old)
        self.properties = properties
        self.physical_id = answer.get("PhysicalResourceId") or old_physical
        self.attributes = dict(answer.get("Data") or {})
        if self.physical_id != old_physical:
            # A new physical id is a replacement: CloudFormation deletes the old one afterwards.
            replaced = type(self)(
                old_physical,
                old,
                logical_id=self.logical_id,
                stack_id=self.stack_id,
                account_id=self.account_id,
                region=self.region,
            )
            replaced.resource_type = self.resource_type
            replaced.physical_id = old_physical
            replaced.remove()
        return self

    def remove(self) -> None:
        self._request("Delete", self.properties, None)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            raise NotEmulated(
                f"{self.resource_type} {self.logical_id}: its handler returned no "
                f"{attribute_name!r} in Data"
            )
        return self.attributes[attribute_name]


def wsgi_response(token: str, body: bytes) -> tuple[int, bytes]:
    """The emulator's handler for PUTs to a response URL (what S3's presigned URL does)."""
    RESPONSES.put(token, body)
    return 200, b""
