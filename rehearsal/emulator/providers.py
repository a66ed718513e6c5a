"""CloudFormation resource providers for the types moto's CloudFormation cannot create.

Each provider creates real emulator state through the emulator's own API, the way CloudFormation
calls a service: an alarm is a CloudWatch alarm ``DescribeAlarms`` lists, a queue policy is the
queue's ``Policy`` attribute, a scalable target is registered with Application Auto Scaling.
Every provider names the properties it applies (``APPLIED``) and the ones that are accepted but
have no effect in a rehearsal, with the reason (``INERT``); a property in neither makes the
deployment fail (see cfn.audit), so nothing in a template is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.cloudformation.utils import random_suffix
from moto.core.common_models import CloudFormationModel

from rehearsal.emulator.state import current


class NotEmulated(Exception):
    """A template asks for something the emulator cannot do faithfully: the deploy fails."""


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Provider(CloudFormationModel):
    """Base of the rehearsal's providers (not a resource type itself)."""

    TYPE: ClassVar[str] = "Rehearsal::Provider::Base"
    NAME_PROPERTY: ClassVar[str] = ""
    APPLIED: ClassVar[frozenset[str]] = frozenset()
    INERT: ClassVar[Mapping[str, str]] = {}
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        name: str,
        properties: dict[str, Any],
        *,
        logical_id: str,
        stack_id: str,
        account_id: str,
        region: str,
    ) -> None:
        self.name = name
        self.properties = properties
        self.logical_id = logical_id
        self.stack_id = stack_id
        self.account_id = account_id
        self.region = region
        self.physical_id = name
        self.attributes: dict[str, Any] = {}

    # --- moto's CloudFormationModel interface ------------------------------------------------

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:  # type: ignore[override]
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

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
        provider.create()
        return provider

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: Provider,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Provider:
        return original_resource.update(
            dict(cloudformation_json.get("Properties") or {}), new_resource_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        raise NotEmulated(f"{cls.TYPE} {resource_name}: delete goes through the instance")

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            raise NotEmulated(f"{self.TYPE} has no attribute {attribute_name!r} here")
        return self.attributes[attribute_name]

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove()

    def is_created(self) -> bool:
        return True

    # --- what each provider implements ---------------------------------------------------------

    def create(self) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        """Default: replacement (remove, then create with the new properties)."""
        self.remove()
        replacement = type(self)(
            properties.get(self.NAME_PROPERTY, new_name),
            properties,
            logical_id=self.logical_id,
            stack_id=self.stack_id,
            account_id=self.account_id,
            region=self.region,
        )
        replacement.create()
        return replacement

    def call(self, service: str, operation: str, **params: Any) -> Any:
        return current.require_api().call(service, operation, self.region, **params)

    def stack_name(self) -> str:
        return self.stack_id.split("/")[1] if "/" in self.stack_id else self.stack_id


class CdkMetadata(Provider):
    """``AWS::CDK::Metadata``: CloudFormation accepts it and creates nothing (CDK's analytics)."""

    TYPE = "AWS::CDK::Metadata"
    INERT: ClassVar[Mapping[str, str]] = {
        "Analytics": "CDK's usage analytics; CloudFormation creates no resource for it"
    }

    def create(self) -> None:
        self.physical_id = f"{self.stack_name()}-{self.logical_id}"

    def remove(self) -> None:
        pass

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        self.properties = properties
        return self


# --- CloudWatch -------------------------------------------------------------------------------


class Alarm(Provider):
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = frozenset({"Arn"})
    APPLIED = frozenset(
        {
            "AlarmName",
            "AlarmDescription",
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "ComparisonOperator",
            "DatapointsToAlarm",
            "Dimensions",
            "EvaluateLowSampleCountPercentile",
            "EvaluationPeriods",
            "ExtendedStatistic",
            "MetricName",
            "Metrics",
            "Namespace",
            "Period",
            "Statistic",
            "Threshold",
            "ThresholdMetricId",
            "TreatMissingData",
            "Unit",
        }
    )

    def create(self) -> None:
        params = {k: v for k, v in self.properties.items() if k != "AlarmName"}
        self.call("cloudwatch", "PutMetricAlarm", AlarmName=self.name, **params)
        self.attributes["Arn"] = (
            f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}"
        )

    def remove(self) -> None:
        self.call("cloudwatch", "DeleteAlarms", AlarmNames=[self.name])

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        if properties.get("AlarmName", self.name) != self.name:
            return super().update(properties, new_name)
        self.properties = properties
        self.create()  # PutMetricAlarm replaces the alarm's whole definition
        return self


# --- resource policies --------------------------------------------------------------------------


class QueuePolicy(Provider):
    TYPE = "AWS::SQS::QueuePolicy"
    APPLIED = frozenset({"PolicyDocument", "Queues"})

    def create(self) -> None:
        self.physical_id = f"{self.stack_name()}-{self.logical_id}-{random_suffix()}"
        for url in _as_list(self.properties["Queues"]):
            self.call(
                "sqs",
                "SetQueueAttributes",
                QueueUrl=url,
                Attributes={"Policy": _json(self.properties["PolicyDocument"])},
            )

    def remove(self) -> None:
        for url in _as_list(self.properties["Queues"]):
            try:
                self.call("sqs", "SetQueueAttributes", QueueUrl=url, Attributes={"Policy": ""})
            except Exception as error:  # the queue may be gone already
                if "NonExistentQueue" not in str(error):
                    raise

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        self.remove()
        self.properties = properties
        physical = self.physical_id
        self.create()
        self.physical_id = physical
        return self


class TopicPolicy(Provider):
    TYPE = "AWS::SNS::TopicPolicy"
    APPLIED = frozenset({"PolicyDocument", "Topics"})

    def create(self) -> None:
        self.physical_id = f"{self.stack_name()}-{self.logical_id}-{random_suffix()}"
        for arn in _as_list(self.properties["Topics"]):
            self.call(
                "sns",
                "SetTopicAttributes",
                TopicArn=arn,
                AttributeName="Policy",
                AttributeValue=_json(self.properties["PolicyDocument"]),
            )

    def remove(self) -> None:
        # SNS has no "no policy": deleting a TopicPolicy restores the topic's default policy.
        for arn in _as_list(self.properties["Topics"]):
            default = {
                "Version": "2008-10-17",
                "Statement": [
                    {
                        "Sid": "__default_statement_ID",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": ["SNS:Publish", "SNS:GetTopicAttributes"],
                        "Resource": arn,
                        "Condition": {"StringEquals": {"AWS:SourceOwner": self.account_id}},
                    }
                ],
            }
            try:
                self.call(
                    "sns",
                    "SetTopicAttributes",
                    TopicArn=arn,
                    AttributeName="Policy",
                    AttributeValue=json.dumps(default),
                )
            except Exception as error:
                if "NotFound" not in str(error):
                    raise

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        self.properties = properties
        physical = self.physical_id
        self.create()
        self.physical_id = physical
        return self


class BucketPolicy(Provider):
    TYPE = "AWS::S3::BucketPolicy"
    APPLIED = frozenset({"Bucket", "PolicyDocument"})

    def create(self) -> None:
        self.physical_id = self.properties["Bucket"]
        self.call(
            "s3",
            "PutBucketPolicy",
            Bucket=self.properties["Bucket"],
            Policy=_json(self.properties["PolicyDocument"]),
        )

    def remove(self) -> None:
        try:
            self.call("s3", "DeleteBucketPolicy", Bucket=self.properties["Bucket"])
        except Exception as error:
            if "NoSuchBucket" not in str(error):
                raise

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        if properties["Bucket"] != self.properties["Bucket"]:
            return super().update(properties, new_name)
        self.properties = properties
        self.create()
        return self


# --- SNS subscriptions --------------------------------------------------------------------------


class Subscription(Provider):
    TYPE = "AWS::SNS::Subscription"
    APPLIED = frozenset(
        {
            "TopicArn",
            "Protocol",
            "Endpoint",
            "RawMessageDelivery",
            "RedrivePolicy",
            "FilterPolicy",
            "FilterPolicyScope",
            "DeliveryPolicy",
        }
    )
    INERT: ClassVar[Mapping[str, str]] = {
        "Region": "every resource of a rehearsal is in one region",
    }
    ATTRIBUTES = frozenset({"Arn"})
    _ATTRIBUTE_NAMES = (
        "RawMessageDelivery",
        "RedrivePolicy",
        "FilterPolicy",
        "FilterPolicyScope",
        "DeliveryPolicy",
    )

    def _attributes(self, properties: dict[str, Any]) -> dict[str, str]:
        return {
            name: _json(properties[name]).lower()
            if isinstance(properties[name], bool)
            else _json(properties[name])
            for name in self._ATTRIBUTE_NAMES
            if name in properties
        }

    def create(self) -> None:
        answer = self.call(
            "sns",
            "Subscribe",
            TopicArn=self.properties["TopicArn"],
            Protocol=self.properties["Protocol"],
            Endpoint=self.properties["Endpoint"],
            Attributes=self._attributes(self.properties),
            ReturnSubscriptionArn=True,
        )
        self.physical_id = answer["SubscriptionArn"]
        self.attributes["Arn"] = self.physical_id

    def remove(self) -> None:
        self.call("sns", "Unsubscribe", SubscriptionArn=self.physical_id)

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        immutable = ("TopicArn", "Protocol", "Endpoint")
        if any(properties.get(k) != self.properties.get(k) for k in immutable):
            return super().update(properties, new_name)
        for name in self._ATTRIBUTE_NAMES:
            if properties.get(name) != self.properties.get(name):
                value = self._attributes(properties).get(name, "")
                self.call(
                    "sns",
                    "SetSubscriptionAttributes",
                    SubscriptionArn=self.physical_id,
                    AttributeName=name,
                    AttributeValue=value,
                )
        self.properties = properties
        return self


# --- Application Auto Scaling -------------------------------------------------------------------


class ScalableTarget(Provider):
    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
    APPLIED = frozenset(
        {
            "MaxCapacity",
            "MinCapacity",
            "ResourceId",
            "ScalableDimension",
            "ServiceNamespace",
            "RoleARN",
            "SuspendedState",
        }
    )
    INERT: ClassVar[Mapping[str, str]] = {}

    def _register(self) -> None:
        p = self.properties
        params = {
            "ServiceNamespace": p["ServiceNamespace"],
            "ResourceId": p["ResourceId"],
            "ScalableDimension": p["ScalableDimension"],
            "MinCapacity": p["MinCapacity"],
            "MaxCapacity": p["MaxCapacity"],
        }
        if "RoleARN" in p:
            params["RoleARN"] = p["RoleARN"]
        if "SuspendedState" in p:
            params["SuspendedState"] = p["SuspendedState"]
        if "ScheduledActions" in p:
            raise NotEmulated(f"{self.TYPE}.ScheduledActions")
        self.call("application-autoscaling", "RegisterScalableTarget", **params)

    def create(self) -> None:
        p = self.properties
        self._register()
        self.physical_id = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"

    def remove(self) -> None:
        p = self.properties
        self.call(
            "application-autoscaling",
            "DeregisterScalableTarget",
            ServiceNamespace=p["ServiceNamespace"],
            ResourceId=p["ResourceId"],
            ScalableDimension=p["ScalableDimension"],
        )

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        identity = ("ResourceId", "ScalableDimension", "ServiceNamespace")
        if any(properties[k] != self.properties[k] for k in identity):
            return super().update(properties, new_name)
        self.properties = properties
        self._register()
        return self


class ScalingPolicy(Provider):
    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    APPLIED = frozenset(
        {
            "PolicyName",
            "PolicyType",
            "ScalingTargetId",
            "ResourceId",
            "ScalableDimension",
            "ServiceNamespace",
            "StepScalingPolicyConfiguration",
            "TargetTrackingScalingPolicyConfiguration",
        }
    )
    ATTRIBUTES = frozenset({"Arn"})

    def _target(self) -> dict[str, str]:
        p = self.properties
        if "ScalingTargetId" in p:
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id, dimension, namespace = (
                p["ResourceId"],
                p["ScalableDimension"],
                p["ServiceNamespace"],
            )
        return {
            "ResourceId": resource_id,
            "ScalableDimension": dimension,
            "ServiceNamespace": namespace,
        }

    def create(self) -> None:
        p = self.properties
        params = {"PolicyName": p["PolicyName"], "PolicyType": p["PolicyType"], **self._target()}
        for key in ("StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration"):
            if key in p:
                params[key] = p[key]
        answer = self.call("application-autoscaling", "PutScalingPolicy", **params)
        self.physical_id = answer["PolicyARN"]
        self.attributes["Arn"] = self.physical_id

    def remove(self) -> None:
        try:
            self.call(
                "application-autoscaling",
                "DeleteScalingPolicy",
                PolicyName=self.properties["PolicyName"],
                **self._target(),
            )
        except Exception as error:
            if "No scaling policy found" not in str(error):
                raise

    def update(self, properties: dict[str, Any], new_name: str) -> Provider:
        if properties["PolicyName"] != self.properties["PolicyName"]:
            return super().update(properties, new_name)
        self.properties = properties
        self.create()
        return self


# --- Glue and Athena --------------------------------------------------------------------------


class GlueDatabase(Provider):
    TYPE = "AWS::Glue::Database"
    APPLIED = frozenset({"CatalogId", "DatabaseInput", "DatabaseName"})

    def create(self) -> None:
        database = dict(self.properties["DatabaseInput"])
        database.setdefault("Name", self.properties.get("DatabaseName") or self.name)
        self.physical_id = database["Name"]
        self.call(
            "glue",
            "CreateDatabase",
            CatalogId=self.properties.get("CatalogId", self.account_id),
            DatabaseInput=database,
        )

    def remove(self) -> None:
        self.call("glue", "DeleteDatabase", Name=self.physical_id)


class GlueTable(Provider):
    TYPE = "AWS::Glue::Table"
    APPLIED = frozenset({"CatalogId", "DatabaseName", "TableInput"})
    INERT: ClassVar[Mapping[str, str]] = {
        "OpenTableFormatInput": "Iceberg tables are not emulated; the rehearsal fails on them",
    }

    def create(self) -> None:
        if "OpenTableFormatInput" in self.properties:
            raise NotEmulated(f"{self.TYPE}.OpenTableFormatInput")
        table = dict(self.properties["TableInput"])
        table.setdefault("Name", self.name.lower())
        self.physical_id = table["Name"]
        self.call(
            "glue",
            "CreateTable",
            CatalogId=self.properties.get("CatalogId", self.account_id),
            DatabaseName=self.properties["DatabaseName"],
            TableInput=table,
        )

    def remove(self) -> None:
        try:
            self.call(
                "glue",
                "DeleteTable",
                DatabaseName=self.properties["DatabaseName"],
                Name=self.physical_id,
            )
        except Exception as error:
            if "EntityNotFound" not in str(error):
                raise


class AthenaWorkGroup(Provider):
    TYPE = "AWS::Athena::WorkGroup"
    NAME_PROPERTY = "Name"
    APPLIED = frozenset({"Name", "Description", "State", "WorkGroupConfiguration", "Tags"})
    INERT: ClassVar[Mapping[str, str]] = {
        "RecursiveDeleteOption": "the emulated workgroup holds no saved queries to delete with it",
    }

    def create(self) -> None:
        p = self.properties
        params: dict[str, Any] = {"Name": self.name}
        if "Description" in p:
            params["Description"] = p["Description"]
        if "WorkGroupConfiguration" in p:
            params["Configuration"] = p["WorkGroupConfiguration"]
        if p.get("Tags"):
            params["Tags"] = p["Tags"]
        self.call("athena", "CreateWorkGroup", **params)
        if p.get("State", "ENABLED") != "ENABLED":
            self.call("athena", "UpdateWorkGroup", WorkGroup=self.name, State=p["State"])

    def remove(self) -> None:
        self.call(
            "athena",
            "DeleteWorkGroup",
            WorkGroup=self.name,
            RecursiveDeleteOption=bool(self.properties.get("RecursiveDeleteOption", False)),
        )


PROVIDERS: tuple[type[Provider], ...] = (
    CdkMetadata,
    Alarm,
    QueuePolicy,
    TopicPolicy,
    BucketPolicy,
    Subscription,
    ScalableTarget,
    ScalingPolicy,
    GlueDatabase,
    GlueTable,
    AthenaWorkGroup,
)
