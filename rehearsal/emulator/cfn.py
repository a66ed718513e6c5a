"""moto's CloudFormation engine, made strict and closer to CloudFormation's lifecycle.

* A resource type without a provider fails the deployment (moto logs a warning and skips it).
* Every property of every resource is either applied or listed as inert with a reason
  (``NATIVE`` for the types moto creates itself, the providers' own tables otherwise); any other
  property fails the deployment.
* An update of a resource whose provider cannot update it fails (moto drops the resource from
  the stack and reports success).
* A failed create, update or delete leaves the stack in ``CREATE_FAILED``, ``UPDATE_FAILED`` or
  ``DELETE_FAILED`` with the reason in its events (moto answers HTTP 500, which the CLI reports as
  an XML parse error), and deletion honours termination protection.
* The template's ``Rules`` are checked before anything is created or updated (``rules.py``);
  moto ignores them.
* Resources are deleted in reverse dependency order (moto tries them in set order and retries),
  so a custom resource's Delete runs while its function still exists.
* Each create, update and delete is journaled: the update check asserts exactly which resources
  an update touched.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError

from rehearsal.emulator import rules
from rehearsal.emulator.providers import PROVIDERS
from rehearsal.emulator.state import current


@dataclass(frozen=True)
class Support:
    """What moto's own model of a type applies, what it leaves out that we supplement, and what
    is inert (accepted, no effect here) with why."""

    applied: frozenset[str]
    inert: Mapping[str, str] = field(default_factory=dict)
    supplement: Callable[[Any, dict[str, Any], str], None] | None = None
    # What CloudFormation does before deleting one, that moto's delete leaves out.
    teardown: Callable[[Any, str], None] | None = None


def _api(service: str, operation: str, region: str, **params: Any) -> Any:
    return current.require_api().call(service, operation, region, **params)


def _role_supplement(role: Any, properties: dict[str, Any], region: str) -> None:
    """moto's Role ignores ManagedPolicyArns: attach them."""
    for arn in properties.get("ManagedPolicyArns", []):
        _api("iam", "AttachRolePolicy", region, RoleName=role.name, PolicyArn=arn)


def _role_teardown(role: Any, region: str) -> None:
    """CloudFormation detaches a role's ManagedPolicyArns before deleting it; moto refuses to
    delete a role with policies attached (DeleteConflict)."""
    attached = _api("iam", "ListAttachedRolePolicies", region, RoleName=role.name)
    for policy in attached["AttachedPolicies"]:
        _api("iam", "DetachRolePolicy", region, RoleName=role.name, PolicyArn=policy["PolicyArn"])


def _table_supplement(table: Any, properties: dict[str, Any], region: str) -> None:
    """moto's Table ignores point-in-time recovery and TTL: set them."""
    if "PointInTimeRecoverySpecification" in properties:
        _api(
            "dynamodb",
            "UpdateContinuousBackups",
            region,
            TableName=table.name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": properties["PointInTimeRecoverySpecification"].get(
                    "PointInTimeRecoveryEnabled", False
                )
            },
        )
    if "TimeToLiveSpecification" in properties:
        _api(
            "dynamodb",
            "UpdateTimeToLive",
            region,
            TableName=table.name,
            TimeToLiveSpecification=properties["TimeToLiveSpecification"],
        )


def _log_group_supplement(group: Any, properties: dict[str, Any], region: str) -> None:
    """moto's LogGroup reads the key as ``kmsKeyId``; the template says ``KmsKeyId``."""
    if "KmsKeyId" in properties:
        group.kms_key_id = properties["KmsKeyId"]


LAMBDA_RETENTION = "no event is older than a rehearsal"
NO_IMAGES = "no container image is pushed in a rehearsal (no Docker): it never acts"
NATIVE: dict[str, Support] = {
    "AWS::IAM::Role": Support(
        frozenset(
            {
                "AssumeRolePolicyDocument",
                "Description",
                "ManagedPolicyArns",
                "MaxSessionDuration",
                "Path",
                "PermissionsBoundary",
                "Policies",
                "RoleName",
                "Tags",
            }
        ),
        supplement=_role_supplement,
        teardown=_role_teardown,
    ),
    "AWS::IAM::Policy": Support(
        frozenset({"PolicyDocument", "PolicyName", "Roles", "Users", "Groups"})
    ),
    "AWS::IAM::ManagedPolicy": Support(
        frozenset(
            {
                "PolicyDocument",
                "ManagedPolicyName",
                "Roles",
                "Users",
                "Groups",
                "Description",
                "Path",
            }
        )
    ),
    "AWS::KMS::Key": Support(
        frozenset({"Description", "EnableKeyRotation", "Enabled", "KeyPolicy", "Tags"}),
        inert={"PendingWindowInDays": "keys are deleted at once when the emulator stops"},
    ),
    "AWS::KMS::Alias": Support(frozenset({"AliasName", "TargetKeyId"})),
    "AWS::SQS::Queue": Support(
        frozenset(
            {
                "QueueName",
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "RedrivePolicy",
                "RedriveAllowPolicy",
                "KmsMasterKeyId",
                "KmsDataKeyReusePeriodSeconds",
                "SqsManagedSseEnabled",
                "ReceiveMessageWaitTimeSeconds",
                "DelaySeconds",
                "MaximumMessageSize",
                "FifoQueue",
                "ContentBasedDeduplication",
                "Tags",
            }
        )
    ),
    "AWS::SNS::Topic": Support(
        frozenset({"TopicName", "DisplayName", "KmsMasterKeyId", "FifoTopic", "Tags"})
    ),
    "AWS::DynamoDB::Table": Support(
        frozenset(
            {
                "TableName",
                "AttributeDefinitions",
                "KeySchema",
                "BillingMode",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "ProvisionedThroughput",
                "SSESpecification",
                "StreamSpecification",
                "DeletionProtectionEnabled",
                "PointInTimeRecoverySpecification",
                "TimeToLiveSpecification",
                "Tags",
            }
        ),
        supplement=_table_supplement,
    ),
    "AWS::Logs::LogGroup": Support(
        frozenset({"LogGroupName", "KmsKeyId", "Tags"}),
        inert={"RetentionInDays": LAMBDA_RETENTION},
        supplement=_log_group_supplement,
    ),
    "AWS::CloudWatch::Dashboard": Support(frozenset({"DashboardName", "DashboardBody"})),
    "AWS::SageMaker::Model": Support(
        frozenset(
            {
                "ModelName",
                "ExecutionRoleArn",
                "PrimaryContainer",
                "Containers",
                "VpcConfig",
                "Tags",
            }
        ),
        inert={"EnableNetworkIsolation": "the stand-in's model server makes no outbound calls"},
    ),
    "AWS::SageMaker::EndpointConfig": Support(
        frozenset(
            {
                "EndpointConfigName",
                "ProductionVariants",
                "AsyncInferenceConfig",
                "DataCaptureConfig",
                "KmsKeyId",
                "Tags",
            }
        )
    ),
    "AWS::SageMaker::Endpoint": Support(
        frozenset({"EndpointName", "EndpointConfigName", "Tags"}),
        inert={
            "RetainAllVariantProperties": "updates replace the stand-in's whole configuration",
            "DeploymentConfig": (
                "an update switches the stand-in to the new configuration at once: no blue/green "
                "fleet, no baking period, and alarms never evaluate, so no rollback"
            ),
        },
    ),
    "AWS::SSM::Parameter": Support(
        frozenset({"Name", "Type", "Value", "Description", "Tags", "Tier", "DataType"})
    ),
    "AWS::ECR::Repository": Support(
        frozenset(
            {
                "RepositoryName",
                "ImageTagMutability",
                "ImageScanningConfiguration",
                "EncryptionConfiguration",
                "Tags",
            }
        ),
        inert={
            "LifecyclePolicy": NO_IMAGES,
            "RepositoryPolicyText": NO_IMAGES,
            "EmptyOnDelete": NO_IMAGES,
        },
    ),
    "AWS::Events::Rule": Support(
        frozenset(
            {"Name", "Description", "EventBusName", "EventPattern", "State", "Targets", "RoleArn"}
        )
    ),
}
# Custom resources of any name are ours (custom_resources.py).
CUSTOM_TYPE = re.compile(r"^(Custom::[A-Za-z0-9_@-]{1,60}|AWS::CloudFormation::CustomResource)$")


class TypeNotEmulated(ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message)


_providers: dict[str, type[Any]] = {}
_moto_resource_class = parsing.resource_class_from_type


def register(*providers: type[Any]) -> None:
    """Make ``providers`` the classes for their types (the rehearsal's win over moto's)."""
    for provider in providers:
        _providers[provider.cloudformation_type()] = provider


def resource_class_from_type(resource_type: str) -> type[Any]:
    if resource_type in _providers:
        return _providers[resource_type]
    if CUSTOM_TYPE.match(resource_type):
        return _providers["Custom::*"]
    if resource_type in NATIVE:
        found = _moto_resource_class(resource_type)
        if found is not None:
            return found
    raise TypeNotEmulated(
        f"Resource type {resource_type} is not emulated: the rehearsal creates every resource "
        "or fails (add a provider in rehearsal/emulator/)"
    )


def support_of(resource_type: str) -> tuple[frozenset[str], Mapping[str, str]]:
    provider = _providers.get(resource_type) or (
        _providers["Custom::*"] if CUSTOM_TYPE.match(resource_type) else None
    )
    if provider is not None:
        return provider.APPLIED, provider.INERT
    support = NATIVE[resource_type]
    return support.applied, support.inert


def audit(resource_type: str, properties: Mapping[str, Any]) -> None:
    """Fail on any property that would be dropped; journal the inert ones."""
    applied, inert = support_of(resource_type)
    if CUSTOM_TYPE.match(resource_type):
        return  # a custom resource's properties are its function's business
    unknown = sorted(set(properties) - set(applied) - set(inert))
    if unknown:
        raise TypeNotEmulated(
            f"{resource_type}: properties {', '.join(unknown)} are not emulated (they would be "
            "dropped): apply them in rehearsal/emulator/ or list them as inert with a reason"
        )
    for name in properties:
        if name in inert:
            current.journal.inert[(resource_type, name)] = inert[name]


# --- create and update, journaled and evented ---------------------------------------------------


def _stack_of(resources_map: Any) -> Any:
    backend = cfn_models.cloudformation_backends[resources_map._account_id][
        resources_map._region_name
    ]
    return backend.get_stack(resources_map.stack_id)


def _event(stack: Any, logical_id: str, resource_type: str, status: str, reason: str = "") -> None:
    physical = ""
    resource = stack.resource_map._parsed_resources.get(logical_id)
    if resource is not None and hasattr(resource, "physical_resource_id"):
        physical = str(resource.physical_resource_id)
    stack.events.append(
        cfn_models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason or None,
            resource_properties=None,
        )
    )


_moto_create = parsing.parse_and_create_resource
_moto_update = parsing.parse_and_update_resource


def parse_and_create_resource(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    condition = resource_json.get("Condition")
    if condition and not resources_map.lazy_condition_map[condition]:
        return None
    resource_type = resource_json["Type"]
    stack = _stack_of(resources_map)
    resource_class_from_type(resource_type)
    if stack.status.endswith("FAILED"):
        # moto creates resources lazily, also when DescribeStacks reads the outputs: nothing
        # more is created once the operation failed.
        raise ValidationError(message=f"{stack.name} is {stack.status}")
    try:
        audit(resource_type, resource_json.get("Properties") or {})
        resource = _moto_create(logical_id, resource_json, resources_map, account_id, region_name)
        if resource is None:
            raise TypeNotEmulated(f"{resource_type} {logical_id} was not created")
        if resource_type in NATIVE and NATIVE[resource_type].supplement:
            properties = parsing.clean_json(resource_json.get("Properties") or {}, resources_map)
            NATIVE[resource_type].supplement(resource, properties, region_name)  # type: ignore[misc]
    except Exception as error:
        _event(stack, logical_id, resource_type, "CREATE_FAILED", _reason(error))
        raise
    current.journal.record(stack.name, logical_id, resource_type, "create")
    _event(stack, logical_id, resource_type, "CREATE_COMPLETE")
    return resource


def parse_and_update_resource(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    resource_type = resource_json["Type"]
    stack = _stack_of(resources_map)
    resource_class = resource_class_from_type(resource_type)
    try:
        audit(resource_type, resource_json.get("Properties") or {})
        if hasattr(resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
            raise TypeNotEmulated(
                f"{resource_type} {logical_id}: updating this type is not emulated"
            )
        resource = _moto_update(logical_id, resource_json, resources_map, account_id, region_name)
        if resource is None:
            raise TypeNotEmulated(f"{resource_type} {logical_id} was not updated")
        if resource_type in NATIVE and NATIVE[resource_type].supplement:
            properties = parsing.clean_json(resource_json.get("Properties") or {}, resources_map)
            NATIVE[resource_type].supplement(resource, properties, region_name)  # type: ignore[misc]
    except Exception as error:
        _event(stack, logical_id, resource_type, "UPDATE_FAILED", _reason(error))
        raise
    current.journal.record(stack.name, logical_id, resource_type, "update")
    _event(stack, logical_id, resource_type, "UPDATE_COMPLETE")
    return resource


def _reason(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return f"{type(error).__name__}: {message}"


# --- deletion in reverse dependency order -------------------------------------------------------


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else str(value).split(".")[0]
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                for name in re.findall(r"\$\{([^!}][^}]*)\}", str(text)):
                    yield name.split(".")[0]
                if isinstance(value, list):
                    yield from _references(value[1])
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def dependencies(template_resources: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each resource, the resources it depends on (DependsOn, Ref, GetAtt, Sub)."""
    graph: dict[str, set[str]] = {}
    for logical_id, resource in template_resources.items():
        depends = resource.get("DependsOn", [])
        found = set(depends if isinstance(depends, list) else [depends])
        found |= set(_references(resource.get("Properties", {})))
        graph[logical_id] = {name for name in found if name in template_resources}
    return graph


def delete_resources(self: Any) -> None:
    """``ResourceMap.delete``: dependents first; Retain resources are left in place."""
    template = self._resource_json_map
    graph = dependencies(template)
    stack_name = self._parsed_resources.get("AWS::StackName", "")
    remaining = {
        name
        for name in template
        if template[name].get("DeletionPolicy") not in ("Retain", "RetainExceptOnCreate")
    }
    for name in set(template) - remaining:
        current.journal.record(stack_name, name, template[name]["Type"], "retain")
    while remaining:
        ready = sorted(
            name
            for name in remaining
            if not any(name in graph[other] for other in remaining if other != name)
        )
        if not ready:
            raise ValidationError(message=f"dependency cycle among {sorted(remaining)}")
        for name in ready:
            resource = self._parsed_resources.get(name)
            if resource is not None and not isinstance(resource, str):
                support = NATIVE.get(template[name]["Type"])
                if support is not None and support.teardown is not None:
                    support.teardown(resource, self._region_name)
                self._delete_resource(resource, template[name])
                self._parsed_resources.pop(name, None)
                current.journal.record(stack_name, name, template[name]["Type"], "delete")
            remaining.discard(name)


# --- stack operations: failures become stack states ---------------------------------------------


def _fail(stack: Any, status: str, error: BaseException) -> None:
    reason = _reason(error)
    current.journal.failures.append(f"{stack.name}: {status}: {reason}")
    current.journal.failures.append(traceback.format_exc())
    stack.status = status
    stack._add_stack_event(status, resource_status_reason=reason)


_moto_create_resources = cfn_models.Stack.create_resources
_moto_stack_update = cfn_models.Stack.update


def stack_outputs(self: Any) -> Any:
    """``Stack.outputs``: only once the stack is complete (reading them earlier would create
    resources; a failed stack has none)."""
    if not str(self.status).endswith("_COMPLETE") or "ROLLBACK" in str(self.status):
        return None
    return _moto_outputs.fget(self)


_moto_outputs = cfn_models.Stack.outputs


def create_resources(self: Any) -> None:
    try:
        _moto_create_resources(self)
    except Exception as error:
        _fail(self, "CREATE_FAILED", error)


def stack_update(self: Any, *args: Any, **kwargs: Any) -> None:
    try:
        _moto_stack_update(self, *args, **kwargs)
    except Exception as error:
        _fail(self, "UPDATE_FAILED", error)


def delete_stack(self: Any, name_or_stack_id: str) -> None:
    """``CloudFormationBackend.delete_stack`` with termination protection and DELETE_FAILED."""
    stack = next(
        (s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)), None
    )
    if stack is None:
        return
    if stack.enable_termination_protection:
        raise ValidationError(
            message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
        )
    try:
        stack.delete()
    except Exception as error:
        _fail(stack, "DELETE_FAILED", error)
        return
    self.stacks.pop(stack.stack_id, None)
    self.deleted_stacks[stack.stack_id] = stack
    for export in stack.exports:
        self.exports.pop(export.name, None)


# --- Rules ----------------------------------------------------------------------------------

PSEUDO = ("AWS::AccountId", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
          "AWS::Partition", "AWS::NoValue")  # fmt: skip
_moto_load = parsing.ResourceMap.load
_moto_update_stack = cfn_models.CloudFormationBackend.update_stack


def load_resource_map(self: Any) -> None:
    """``ResourceMap.load`` (parameters, conditions) and then the template's rules: a failed
    assertion refuses CreateStack before the stack exists, as CloudFormation does."""
    _moto_load(self)
    values = {key: self._parsed_resources[key] for key in PSEUDO}
    values.update(self.resolved_parameters)
    rules.check(self._template, values)


def update_stack(
    self: Any,
    name: str,
    template: str,
    role_arn: str | None,
    parameters: list[dict[str, Any]],
    tags: dict[str, str] | None,
) -> Any:
    """``CloudFormationBackend.update_stack``, refused when the new template's rules fail on
    the parameter values the update would use."""
    stack = self.get_stack(name)
    new = stack.parse_template(template)
    passed = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    resource_map = stack.resource_map
    values = {key: resource_map._parsed_resources[key] for key in PSEUDO}
    for key, declared in (new.get("Parameters") or {}).items():
        value = passed.get(key, declared.get("Default"))
        kind = declared.get("Type", "String")
        if value is not None and kind.startswith("AWS::SSM::Parameter::"):
            value = resource_map.parse_ssm_parameter(value, kind)
        values[key] = value
    rules.check(new, values)
    return _moto_update_stack(self, name, template, role_arn, parameters, tags)


# --- SSM-typed parameters -------------------------------------------------------------------


def parse_ssm_parameter(self: Any, value: str, value_type: str) -> Any:
    """A missing parameter is a clear validation error (moto: HTTP 500 on None.value)."""
    from moto.ssm.models import ssm_backends

    parameter = ssm_backends[self._account_id][self._region_name].get_parameter(value)
    if parameter is None:
        raise ValidationError(
            message=f"Unable to fetch parameters [{value}] from parameter store for this account."
        )
    if "List" in value_type:
        return parameter.value.split(",")
    return parameter.value


_moto_load_parameters = parsing.ResourceMap.load_parameters


def load_parameters(self: Any) -> None:
    """``ResourceMap.load_parameters`` from the current template alone: moto kept the values of
    parameters an update removed, DescribeStacks went on listing them, and the CLI then sent
    ``UsePreviousValue`` for such a parameter when a later template declared it again (our
    Powertools parameter, between ``powertools: bundled`` and ``layer``): the update failed."""
    self.resolved_parameters = {}
    _moto_load_parameters(self)


def resolve_update_parameters(self: Any, instance: Any, incoming_params: list[Any]) -> Any:
    """``UsePreviousValue`` of a parameter the stack took from its default means that default
    (for an SSM-typed parameter: the parameter's name); moto raises KeyError (HTTP 500)."""
    parameters = {
        p["ParameterKey"]: p["ParameterValue"] for p in incoming_params if "ParameterValue" in p
    }
    declared = (getattr(instance, "template_dict", None) or {}).get("Parameters", {})
    for parameter in incoming_params:
        if not parameter.get("UsePreviousValue", False):
            continue
        key = parameter["ParameterKey"]
        if key in instance.parameters:
            parameters[key] = instance.parameters[key]
        elif "Default" in declared.get(key, {}):
            parameters[key] = declared[key]["Default"]
        else:
            raise ValidationError(message=f"Parameter {key} has no previous value")
    return parameters


def build_resource_diff(
    self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
) -> dict[str, list[str]]:
    """``ResourceMap.build_resource_diff``: a parameter changed when its resolved value did.

    moto compares the parameters as passed: a parameter first taken from its default and then
    passed with UsePreviousValue (what the CDK CLI does) counts as changed, and every resource
    that references it is updated. CloudFormation updates only what the template or a
    parameter's value changed.
    """
    old, new = self._resource_json_map, other_template["Resources"]
    actions = {
        "Add": [name for name in new if name not in old],
        "Modify": [name for name in new if name in old and new[name] != old[name]],
        "Remove": [name for name in old if name not in new],
    }
    declared = other_template.get("Parameters", {})
    changed = set()
    for key, value in (parameters or {}).items():
        kind = declared.get(key, {}).get("Type", "String")
        resolved = self.parse_ssm_parameter(value, kind) if kind.startswith("AWS::SSM") else value
        if str(resolved) != str(self.resolved_parameters.get(key)):
            changed.add(key)
    for name in new:
        unchanged = name in old and name not in actions["Modify"]
        if unchanged and changed & set(parsing.get_references_from_template(new[name])):
            actions["Modify"].append(name)
    return actions


def coverage(stack: Any) -> list[tuple[str, str, str | None]]:
    """(logical id, type, physical id or None) for each resource the template asks for."""
    rows = []
    resource_map = stack.resource_map
    for logical_id, resource in resource_map._resource_json_map.items():
        condition = resource.get("Condition")
        if condition and not resource_map.lazy_condition_map[condition]:
            continue
        created = resource_map._parsed_resources.get(logical_id)
        physical = None
        if created is not None:
            physical = str(getattr(created, "physical_resource_id", created))
        rows.append((logical_id, resource["Type"], physical))
    return rows


@functools.cache
def install(*providers: type[Any], native: tuple[tuple[str, frozenset[str]], ...] = ()) -> None:
    """Route moto's CloudFormation through the rehearsal: the providers of ``providers.py``
    and ``providers`` (the other modules' resource classes) win over moto's, and ``native``
    adds resource types left to moto, with the properties each reads."""
    register(*PROVIDERS, *providers)
    for resource_type, properties in native:
        NATIVE[resource_type] = Support(properties)
    parsing.resource_class_from_type = resource_class_from_type
    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource
    parsing.ResourceMap.delete = delete_resources  # type: ignore[method-assign]
    parsing.ResourceMap.load = load_resource_map  # type: ignore[method-assign]
    parsing.ResourceMap.load_parameters = load_parameters  # type: ignore[method-assign]
    cfn_models.CloudFormationBackend.update_stack = update_stack  # type: ignore[method-assign]
    parsing.ResourceMap.parse_ssm_parameter = parse_ssm_parameter  # type: ignore[method-assign]
    parsing.ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign]
    cfn_models.Stack.create_resources = create_resources  # type: ignore[method-assign]
    cfn_models.Stack.outputs = property(stack_outputs)  # type: ignore[method-assign,assignment]
    cfn_models.Stack.update = stack_update  # type: ignore[method-assign]
    cfn_models.CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
    cfn_models.CloudFormationBackend._resolve_update_parameters = resolve_update_parameters  # type: ignore[method-assign]
