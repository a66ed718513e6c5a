"""The seam between an async endpoint and what attaches to it: scaling, monitoring, grants.

``IAsyncEndpoint`` is what ``AsyncEndpointScaling``, ``AsyncEndpointMonitoring`` and callers need
of an endpoint: its name, ARN and variant, its metrics with the namespaces and dimensions AWS
publishes them under, and ``grant_invoke_async``. ``AsyncEndpoint`` implements it for the
endpoint it creates; ``AsyncEndpoint.from_endpoint_name`` / ``from_endpoint_attributes`` implement
it for an endpoint created elsewhere, so a team can scale and monitor an endpoint it already runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aws_cdk import ArnFormat, CfnResource, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, Node

from constructs_lib import _values as cdk_values
from constructs_lib._nag import acknowledge
from constructs_lib._validation import is_token, raise_if_problems
from constructs_lib._values import ENDPOINT_NAMESPACE as ENDPOINT_NAMESPACE
from constructs_lib._values import INSTANCE_NAMESPACE as INSTANCE_NAMESPACE


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


@runtime_checkable
class IAsyncEndpoint(Protocol):
    """An asynchronous inference endpoint, created here or imported."""

    @property
    def node(self) -> Node: ...

    @property
    def endpoint_name(self) -> str: ...

    @property
    def endpoint_arn(self) -> str: ...

    @property
    def variant_name(self) -> str: ...

    @property
    def endpoint_resource(self) -> CfnResource | None:
        """The ``AWS::SageMaker::Endpoint`` when this app creates it, else ``None``."""
        ...

    def grant_invoke_async(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric: ...

    def metric_approximate_backlog_size(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_approximate_backlog_size_per_instance(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_approximate_age_of_oldest_request(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_has_backlog_without_capacity(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_invocations_processed(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_invocation_failures(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_notification_failures(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_request_download_failures(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_response_upload_failures(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_total_processing_time(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_time_in_backlog(self, **props: Any) -> cloudwatch.Metric: ...

    def metric_model_latency(self, **props: Any) -> cloudwatch.Metric: ...


class AsyncEndpointBase(Construct):
    """What every ``IAsyncEndpoint`` shares: the metrics, from the one ``METRICS`` table.

    Subclasses provide ``endpoint_name``, ``endpoint_arn``, ``variant_name``,
    ``endpoint_resource`` and ``grant_invoke_async``.
    """

    variant_name: str

    @property
    def endpoint_name(self) -> str:
        raise NotImplementedError

    @property
    def endpoint_arn(self) -> str:
        raise NotImplementedError

    @property
    def endpoint_resource(self) -> CfnResource | None:
        return None

    def grant_invoke_async(self, grantee: iam.IGrantable) -> iam.Grant:
        raise NotImplementedError

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
            "period": cdk_values.minutes(1),
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


ENDPOINT_NAME_LIMIT = 63


def endpoint_name_problems(name: str, value: Any) -> list[str]:
    """Problems with a SageMaker endpoint or variant name (1-63 letters, digits, '-')."""
    if is_token(value):
        return []
    import re

    if not isinstance(value, str) or not re.match(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", value):
        return [
            f"{name}: must be 1 to 63 letters, digits or '-', not starting or ending with '-' "
            f"(got {value!r})"
        ]
    return []


class ImportedAsyncEndpoint(AsyncEndpointBase):
    """An async endpoint created elsewhere (see ``AsyncEndpoint.from_endpoint_attributes``).

    ``grant_invoke_async`` grants ``InvokeEndpointAsync`` on it; with ``bucket`` (and ``key`` if
    the bucket is encrypted with a customer key) it also grants uploading under ``input_prefix``
    and reading ``output_prefixes``, which a caller needs to submit and collect.

    Args:
        endpoint_name: the endpoint's name.
        variant_name: its production variant. Default: ``"AllTraffic"`` (SageMaker's and this
            library's).
        bucket: the bucket its requests and results live in. Default: ``None`` (grants cover
            the endpoint only).
        key: the bucket's customer-managed key; only with ``bucket``. Default: ``None``.
        input_prefix: where callers upload requests. Default: ``"inputs/"``.
        output_prefixes: where results and failures land. Default:
            ``("results/", "failures/")``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str = "AllTraffic",
        bucket: s3.IBucket | None = None,
        key: kms.IKey | None = None,
        input_prefix: str = "inputs/",
        output_prefixes: tuple[str, ...] = ("results/", "failures/"),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = endpoint_name_problems("endpoint_name", endpoint_name)
        problems += endpoint_name_problems("variant_name", variant_name)
        if key is not None and bucket is None:
            problems.append("key: only applies together with bucket")
        raise_if_problems("ImportedAsyncEndpoint", problems)
        self._name = endpoint_name
        self.variant_name = variant_name
        self.bucket = bucket
        self.key = key
        self.input_prefix = input_prefix
        self.output_prefixes = output_prefixes

    @property
    def endpoint_name(self) -> str:
        return self._name

    @property
    def endpoint_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="sagemaker",
            resource="endpoint",
            # SageMaker ARNs spell the endpoint name in lower case.
            resource_name=self._name if is_token(self._name) else self._name.lower(),
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_invoke_async(self, grantee: iam.IGrantable) -> iam.Grant:
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpointAsync"],
            resource_arns=[self.endpoint_arn],
        )
        if self.bucket is None:
            return grant
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resource_arns=[self.bucket.arn_for_objects(f"{self.input_prefix}*")],
            )
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["s3:GetObject"],
                resource_arns=[self.bucket.arn_for_objects(f"{p}*") for p in self.output_prefixes],
            )
        )
        if self.key is not None:
            grant = grant.combine(self.key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt"))
        if isinstance(grantee, Construct):
            for prefix in (self.input_prefix, *self.output_prefixes):
                acknowledge(
                    grantee,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
                    f"{self.bucket.bucket_name}/{prefix}*]",
                    f"Object keys are chosen per request; access is limited to {prefix}.",
                )
        return grant
