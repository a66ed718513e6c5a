"""Calls into the emulator's own AWS APIs, as CloudFormation and the managed services make them.

Resource providers and the service stand-ins act through the public API (over HTTP, against the
emulator itself) rather than by reaching into moto's internals: the API's validation applies, and
the same calls would work against AWS. ``call`` also converts values the way CloudFormation does
before it calls a service: template numbers and booleans often arrive as strings ("5", "true").
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.model import Shape

ACCOUNT = "123456789012"
REGION = "us-east-1"
# The emulator's own principal (CloudFormation's execution role, the services' service roles).
ADMIN_KEY = "AKIAREHEARSALADMIN00"
ADMIN_SECRET = "rehearsal-admin-secret"

_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)


class Api:
    """Cached boto3 clients for one endpoint and one set of credentials."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        key: str = ADMIN_KEY,
        secret: str = ADMIN_SECRET,
        token: str | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self._session = boto3.Session(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=REGION,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str = REGION) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=_CONFIG
                )
            return self._clients[key]

    def call(self, service: str, operation: str, region: str = REGION, **params: Any) -> Any:
        """``client.<operation>(**params)`` with values coerced to the operation's input shape."""
        client = self.client(service, region)
        model = client.meta.service_model.operation_model(operation)
        coerced = coerce(model.input_shape, params) if model.input_shape else params
        method = getattr(client, xform_name(operation))
        return method(**coerced)


def as_role(endpoint_url: str, role_arn: str, name: str) -> Api:
    """Clients acting with ``role_arn``'s session when IAM is enforced, else the admin's."""
    from rehearsal.emulator.state import current

    if current.iam is None:
        return current.require_api()
    credentials = current.iam.session(role_arn, name).credentials
    return Api(
        endpoint_url,
        key=credentials["AWS_ACCESS_KEY_ID"],
        secret=credentials["AWS_SECRET_ACCESS_KEY"],
        token=credentials["AWS_SESSION_TOKEN"],
    )


def coerce(shape: Shape, value: Any) -> Any:
    """``value`` with strings turned into the numbers and booleans ``shape`` asks for."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: coerce(members[k], v) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: coerce(shape.value, v) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, str):
        return int(value)
    if kind in ("double", "float") and isinstance(value, (str, int)):
        return float(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, (bool, int, float)) and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value
