"""S3 as our templates use it: every bucket property applied, events as S3 sends them, bucket
policies evaluated as IAM does.

moto (5.2.x) creates a bucket from a template with its encryption and tags only (versioning,
lifecycle, access logging, notifications, ownership controls and the public access block are
dropped), sends event notifications without the object's ``versionId`` (the data path's job ids
are made from it), and evaluates bucket policies wrongly (see policies.py).
"""

from __future__ import annotations

import itertools
from typing import Any

from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeBucket

from rehearsal.emulator import policies
from rehearsal.emulator.providers import NotEmulated, Provider
from rehearsal.emulator.state import current


class Bucket(Provider):
    """``AWS::S3::Bucket``: moto's bucket, then each property through S3's API."""

    TYPE = "AWS::S3::Bucket"
    NAME_PROPERTY = "BucketName"
    APPLIED = frozenset(
        {
            "BucketName",
            "AccessControl",
            "BucketEncryption",
            "Tags",
            "VersioningConfiguration",
            "LifecycleConfiguration",
            "LoggingConfiguration",
            "NotificationConfiguration",
            "OwnershipControls",
            "PublicAccessBlockConfiguration",
        }
    )

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        bucket = FakeBucket.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        _apply(bucket.name, cloudformation_json.get("Properties") or {}, region_name)
        return bucket

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        bucket = FakeBucket.update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _apply(bucket.name, cloudformation_json.get("Properties") or {}, region_name)
        return bucket

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        FakeBucket.delete_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name
        )


def _call(region: str, operation: str, **params: Any) -> Any:
    return current.require_api().call("s3", operation, region, **params)


_LIFECYCLE_KEYS: dict[str, Any] = {
    "Id": lambda v: {"ID": v},
    "Status": lambda v: {"Status": v},
    "Prefix": lambda v: {"Filter": {"Prefix": v}},
    "ExpirationInDays": lambda v: {"Expiration": {"Days": v}},
    "ExpirationDate": lambda v: {"Expiration": {"Date": v}},
    "ExpiredObjectDeleteMarker": lambda v: {"Expiration": {"ExpiredObjectDeleteMarker": v}},
    "NoncurrentVersionExpiration": lambda v: {"NoncurrentVersionExpiration": v},
    "NoncurrentVersionExpirationInDays": lambda v: {
        "NoncurrentVersionExpiration": {"NoncurrentDays": v}
    },
    "AbortIncompleteMultipartUpload": lambda v: {"AbortIncompleteMultipartUpload": v},
    "Transitions": lambda v: {
        "Transitions": [
            {"StorageClass": t["StorageClass"], "Days": t["TransitionInDays"]}
            if "TransitionInDays" in t
            else {"StorageClass": t["StorageClass"], "Date": t["TransitionDate"]}
            for t in v
        ]
    },
}


def lifecycle_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation's lifecycle rule shape to S3's API shape."""
    converted = []
    for rule in rules:
        api: dict[str, Any] = {}
        for key, value in rule.items():
            if key not in _LIFECYCLE_KEYS:
                raise NotEmulated(f"AWS::S3::Bucket LifecycleConfiguration.Rules[].{key}")
            for api_key, api_value in _LIFECYCLE_KEYS[key](value).items():
                if isinstance(api_value, dict):
                    api.setdefault(api_key, {}).update(api_value)
                else:
                    api[api_key] = api_value
        api.setdefault("Filter", {"Prefix": ""})
        converted.append(api)
    return converted


def _notification(configuration: dict[str, Any]) -> dict[str, Any]:
    api: dict[str, Any] = {}
    for key, value in configuration.items():
        if key == "EventBridgeConfiguration":
            if value.get("EventBridgeEnabled") in (True, "true"):
                api["EventBridgeConfiguration"] = {}
            continue
        kinds = {
            "QueueConfigurations": ("Queue", "QueueArn"),
            "TopicConfigurations": ("Topic", "TopicArn"),
            "LambdaConfigurations": ("Function", "LambdaFunctionArn"),
        }
        if key not in kinds:
            raise NotEmulated(f"AWS::S3::Bucket NotificationConfiguration.{key}")
        target, api_target = kinds[key]
        entries = []
        for entry in value:
            converted: dict[str, Any] = {api_target: entry[target], "Events": [entry["Event"]]}
            rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules")
            if rules:
                converted["Filter"] = {"Key": {"FilterRules": rules}}
            entries.append(converted)
        api[key] = entries
    return api


# CloudFormation's AccessControl values and the canned ACLs they are.
CANNED_ACLS = {
    "Private": "private",
    "PublicRead": "public-read",
    "PublicReadWrite": "public-read-write",
    "AuthenticatedRead": "authenticated-read",
    "LogDeliveryWrite": "log-delivery-write",
    "BucketOwnerRead": "bucket-owner-read",
    "BucketOwnerFullControl": "bucket-owner-full-control",
    "AwsExecRead": "aws-exec-read",
}


def _apply(name: str, properties: dict[str, Any], region: str) -> None:
    """Every property moto's bucket model leaves out, through S3's API."""
    if "AccessControl" in properties:
        _call(region, "PutBucketAcl", Bucket=name, ACL=CANNED_ACLS[properties["AccessControl"]])
    if "VersioningConfiguration" in properties:
        _call(
            region,
            "PutBucketVersioning",
            Bucket=name,
            VersioningConfiguration={"Status": properties["VersioningConfiguration"]["Status"]},
        )
    if "PublicAccessBlockConfiguration" in properties:
        _call(
            region,
            "PutPublicAccessBlock",
            Bucket=name,
            PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"],
        )
    if "OwnershipControls" in properties:
        _call(
            region,
            "PutBucketOwnershipControls",
            Bucket=name,
            OwnershipControls=properties["OwnershipControls"],
        )
    if "LifecycleConfiguration" in properties:
        _call(
            region,
            "PutBucketLifecycleConfiguration",
            Bucket=name,
            LifecycleConfiguration={
                "Rules": lifecycle_rules(properties["LifecycleConfiguration"]["Rules"])
            },
        )
    if "LoggingConfiguration" in properties:
        logging = properties["LoggingConfiguration"]
        enabled: dict[str, Any] = {
            "TargetBucket": logging.get("DestinationBucketName", name),
            "TargetPrefix": logging.get("LogFilePrefix", ""),
        }
        if "TargetObjectKeyFormat" in logging:
            enabled["TargetObjectKeyFormat"] = logging["TargetObjectKeyFormat"]
        _call(
            region,
            "PutBucketLogging",
            Bucket=name,
            BucketLoggingStatus={"LoggingEnabled": enabled},
        )
    if "NotificationConfiguration" in properties:
        _call(
            region,
            "PutBucketNotificationConfiguration",
            Bucket=name,
            NotificationConfiguration=_notification(properties["NotificationConfiguration"]),
        )


# --- events -------------------------------------------------------------------------------------

_sequencer = itertools.count(1)
_moto_s3_event = s3_notifications._get_s3_event


def _s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
    """moto's event plus what S3 puts in it for a versioned bucket: ``versionId``, and the
    ``sequencer`` that orders events of one key (S3's event message structure:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html)."""
    event = _moto_s3_event(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        obj = record["s3"]["object"]
        if bucket.is_versioned and getattr(key, "version_id", None):
            obj["versionId"] = key.version_id
        obj["sequencer"] = f"{next(_sequencer):016X}"
    return event


# --- bucket policies ----------------------------------------------------------------------------


def _bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    """moto's ``FakeBucket.get_permission`` with statements evaluated as IAM does."""
    from moto.iam.access_control import PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    decision = policies.evaluate(
        self.policy.decode(), action, resource, context=policies.SECURE_CONTEXT
    )
    return {
        policies.Decision.DENY: PermissionResult.DENIED,
        policies.Decision.ALLOW: PermissionResult.PERMITTED,
        policies.Decision.NEUTRAL: PermissionResult.NEUTRAL,
    }[decision]


# --- access logging ---------------------------------------------------------------------------


def _set_logging(self: FakeBucket, logging_config: Any, bucket_backend: Any) -> None:
    """moto's ``set_logging`` without its permission check: moto refuses a target bucket whose
    bucket policy does not grant the logging service yet, where S3 accepts the configuration
    (delivery starts once the policy allows it); a template creates the two in any order. The
    target must still exist in the same region."""
    from moto.s3.exceptions import CrossLocationLoggingProhibited, InvalidTargetBucketForLogging

    if not logging_config:
        self.logging = {}
        return
    target = bucket_backend.buckets.get(logging_config["TargetBucket"])
    if target is None:
        raise InvalidTargetBucketForLogging("The target bucket for logging does not exist.")
    if target.region_name != self.region_name:
        raise CrossLocationLoggingProhibited()
    self.logging = logging_config


def install() -> None:
    FakeBucket.set_logging = _set_logging  # type: ignore[method-assign]
    s3_notifications._get_s3_event = _s3_event
    FakeBucket.get_permission = _bucket_permission  # type: ignore[method-assign]
