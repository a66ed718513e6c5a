"""A SageMaker asynchronous inference endpoint with its S3 paths, topics, grants and metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aws_cdk import CfnResource, Names
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib._validation import check_int, is_token, raise_if_problems
from constructs_lib.endpoint.base import (
    METRICS,
    AsyncEndpointBase,
    IAsyncEndpoint,
    ImportedAsyncEndpoint,
    endpoint_name_problems,
)
from constructs_lib.endpoint.deployment import (
    alarm_arn,
    deployment_config,
    grant_describe_alarms,
    rollback_alarms,
)
from constructs_lib.endpoint.deployment_settings import MAX_ROLLBACK_ALARMS, DeploymentSettings
from constructs_lib.endpoint.notifications import AsyncNotifications
from constructs_lib.endpoint.storage import AsyncInferenceStorage
from constructs_lib.model.construct import HuggingFaceModel, role_policy
from constructs_lib.model.instance_types import (
    LOCAL_STORAGE_FAMILIES,
    instance_family,
    instance_type_problems,
)

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
    download_timeout_seconds: int | None = None,
) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    """The one production variant of an instance-backed endpoint (all traffic, weight 1).

    ``startup_timeout_seconds`` bounds the container's health check, ``download_timeout_seconds``
    the download (and extraction) of the model data from S3 (default None: the same as
    ``startup_timeout_seconds``); both None: SageMaker's own, as multi-model endpoints want
    (they load models later, on request). Both are "ContainerStartupHealthCheckTimeoutInSeconds"
    and "ModelDataDownloadTimeoutInSeconds" of the ProductionVariant API, 60 to 3,600 s.
    """
    if download_timeout_seconds is None:
        download_timeout_seconds = startup_timeout_seconds
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=variant_name,
        model_name=model_name,
        instance_type=instance_type,
        initial_instance_count=initial_instance_count,
        initial_variant_weight=1,
        container_startup_health_check_timeout_in_seconds=startup_timeout_seconds,
        model_data_download_timeout_in_seconds=download_timeout_seconds,
    )


def check_container_timeout(problems: list[str], name: str, value: Any) -> None:
    """A container's startup or model download timeout: 60 to 3,600 s (ProductionVariant API)."""
    check_int(problems, name, value, minimum=60, maximum=3600)


class CreatedEndpoint:
    """``endpoint_name`` and ``endpoint_arn`` of an endpoint this app creates (``cfn_endpoint``),
    for every endpoint family."""

    cfn_endpoint: sagemaker.CfnEndpoint
    _endpoint_name: str | None = None

    @property
    def endpoint_name(self) -> str:
        """The endpoint's name (a token unless a name was given)."""
        # Cached: every jsii attribute read is a round trip, and metrics ask for it dozens of times.
        if self._endpoint_name is None:
            self._endpoint_name = self.cfn_endpoint.attr_endpoint_name
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:
        """The endpoint's ARN (``Ref`` of ``AWS::SageMaker::Endpoint``)."""
        return self.cfn_endpoint.ref


def endpoint_config(
    scope: Construct,
    *,
    variant: sagemaker.CfnEndpointConfig.ProductionVariantProperty,
    instance_type: str,
    volume_key: kms.IKey | None,
    **props: Any,
) -> tuple[sagemaker.CfnEndpointConfig, kms.IKey | None]:
    """The ``Config`` of an instance-backed endpoint of any family: its one ``variant``, the
    instance volume encrypted with ``volume_key``, and the family's own ``props``
    (``async_inference_config``, ``execution_role_arn``...).

    Instance families with NVMe instance store get no volume ``KmsKeyId`` (CreateEndpointConfig
    refuses one; the hardware encrypts the store). Returns the key the volume uses (None then, or
    when none is given) for the caller to grant its role what SageMaker needs of it.
    """
    key = None if instance_family(instance_type) in LOCAL_STORAGE_FAMILIES else volume_key
    config = sagemaker.CfnEndpointConfig(
        scope,
        "Config",
        production_variants=[variant],
        kms_key_id=None if key is None else key.key_arn,
        **props,
    )
    return config, key


class AsyncEndpoint(CreatedEndpoint, AsyncEndpointBase):
    """``AWS::SageMaker::EndpointConfig`` with ``AsyncInferenceConfig`` and its ``Endpoint``.

    Results go to ``storage``'s results prefix, failures to its failures prefix, both encrypted
    with the storage key; success and error notifications go to ``notifications``' topics. The
    model's execution role is granted exactly that (plus reading inputs), and the endpoint depends
    on the role and its policy: SageMaker publishes a test notification while it creates the
    endpoint and fails if the role cannot publish yet.

    ``grant_invoke_async`` gives a caller everything a submission needs; ``metric_*`` methods
    return the async metrics with the namespace and dimensions AWS publishes them under.

    Instance families with NVMe instance store get no volume ``KmsKeyId`` (CreateEndpointConfig
    refuses one; the hardware encrypts the store). Requests still queued in an endpoint that a
    change replaces are lost with it: drain it first.

    Args:
        model: the model to serve (``HuggingFaceModel`` or any model with a name and a role).
        storage: where requests, results and failures live.
        notifications: the success and error topics.
        instance_type: the variant's instance type.
        initial_instance_count: instances at creation; scaling takes it to zero when idle.
            Default: ``1``.
        max_concurrent_invocations_per_instance: requests SageMaker sends an instance at once.
            Default: ``None`` (SageMaker chooses; this app sets 1, since the model server serves
            one request at a time per GPU).
        include_response_in_notifications: embed results of up to 128 KB in the notifications;
            refused while ``notifications`` has e-mail subscribers, because SNS e-mail is plain
            text outside the KMS key. Default: ``False``.
        container_startup_timeout_seconds: the container's health check, model loading
            included. Default: ``600``.
        model_data_download_timeout_seconds: downloading and extracting the model data from S3.
            Default: ``None`` (the same as ``container_startup_timeout_seconds``).
        variant_name: the production variant's name. Default: ``"AllTraffic"``.
        endpoint_name: a physical name. Default: ``None`` (derived from the construct path and
            ending with the instance type, so that a new ``instance_type`` replaces the
            endpoint, which SageMaker allows under autoscaling, instead of updating it, which it
            refuses (``instance_endpoint_name``); a literal name cannot be replaced, so changing
            its instance type under scaling needs the manual procedure of docs/scaling.md).
        deployment: deployment guardrails for updates (``DeploymentSettings``): a
            ``DeploymentConfig`` rolling back on the endpoint's own alarms
            (``rollback_alarms``: invocation failures, model latency; ``add_rollback_alarms``
            adds others), which the execution role may describe. A stepped strategy (canary,
            linear, rolling) needs ``initial_instance_count`` >= 2, and ``AsyncEndpointScaling``
            refuses a ``min_capacity`` below 2 for it; docs/deployments.md says what an update
            does at zero instances. Default: ``None`` (SageMaker's default: blue/green all at
            once, no baking period, no rollback).
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
        model_data_download_timeout_seconds: int | None = None,
        variant_name: str = "AllTraffic",
        endpoint_name: str | None = None,
        deployment: DeploymentSettings | None = None,
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
        check_container_timeout(
            problems, "container_startup_timeout_seconds", container_startup_timeout_seconds
        )
        if model_data_download_timeout_seconds is not None:
            check_container_timeout(
                problems, "model_data_download_timeout_seconds", model_data_download_timeout_seconds
            )
        if deployment is not None:
            problems += [f"deployment.{p}" for p in deployment.problems()]
            problems += deployment.instance_floor_problems(
                "initial_instance_count", initial_instance_count
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
        # None only for a brought SSE-S3 bucket: SageMaker then writes with the bucket's default.
        key = storage.encryption_key
        self.cfn_endpoint_config, volume_key = endpoint_config(
            self,
            variant=instance_variant(
                variant_name=variant_name,
                model_name=model.model_name,
                instance_type=instance_type,
                initial_instance_count=initial_instance_count,
                startup_timeout_seconds=container_startup_timeout_seconds,
                download_timeout_seconds=model_data_download_timeout_seconds,
            ),
            instance_type=instance_type,
            volume_key=key,
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
        if volume_key is not None:
            volume_key.grant_encrypt_decrypt(role)

        physical_name = (
            endpoint_name
            if endpoint_name is not None
            else instance_endpoint_name(self, instance_type)
        )
        self.deployment = deployment
        # The alarms that roll an update back (empty without deployment guardrails).
        self.rollback_alarms: list[cloudwatch.CfnAlarm] = []
        self._rollback_alarm_names: list[str] = []
        if deployment is not None:
            if physical_name is None:
                # A token instance type: the alarms need the name before the endpoint exists.
                physical_name = Names.unique_resource_name(
                    self, max_length=ENDPOINT_NAME_LENGTH, separator="-"
                )
            self.rollback_alarms = rollback_alarms(
                self, settings=deployment, endpoint_name=physical_name, variant_name=variant_name
            )
            # Ref of an alarm is its name; the reference also creates each alarm first.
            self._rollback_alarm_names = [alarm.ref for alarm in self.rollback_alarms]
            grant_describe_alarms(role, [alarm_arn(n) for n in self._rollback_alarm_names])
        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            # References keep reading the name with GetAtt: they then wait for a new endpoint.
            endpoint_name=physical_name,
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
            # An update (new model code, new settings) keeps the instance count that scaling set,
            # instead of resetting it to InitialInstanceCount: an idle endpoint stays at zero.
            retain_all_variant_properties=True,
            deployment_config=(
                None
                if deployment is None
                else deployment_config(deployment, self._rollback_alarm_names)
            ),
        )
        # SageMaker publishes a test notification while it creates the endpoint: the grants above
        # (sns:Publish, the topic key) must be attached before, not just the role created.
        self.cfn_endpoint.node.add_dependency(role_policy(role))

    def add_rollback_alarms(self, alarms: Sequence[cloudwatch.IAlarm]) -> None:
        """Roll updates back on these alarms too, and let the execution role describe them.

        Only with ``deployment``; at most 10 alarms in all (UpdateEndpoint's limit). An alarm
        must not read this endpoint's name with ``GetAtt`` (``endpoint_name``): the endpoint
        lists the alarm, so that would be a cycle. Alarms on other resources (the data path's
        functions) are what this is for.
        """
        problems: list[str] = []
        if self.deployment is None:
            problems.append(
                "alarms: rollback alarms need deployment guardrails: give the endpoint "
                "deployment=DeploymentSettings(...)"
            )
        total = len(self._rollback_alarm_names) + len(alarms)
        if total > MAX_ROLLBACK_ALARMS:
            problems.append(
                f"alarms: an endpoint rolls back on at most {MAX_ROLLBACK_ALARMS} alarms "
                f"(got {total} with the {len(self._rollback_alarm_names)} it has)"
            )
        raise_if_problems("AsyncEndpoint.add_rollback_alarms", problems)
        assert self.deployment is not None
        if not alarms:
            return
        self._rollback_alarm_names += [alarm.alarm_name for alarm in alarms]
        grant_describe_alarms(self.model.role, [alarm.alarm_arn for alarm in alarms])
        self.cfn_endpoint.deployment_config = deployment_config(
            self.deployment, self._rollback_alarm_names
        )

    @property
    def rollback_alarm_names(self) -> tuple[str, ...]:
        """The names (tokens) of every alarm that rolls an update back, in the order given."""
        return tuple(self._rollback_alarm_names)

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
        """An endpoint created elsewhere, by name: scale it, monitor it, grant invoking it.

        Args:
            endpoint_name: the endpoint's name.
            variant_name: its production variant. Default: ``"AllTraffic"``.
        """
        return ImportedAsyncEndpoint(
            scope, construct_id, endpoint_name=endpoint_name, variant_name=variant_name
        )

    @staticmethod
    def from_endpoint_attributes(
        scope: Construct, construct_id: str, **attributes: Any
    ) -> IAsyncEndpoint:
        """An endpoint created elsewhere, with the bucket (and key) its callers write and read.

        ``attributes`` are ``ImportedAsyncEndpoint``'s, with their defaults there:
        ``endpoint_name``, and optionally ``variant_name``, ``bucket`` (without it
        ``grant_invoke_async`` grants only ``InvokeEndpointAsync``), ``key``, ``input_prefix``
        and ``output_prefixes``.
        """
        return ImportedAsyncEndpoint(scope, construct_id, **attributes)
