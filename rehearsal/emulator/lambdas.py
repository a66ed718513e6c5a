"""Lambda in the emulator: functions as deployed, run by ``rehearsal.lambdas``.

moto (5.2.x) creates a function from a template without its ``Layers``, ``Architectures``,
``LoggingConfig`` and tracing settings, looks a layer ARN up in the function's own account (a
public layer is in its publisher's), and runs code only in Docker (without Docker its invoke
returns canned strings). Its SQS event source invokes once per message, synchronously inside
``SendMessage``. Here the function keeps every property, ``Invoke`` runs the deployed code in a
local execution environment, and SQS event sources are served by ``rehearsal.lambdas.poller``.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any, ClassVar

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import UnknownLayerVersionException
from moto.awslambda.utils import get_backend, split_layer_arn
from moto.core.exceptions import JsonRESTError as RESTError

from rehearsal.emulator.providers import NotEmulated, Provider
from rehearsal.emulator.state import current
from rehearsal.lambdas.poller import Mapping
from rehearsal.lambdas.runtime import FunctionImage, Outcome, Throttled

# The properties of a function the rehearsal keeps beside moto's model.
_EXTRA = "rehearsal_extra"


class Function(Provider):
    """``AWS::Lambda::Function`` with every property kept (moto's model drops several)."""

    TYPE = "AWS::Lambda::Function"
    NAME_PROPERTY = "FunctionName"
    ATTRIBUTES = frozenset({"Arn"})
    APPLIED = frozenset(
        {
            "Code",
            "FunctionName",
            "Handler",
            "Role",
            "Runtime",
            "Description",
            "MemorySize",
            "Timeout",
            "Environment",
            "ReservedConcurrentExecutions",
            "Layers",
            "Architectures",
            "LoggingConfig",
            "EphemeralStorage",
            "KmsKeyArn",
            "PackageType",
            "Tags",
        }
    )
    INERT: ClassVar[dict[str, str]] = {
        "TracingConfig": "X-Ray is not emulated; the functions' Powertools tracer is told so",
        "VpcConfig": "the emulator has no networks: a function in a VPC reaches every service "
        "as if each interface endpoint existed",
    }

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = dict(cloudformation_json["Properties"])
        spec = {key: value for key, value in properties.items() if key != "Tags"}
        spec["FunctionName"] = resource_name
        if "ZipFile" in spec["Code"]:
            spec["Code"] = {
                "ZipFile": base64.b64encode(
                    lambda_models.LambdaFunction._create_zipfile_from_plaintext_code(
                        spec["Code"]["ZipFile"]
                    )
                )
            }
        if properties.get("Tags"):
            spec["Tags"] = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
        function = get_backend(account_id, region_name).create_function(spec)
        setattr(function, _EXTRA, _extra(properties))
        return function

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = dict(cloudformation_json["Properties"])
        if properties.get("FunctionName", original_resource.function_name) != (
            original_resource.function_name
        ):
            raise NotEmulated("renaming a function (a replacement) is not emulated")
        # A property the new template leaves out returns to Lambda's default, as CloudFormation
        # does; moto's update keeps the old value (a function kept its layer after
        # ``powertools: bundled`` removed it).
        original_resource.update_configuration({**UPDATE_DEFAULTS, **properties})
        original_resource.reserved_concurrency = properties.get("ReservedConcurrentExecutions")
        original_resource.architectures = properties.get("Architectures", ["x86_64"])
        code = properties["Code"]
        if "ZipFile" not in code:
            original_resource.update_function_code(code)
        setattr(original_resource, _EXTRA, _extra(properties))
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        get_backend(account_id, region_name).delete_function(resource_name)


# Lambda's defaults for the properties moto's update_configuration applies
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html).
UPDATE_DEFAULTS: dict[str, Any] = {
    "Description": "",
    "MemorySize": 128,
    "Timeout": 3,
    "VpcConfig": {},
    "Environment": {"Variables": {}},
    "Layers": [],
}


def _extra(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "LoggingConfig": properties.get("LoggingConfig") or {},
        "TracingConfig": properties.get("TracingConfig") or {},
    }


def image_of(function: Any) -> FunctionImage:
    """What an execution environment of ``function`` runs, as the emulator holds it now."""
    extra = getattr(function, _EXTRA, {})
    log_group = (
        extra.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{function.function_name}"
    )
    if function.package_type != "Zip":
        raise NotEmulated(f"{function.function_name}: container-image functions are not emulated")
    return FunctionImage(
        arn=function.function_arn,
        name=function.function_name,
        runtime=function.run_time,
        handler=function.handler,
        timeout_s=int(function.timeout),
        memory_mb=int(function.memory_size),
        environment=tuple(sorted((function.environment_vars or {}).items())),
        code_sha=function.code_sha_256,
        layers=tuple(layer["Arn"] for layer in function.layers),
        log_group=log_group,
        role=function.role,
        reserved_concurrency=(
            None if function.reserved_concurrency is None else int(function.reserved_concurrency)
        ),
    )


def run(function: Any, event: Any) -> Outcome:
    """Invoke ``function`` (a moto LambdaFunction) with ``event`` in an execution environment."""
    service = current.lambdas
    if service is None:
        raise RuntimeError("the emulator's Lambda service is not running")
    return service.invoke(image_of(function), function.code_bytes, event)


def function_by_arn(arn: str) -> Any:
    region, account = arn.split(":")[3], arn.split(":")[4]
    return get_backend(account, region).get_function(arn)


# --- moto patches -------------------------------------------------------------------------------


def _get_layers_data(self: Any, arns: list[str]) -> list[dict[str, Any]]:
    """Look each layer version up in the account its ARN names (public layers included)."""
    found = []
    for arn in arns:
        parts = arn.split(":")
        version = get_backend(parts[4], parts[3]).layers_versions_by_arn(arn)
        if version is None:
            raise UnknownLayerVersionException(arns)
        found.append({"Arn": arn, "CodeSize": version.code_size})
    return found


def layer_zip(arn: str) -> bytes:
    parts = arn.split(":")
    version = get_backend(parts[4], parts[3]).layers_versions_by_arn(arn)
    if version is None:
        name = split_layer_arn(arn).layer_name
        raise NotEmulated(f"layer {name} ({arn}) does not exist in the emulator")
    return bytes(version.code_bytes)


def _invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> Any:
    """``Invoke``: run the deployed code; Lambda's response headers and error shape."""
    event = json.loads(body) if body else {}
    kind = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if kind == "Event":
        threading.Thread(target=run, args=(self, event), daemon=True).start()
        return ""
    if kind == "DryRun":
        return ""
    try:
        outcome = run(self, event)
    except Throttled as error:
        raise RESTError("TooManyRequestsException", str(error)) from None
    if outcome.failed:
        response_headers["x-amz-function-error"] = "Unhandled"
        payload = json.dumps(outcome.error)
    else:
        payload = json.dumps(outcome.result)
    if request_headers.get("x-amz-log-type") == "Tail":
        tail = outcome.log[-4096:].encode()
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return payload.encode()


def _mapping(esm: Any) -> Mapping:
    scaling = esm.scaling_config or {}
    return Mapping(
        uuid=esm.uuid,
        function_arn=esm.function_arn,
        queue_arn=esm.event_source_arn,
        batch_size=int(esm.batch_size),
        window_s=float(esm.max_batch_window or 0),
        partial_batch="ReportBatchItemFailures" in (esm.function_response_types or []),
        max_concurrency=int(scaling["MaximumConcurrency"]) if scaling else None,
        enabled=bool(esm.enabled) and str(esm.enabled).lower() != "false",
    )


_moto_create_esm = lambda_models.LambdaBackend.create_event_source_mapping
_moto_update_esm = lambda_models.LambdaBackend.update_event_source_mapping
_moto_delete_esm = lambda_models.LambdaBackend.delete_event_source_mapping
ESM_UNSUPPORTED = (
    "FilterCriteria",
    "DestinationConfig",
    "BisectBatchOnFunctionError",
    "TumblingWindowInSeconds",
)


def _create_esm(self: Any, spec: dict[str, Any]) -> Any:
    if ":sqs:" not in spec.get("EventSourceArn", ""):
        raise NotEmulated(f"event source {spec.get('EventSourceArn')}: only SQS is emulated")
    for key in ESM_UNSUPPORTED:
        if spec.get(key):
            raise NotEmulated(f"AWS::Lambda::EventSourceMapping {key} is not emulated for SQS")
    esm = _moto_create_esm(self, spec)
    # moto would invoke the function itself, once per message, inside SendMessage.
    from moto.sqs.models import sqs_backends

    for queue in sqs_backends[self.account_id][self.region_name].queues.values():
        queue.lambda_event_source_mappings.pop(esm.function_arn, None)
    if current.pollers is not None:
        current.pollers.add(_mapping(esm))
    return esm


def _update_esm(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
    esm = _moto_update_esm(self, uuid, spec)
    if esm is not None:
        esm.function_response_types = spec.get("FunctionResponseTypes", esm.function_response_types)
        esm.scaling_config = spec.get("ScalingConfig", esm.scaling_config)
        if current.pollers is not None:
            current.pollers.replace(_mapping(esm))
    return esm


def _delete_esm(self: Any, uuid: str) -> Any:
    if current.pollers is not None:
        current.pollers.remove(uuid)
    return _moto_delete_esm(self, uuid)


_moto_delete_function = lambda_models.LambdaBackend.delete_function


def _delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
    try:
        arn = self.get_function(function_name).function_arn
    except Exception:
        arn = None
    _moto_delete_function(self, function_name, qualifier)
    if arn and current.lambdas is not None:
        current.lambdas.forget(arn)


ESM_PROPERTIES = frozenset(
    {
        "BatchSize",
        "Enabled",
        "EventSourceArn",
        "FunctionName",
        "FunctionResponseTypes",
        "MaximumBatchingWindowInSeconds",
        "ScalingConfig",
        *ESM_UNSUPPORTED,
    }
)
PROVIDERS: tuple[type[Provider], ...] = (Function,)


# The resource types the control plane leaves to moto, with the properties it reads.
NATIVE_TYPES = (("AWS::Lambda::EventSourceMapping", ESM_PROPERTIES),)


def install() -> None:
    lambda_models.LambdaFunction._get_layers_data = _get_layers_data  # type: ignore[method-assign]
    lambda_models.LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    lambda_models.LambdaBackend.create_event_source_mapping = _create_esm  # type: ignore[method-assign]
    lambda_models.LambdaBackend.update_event_source_mapping = _update_esm  # type: ignore[method-assign]
    lambda_models.LambdaBackend.delete_event_source_mapping = _delete_esm  # type: ignore[method-assign]
    lambda_models.LambdaBackend.delete_function = _delete_function  # type: ignore[method-assign]
