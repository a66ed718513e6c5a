"""A SageMaker asynchronous inference endpoint with its S3 paths, topics, grants and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ._validation import check_int, raise_if_problems
from .instance_types import LOCAL_STORAGE_FAMILIES, instance_family, instance_type_problems
from .model import role_policy
from .notifications import AsyncNotifications
from .storage import AsyncInferenceStorage

ENDPOINT_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"

# Instance families with local NVMe storage reject a volume KMS key on the endpoint config
# (their instance store is encrypted by the hardware). From the one instance table.
__all__ = ["LOCAL_STORAGE_FAMILIES", "METRICS", "AsyncEndpoint", "ModelLike"]


class ModelLike(Protocol):
    """What the endpoint needs of a model: its name and the execution role that serves it."""

    @property
    def model_name(self) -> str: ...

    @property
    def role(self) -> iam.IRole: ...


@dataclass(frozen=True)
class _MetricSpec:
    namespace: str
    per_variant: bool
    statistic: str
    unit: cloudwatch.Unit | None = None


# shared/FACTS.md: which async metrics carry which dimensions. Wrong dimensions mean an alarm that
# never gets data, so every metric of this construct comes from this one table.
METRICS: dict[str, _MetricSpec] = {
    "ApproximateBacklogSize": _MetricSpec(ENDPOINT_NAMESPACE, False, "Average"),
    "ApproximateBacklogSizePerInstance": _MetricSpec(ENDPOINT_NAMESPACE, False, "Average"),
    "ApproximateAgeOfOldestRequest": _MetricSpec(
        ENDPOINT_NAMESPACE, False, "Maximum", cloudwatch.Unit.SECONDS
    ),
    "HasBacklogWithoutCapacity": _MetricSpec(ENDPOINT_NAMESPACE, False, "Average"),
    "InvocationsProcesssed": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "InvocationFailures": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "RequestDownloadFailures": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "ResponseUploadFailures": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "NotificationFailures": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "ExpiredRequests": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "Invocation4XXErrors": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "Invocation5XXErrors": _MetricSpec(ENDPOINT_NAMESPACE, True, "Sum"),
    "TimeInBacklog": _MetricSpec(ENDPOINT_NAMESPACE, True, "Average", cloudwatch.Unit.MILLISECONDS),
    "TotalProcessingTime": _MetricSpec(
        ENDPOINT_NAMESPACE, True, "Average", cloudwatch.Unit.MILLISECONDS
    ),
    "ModelLatency": _MetricSpec(ENDPOINT_NAMESPACE, True, "Average", cloudwatch.Unit.MICROSECONDS),
    "RequestDownloadLatency": _MetricSpec(
        ENDPOINT_NAMESPACE, True, "Average", cloudwatch.Unit.MICROSECONDS
    ),
    "ResponseUploadLatency": _MetricSpec(
        ENDPOINT_NAMESPACE, True, "Average", cloudwatch.Unit.MICROSECONDS
    ),
    "CPUUtilization": _MetricSpec(INSTANCE_NAMESPACE, True, "Average", cloudwatch.Unit.PERCENT),
    "MemoryUtilization": _MetricSpec(INSTANCE_NAMESPACE, True, "Average", cloudwatch.Unit.PERCENT),
    "GPUUtilization": _MetricSpec(INSTANCE_NAMESPACE, True, "Average", cloudwatch.Unit.PERCENT),
    "GPUMemoryUtilization": _MetricSpec(
        INSTANCE_NAMESPACE, True, "Average", cloudwatch.Unit.PERCENT
    ),
    "DiskUtilization": _MetricSpec(INSTANCE_NAMESPACE, True, "Average", cloudwatch.Unit.PERCENT),
}


class AsyncEndpoint(Construct):
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
    ) -> None:
        super().__init__(scope, construct_id)
        problems = instance_type_problems("instance_type", instance_type)
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
        self._endpoint_name: str | None = None
        role = model.role

        storage.grant_read_inputs(role)
        storage.grant_write_outputs(role)
        notifications.grant_publish(role)

        client_config = (
            sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=max_concurrent_invocations_per_instance
            )
            if max_concurrent_invocations_per_instance is not None
            else None
        )
        include = ["ERROR_NOTIFICATION_TOPIC", "SUCCESS_NOTIFICATION_TOPIC"]
        uses_local_storage = instance_family(instance_type) in LOCAL_STORAGE_FAMILIES
        self.cfn_endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=variant_name,
                    model_name=model.model_name,
                    instance_type=instance_type,
                    initial_instance_count=initial_instance_count,
                    initial_variant_weight=1,
                    container_startup_health_check_timeout_in_seconds=(
                        container_startup_timeout_seconds
                    ),
                    model_data_download_timeout_in_seconds=container_startup_timeout_seconds,
                )
            ],
            kms_key_id=None if uses_local_storage else storage.key.key_arn,
            async_inference_config=sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
                output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                    s3_output_path=storage.output_uri,
                    s3_failure_path=storage.failure_uri,
                    kms_key_id=storage.key.key_arn,
                    notification_config=sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                        success_topic=notifications.success_topic.topic_arn,
                        error_topic=notifications.error_topic.topic_arn,
                        include_inference_response_in=(
                            include if include_response_in_notifications else None
                        ),
                    ),
                ),
                client_config=client_config,
            ),
        )
        if not uses_local_storage:
            storage.key.grant_encrypt_decrypt(role)

        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
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

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """Any metric of ``METRICS`` with its namespace, dimensions and default statistic.

        ``props`` are ``cloudwatch.Metric`` options (``statistic``, ``period``, ``label``...).
        """
        try:
            spec = METRICS[metric_name]
        except KeyError:
            raise ValueError(
                f"unknown async endpoint metric {metric_name!r} (known: {', '.join(METRICS)})"
            ) from None
        dimensions = {"EndpointName": self.endpoint_name}
        if spec.per_variant:
            dimensions["VariantName"] = self.variant_name
        options: dict[str, Any] = {
            "statistic": spec.statistic,
            "period": Duration.minutes(1),
            **({"unit": spec.unit} if spec.unit else {}),
            **props,
        }
        return cloudwatch.Metric(
            namespace=spec.namespace,
            metric_name=metric_name,
            dimensions_map=dimensions,
            **options,
        )

    def metric_approximate_backlog_size(self, **props: Any) -> cloudwatch.Metric:
        """Requests queued or being processed (endpoint-level, Average)."""
        return self.metric("ApproximateBacklogSize", **props)

    def metric_approximate_backlog_size_per_instance(self, **props: Any) -> cloudwatch.Metric:
        """Backlog divided by the instance count (endpoint-level, Average)."""
        return self.metric("ApproximateBacklogSizePerInstance", **props)

    def metric_approximate_age_of_oldest_request(self, **props: Any) -> cloudwatch.Metric:
        """Age in seconds of the oldest queued request (endpoint-level, Maximum)."""
        return self.metric("ApproximateAgeOfOldestRequest", **props)

    def metric_has_backlog_without_capacity(self, **props: Any) -> cloudwatch.Metric:
        """1 while requests wait and no instance exists (endpoint-level, Average)."""
        return self.metric("HasBacklogWithoutCapacity", **props)

    def metric_invocations_processed(self, **props: Any) -> cloudwatch.Metric:
        """Completed invocations (published as ``InvocationsProcesssed``, sic; Sum)."""
        return self.metric("InvocationsProcesssed", **props)

    def metric_invocation_failures(self, **props: Any) -> cloudwatch.Metric:
        """Invocations that failed (Sum)."""
        return self.metric("InvocationFailures", **props)

    def metric_notification_failures(self, **props: Any) -> cloudwatch.Metric:
        """Notifications SageMaker could not publish (Sum)."""
        return self.metric("NotificationFailures", **props)

    def metric_request_download_failures(self, **props: Any) -> cloudwatch.Metric:
        """Inputs SageMaker could not read from S3 (Sum)."""
        return self.metric("RequestDownloadFailures", **props)

    def metric_response_upload_failures(self, **props: Any) -> cloudwatch.Metric:
        """Results SageMaker could not write to S3 (Sum)."""
        return self.metric("ResponseUploadFailures", **props)

    def metric_total_processing_time(self, **props: Any) -> cloudwatch.Metric:
        """Milliseconds from arrival to result written (Average)."""
        return self.metric("TotalProcessingTime", **props)

    def metric_time_in_backlog(self, **props: Any) -> cloudwatch.Metric:
        """Milliseconds a request waited in the queue (Average)."""
        return self.metric("TimeInBacklog", **props)

    def metric_model_latency(self, **props: Any) -> cloudwatch.Metric:
        """Microseconds the container took to answer (Average)."""
        return self.metric("ModelLatency", **props)
