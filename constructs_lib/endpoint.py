"""A SageMaker asynchronous inference endpoint with its S3 paths, topics, grants and metrics."""

from __future__ import annotations

from typing import Any, Protocol

from aws_cdk import CfnResource, Names
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ._validation import check_int, is_token, raise_if_problems
from .endpoint_base import (
    METRICS,
    AsyncEndpointBase,
    IAsyncEndpoint,
    ImportedAsyncEndpoint,
    endpoint_name_problems,
)
from .instance_types import LOCAL_STORAGE_FAMILIES, instance_family, instance_type_problems
from .model import HuggingFaceModel, role_policy
from .notifications import AsyncNotifications
from .storage import AsyncInferenceStorage

# Instance families with local NVMe storage reject a volume KMS key on the endpoint config
# (their instance store is encrypted by the hardware). From the one instance table.
__all__ = [
    "LOCAL_STORAGE_FAMILIES",
    "METRICS",
    "AsyncEndpoint",
    "ModelLike",
    "instance_endpoint_name",
]
# SageMaker endpoint names: at most 63 letters, digits and inner hyphens.
ENDPOINT_NAME_LENGTH = 63


class ModelLike(Protocol):
    """What the endpoint needs of a model: its name and the execution role that serves it."""

    @property
    def model_name(self) -> str: ...

    @property
    def role(self) -> iam.IRole: ...


def instance_endpoint_name(scope: Construct, instance_type: str) -> str | None:
    """A deterministic endpoint name that ends with the instance type (None for a token type).

    SageMaker refuses an endpoint update that changes the instance type of a variant registered
    with Application Auto Scaling, or removes such a variant, until the variant is deregistered
    ("Update endpoints that use auto scaling",
    https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). CloudFormation
    cannot deregister first: a scalable target it replaces or drops is deleted in the clean-up
    phase, after the endpoint update has already failed (renaming the variant alone fails the
    same way). With the instance type in the endpoint's name, a new instance type replaces the
    endpoint instead of updating it: CloudFormation creates the new endpoint, moves the scalable
    target, policies, alarms, grants and outputs to it, then deregisters the old target and
    deletes the old endpoint. Derived from the construct path (stack name included, as
    ``Names.unique_resource_name`` does): no clock, no randomness, the same in a pipeline stage.
    """
    if is_token(instance_type):
        return None
    suffix = instance_type.removeprefix("ml.").replace(".", "-")
    base = Names.unique_resource_name(
        scope, max_length=ENDPOINT_NAME_LENGTH - len(suffix) - 1, separator="-"
    )
    return f"{base}-{suffix}"


def instance_variant(
    *,
    variant_name: str,
    model_name: str,
    instance_type: str,
    initial_instance_count: int,
    startup_timeout_seconds: int | None = None,
) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    """The one production variant of an instance-backed endpoint (all traffic, weight 1).

    ``startup_timeout_seconds`` bounds both the container's health check and the model download
    (default None: SageMaker's own; multi-model endpoints load models later, on request).
    """
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=variant_name,
        model_name=model_name,
        instance_type=instance_type,
        initial_instance_count=initial_instance_count,
        initial_variant_weight=1,
        container_startup_health_check_timeout_in_seconds=startup_timeout_seconds,
        model_data_download_timeout_in_seconds=startup_timeout_seconds,
    )


class AsyncEndpoint(AsyncEndpointBase):
    """``AWS::SageMaker::EndpointConfig`` with ``AsyncInferenceConfig`` and its ``Endpoint``.

    Results go to ``storage``'s results prefix, failures to its failures prefix, both encrypted
    with the storage key; success and error notifications go to ``notifications``' topics. The
    model's execution role is granted exactly that (plus reading inputs), and the endpoint depends
    on the role and its policy: SageMaker publishes a test notification while it creates the
    endpoint and fails if the role cannot publish yet.

    ``grant_invoke_async`` gives a caller everything a submission needs; ``metric_*`` methods
    return the async metrics with the namespace and dimensions AWS publishes them under.

    ``include_response_in_notifications`` (default False) embeds results of up to 128 KB in the
    notifications; it is refused while ``notifications`` has e-mail subscribers, because SNS
    e-mail is plain text outside the KMS key. Instance families with NVMe instance store get no
    volume ``KmsKeyId`` (CreateEndpointConfig refuses one; the hardware encrypts the store).

    Defaults: ``initial_instance_count`` [1: scaling takes it to zero when idle],
    ``max_concurrent_invocations_per_instance`` [None: SageMaker chooses; this app sets 1, since
    the model server serves one request at a time per GPU], ``container_startup_timeout_seconds``
    [600, also the model download timeout], ``variant_name`` [``AllTraffic``], ``endpoint_name``
    [None: derived from the construct path and ending with the instance type, so that a new
    ``instance_type`` replaces the endpoint, which SageMaker allows under autoscaling, instead of
    updating it, which it refuses (``instance_endpoint_name``); a literal name cannot be replaced,
    so changing its instance type under scaling needs the manual procedure of docs/scaling.md].
    Requests still queued in a replaced endpoint are lost with it: drain it first.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ModelLike,
        storage: AsyncInferenceStorage,
        notifications: AsyncNotifications,
        instance_type: str,
        initial_instance_count: int = 1,
        max_concurrent_invocations_per_instance: int | None = None,
        include_response_in_notifications: bool = False,
        container_startup_timeout_seconds: int = 600,
        variant_name: str = "AllTraffic",
        endpoint_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = instance_type_problems("instance_type", instance_type)
        problems += endpoint_name_problems("variant_name", variant_name)
        if endpoint_name is not None:
            problems += endpoint_name_problems("endpoint_name", endpoint_name)
        check_int(problems, "initial_instance_count", initial_instance_count, minimum=1)
        if max_concurrent_invocations_per_instance is not None:
            check_int(
                problems,
                "max_concurrent_invocations_per_instance",
                max_concurrent_invocations_per_instance,
                minimum=1,
                maximum=1000,
            )
        check_int(
            problems,
            "container_startup_timeout_seconds",
            container_startup_timeout_seconds,
            minimum=60,
            maximum=3600,
        )
        if include_response_in_notifications and notifications.emails:
            problems.append(
                "include_response_in_notifications: must be False while the topics have e-mail "
                "subscriptions: SageMaker would embed each result in the notification and SNS "
                "would e-mail it in plain text, outside the KMS key (got True)"
            )
        raise_if_problems("AsyncEndpoint", problems)

        self.model = model
        self.storage = storage
        self.notifications = notifications
        self.variant_name = variant_name
        # A physical name only when asked for: a generated one lets CloudFormation replace it.
        self._endpoint_name: str | None = endpoint_name
        role = model.role

        storage.grant_read_inputs(role)
        storage.grant_write_outputs(role)
        notifications.grant_publish(role)
        if isinstance(model, HuggingFaceModel):
            # A model with its own S3 gateway endpoint reaches the data bucket through it; the
            # role's policy keeps the exact prefixes, the endpoint admits the bucket.
            model.allow_s3_through_endpoint(
                ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                [storage.bucket.arn_for_objects("*")],
            )

        client_config = (
            sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=max_concurrent_invocations_per_instance
            )
            if max_concurrent_invocations_per_instance is not None
            else None
        )
        include = ["ERROR_NOTIFICATION_TOPIC", "SUCCESS_NOTIFICATION_TOPIC"]
        uses_local_storage = instance_family(instance_type) in LOCAL_STORAGE_FAMILIES
        # None only for a brought SSE-S3 bucket: SageMaker then writes with the bucket's default.
        key = storage.encryption_key
        self.cfn_endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                instance_variant(
                    variant_name=variant_name,
                    model_name=model.model_name,
                    instance_type=instance_type,
                    initial_instance_count=initial_instance_count,
                    startup_timeout_seconds=container_startup_timeout_seconds,
                )
            ],
            kms_key_id=None if uses_local_storage or key is None else key.key_arn,
            async_inference_config=sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
                output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                    s3_output_path=storage.output_uri,
                    s3_failure_path=storage.failure_uri,
                    kms_key_id=None if key is None else key.key_arn,
                    notification_config=sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                        success_topic=notifications.success_topic_arn,
                        error_topic=notifications.error_topic_arn,
                        include_inference_response_in=(
                            include if include_response_in_notifications else None
                        ),
                    ),
                ),
                client_config=client_config,
            ),
        )
        if not uses_local_storage and key is not None:
            key.grant_encrypt_decrypt(role)

        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            # References keep reading the name with GetAtt: they then wait for a new endpoint.
            endpoint_name=(
                endpoint_name
                if endpoint_name is not None
                else instance_endpoint_name(self, instance_type)
            ),
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
            # An update (new model code, new settings) keeps the instance count that scaling set,
            # instead of resetting it to InitialInstanceCount: an idle endpoint stays at zero.
            retain_all_variant_properties=True,
        )
        # SageMaker publishes a test notification while it creates the endpoint: the grants above
        # (sns:Publish, the topic key) must be attached before, not just the role created.
        self.cfn_endpoint.node.add_dependency(role_policy(role))

    @property
    def endpoint_name(self) -> str:
        # Cached: every jsii attribute read is a round trip, and metrics ask for it dozens of times.
        if self._endpoint_name is None:
            self._endpoint_name = self.cfn_endpoint.attr_endpoint_name
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:
        # Ref of AWS::SageMaker::Endpoint is its ARN.
        return self.cfn_endpoint.ref

    def grant_invoke_async(self, grantee: iam.IGrantable) -> iam.Grant:
        """All a caller needs: ``InvokeEndpointAsync``, uploading inputs, reading results and
        failures, and the key that encrypts them. (``InvokeEndpoint`` alone does not work.)"""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpointAsync"],
            resource_arns=[self.endpoint_arn],
        )
        grant = grant.combine(self.storage.grant_write_inputs(grantee))
        return grant.combine(self.storage.grant_read_outputs(grantee))

    @property
    def endpoint_resource(self) -> CfnResource:
        return self.cfn_endpoint

    @staticmethod
    def from_endpoint_name(
        scope: Construct, construct_id: str, endpoint_name: str, *, variant_name: str = "AllTraffic"
    ) -> IAsyncEndpoint:
        """An endpoint created elsewhere, by name: scale it, monitor it, grant invoking it."""
        return ImportedAsyncEndpoint(
            scope, construct_id, endpoint_name=endpoint_name, variant_name=variant_name
        )

    @staticmethod
    def from_endpoint_attributes(
        scope: Construct, construct_id: str, **attributes: Any
    ) -> IAsyncEndpoint:
        """An endpoint created elsewhere, with the bucket (and key) its callers write and read.

        ``attributes`` are ``ImportedAsyncEndpoint``'s: ``endpoint_name``, and optionally
        ``variant_name`` (default ``AllTraffic``), ``bucket`` (default none: ``grant_invoke_async``
        then grants only ``InvokeEndpointAsync``), ``key``, ``input_prefix`` (``inputs/``) and
        ``output_prefixes`` (``results/``, ``failures/``).
        """
        return ImportedAsyncEndpoint(scope, construct_id, **attributes)
