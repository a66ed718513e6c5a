"""What every synchronous hosting option shares: metrics, the endpoint resource, grants, roles.

The metric table follows the SageMaker developer guide: invocation and latency metrics are in
``AWS/SageMaker`` with ``EndpointName`` + ``VariantName``; instance utilization in
``/aws/sagemaker/Endpoints``; per-container metrics of a multi-container endpoint (direct
invocation) add ``ContainerName``. Wrong dimensions give an alarm that never sees data, so every
metric of these constructs comes from this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._nag import acknowledge
from constructs_lib._values import ENDPOINT_NAMESPACE, INSTANCE_NAMESPACE
from constructs_lib.endpoint.construct import (
    CreatedEndpoint,
    endpoint_config,
    instance_endpoint_name,
)
from constructs_lib.model.construct import role_policy

# ContainerHostname and EndpointName in the SageMaker API: letters, digits and inner hyphens.
HOSTNAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class ModelLike(Protocol):
    """What an endpoint needs of a model: its name and the execution role that serves it."""

    @property
    def model_name(self) -> str: ...

    @property
    def role(self) -> iam.IRole: ...


@dataclass(frozen=True)
class MetricSpec:
    """Where SageMaker publishes one metric and how to read it by default."""

    namespace: str
    statistic: str
    unit: cloudwatch.Unit | None = None


_MICRO = cloudwatch.Unit.MICROSECONDS
_PERCENT = cloudwatch.Unit.PERCENT

# The invocation metrics SageMaker publishes per variant and, with inference components, per
# component (namespace AWS/SageMaker).
INVOCATION_METRICS: dict[str, MetricSpec] = {
    "Invocations": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "Invocation4XXErrors": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "Invocation5XXErrors": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "InvocationModelErrors": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "ModelLatency": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    "OverheadLatency": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
}

# Dimensions EndpointName + VariantName (the variant's metrics of a real-time, serverless,
# multi-model or multi-container endpoint).
VARIANT_METRICS: dict[str, MetricSpec] = {
    **INVOCATION_METRICS,
    "InvocationsPerInstance": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    # Serverless: the cold start (container and model set-up) of a new compute resource.
    "ModelSetupTime": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    # Multi-model endpoints.
    "ModelCacheHit": MetricSpec(ENDPOINT_NAMESPACE, "Average"),
    "LoadedModelCount": MetricSpec(ENDPOINT_NAMESPACE, "Average"),
    "ModelLoadingWaitTime": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    "ModelDownloadingTime": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    "ModelLoadingTime": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    "ModelUnloadingTime": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    # Instance utilization. CPUUtilization sums the cores: 0-400 % on a 4-vCPU instance.
    "CPUUtilization": MetricSpec(INSTANCE_NAMESPACE, "Average", _PERCENT),
    "MemoryUtilization": MetricSpec(INSTANCE_NAMESPACE, "Average", _PERCENT),
    "GPUUtilization": MetricSpec(INSTANCE_NAMESPACE, "Average", _PERCENT),
    "GPUMemoryUtilization": MetricSpec(INSTANCE_NAMESPACE, "Average", _PERCENT),
    "DiskUtilization": MetricSpec(INSTANCE_NAMESPACE, "Average", _PERCENT),
}

# Dimensions EndpointName + VariantName + ContainerName (multi-container, direct invocation).
CONTAINER_METRICS: dict[str, MetricSpec] = {
    "Invocations": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "Invocation4XXErrors": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "Invocation5XXErrors": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "ContainerLatency": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    "OverheadLatency": MetricSpec(ENDPOINT_NAMESPACE, "Average", _MICRO),
    "CPUUtilization": MetricSpec(INSTANCE_NAMESPACE, "Average", _PERCENT),
    "MemoryUtilization": MetricSpec(INSTANCE_NAMESPACE, "Average", _PERCENT),
}


def build_metric(
    table: dict[str, MetricSpec],
    metric_name: str,
    dimensions: dict[str, str],
    **props: Any,
) -> cloudwatch.Metric:
    """A ``cloudwatch.Metric`` of ``table`` with its namespace, default statistic and unit."""
    try:
        spec = table[metric_name]
    except KeyError:
        raise ValueError(
            f"unknown metric {metric_name!r} (known: {', '.join(sorted(table))})"
        ) from None
    options: dict[str, Any] = {
        "statistic": spec.statistic,
        "period": cdk_values.minutes(1),
        **({"unit": spec.unit} if spec.unit else {}),
        **props,
    }
    return cloudwatch.Metric(
        namespace=spec.namespace, metric_name=metric_name, dimensions_map=dimensions, **options
    )


class InvocationMetrics:
    """The invocation metrics that an endpoint's variant and an inference component both publish;
    ``metric`` gives each its namespace and dimensions."""

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        raise NotImplementedError

    def metric_invocations(self, **props: Any) -> cloudwatch.Metric:
        """Requests sent to the variant or component (Sum per minute)."""
        return self.metric("Invocations", **props)

    def metric_model_latency(self, **props: Any) -> cloudwatch.Metric:
        """Microseconds the container took to answer (Average)."""
        return self.metric("ModelLatency", **props)

    def metric_invocation_5xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 5xx code (Sum)."""
        return self.metric("Invocation5XXErrors", **props)

    def metric_invocation_4xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 4xx code (Sum)."""
        return self.metric("Invocation4XXErrors", **props)

    def _latency_widget(self, title: str) -> cloudwatch.GraphWidget:
        """Model latency p50 and p90 beside SageMaker's own overhead p90 (microseconds)."""
        return cloudwatch.GraphWidget(
            title=title,
            left=[
                self.metric_model_latency(statistic="p50", label="ModelLatency p50"),
                self.metric_model_latency(statistic="p90", label="ModelLatency p90"),
                self.metric("OverheadLatency", statistic="p90", label="OverheadLatency p90"),
            ],
            width=6,
        )

    def _error_metrics(self) -> list[cloudwatch.IMetric]:
        """The model's 4xx and 5xx answers, labelled for a graph."""
        return [
            self.metric_invocation_4xx_errors(label="4xx"),
            self.metric_invocation_5xx_errors(label="5xx"),
        ]


class SynchronousEndpoint(CreatedEndpoint, InvocationMetrics, Construct):
    """Base of the endpoints invoked with ``InvokeEndpoint``: the endpoint, grants and metrics.

    Subclasses build their ``AWS::SageMaker::EndpointConfig`` and call ``_create_endpoint``.
    """

    variant_name: str
    role: iam.IRole
    cfn_endpoint_config: sagemaker.CfnEndpointConfig

    def _create_endpoint_config(
        self,
        *,
        variant: sagemaker.CfnEndpointConfig.ProductionVariantProperty,
        instance_type: str,
        volume_key: kms.IKey | None,
        **props: Any,
    ) -> None:
        """``cfn_endpoint_config`` (``endpoint_config``), and the role's use of the volume key."""
        self.cfn_endpoint_config, key = endpoint_config(
            self, variant=variant, instance_type=instance_type, volume_key=volume_key, **props
        )
        if key is not None:
            key.grant(self.role, *VOLUME_KEY_ACTIONS)

    def _create_endpoint(
        self,
        *,
        endpoint_name: str | None = None,
        deployment_config: sagemaker.CfnEndpoint.DeploymentConfigProperty | None = None,
        instance_type: str | None = None,
    ) -> None:
        """The endpoint; ``endpoint_name`` is used (and kept) as given, else an instance-backed
        endpoint is named after its ``instance_type`` so that a new type replaces it
        (``instance_endpoint_name``: SageMaker refuses to change it in place under scaling)."""
        physical_name = endpoint_name
        if physical_name is None and instance_type is not None:
            physical_name = instance_endpoint_name(self, instance_type)
        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
            endpoint_name=physical_name,
            deployment_config=deployment_config,
            # An update keeps the instance count that autoscaling set, instead of resetting it
            # to the configuration's initial count in the middle of a busy hour.
            retain_all_variant_properties=True,
        )
        # The role's grants (image pull, model data) must be attached before SageMaker starts
        # the containers, not only the role created.
        self.cfn_endpoint.node.add_dependency(role_policy(self.role))
        if endpoint_name is not None:
            self._endpoint_name = endpoint_name

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on this endpoint, and nothing else."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint"],
            resource_arns=[self.endpoint_arn],
        )

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A variant metric of ``VARIANT_METRICS`` (``props``: ``cloudwatch.Metric`` options)."""
        return build_metric(
            VARIANT_METRICS,
            metric_name,
            {"EndpointName": self.endpoint_name, "VariantName": self.variant_name},
            **props,
        )

    def metric_invocations_per_instance(self, **props: Any) -> cloudwatch.Metric:
        """Requests per instance (Sum per minute): what the predefined scaling metric tracks."""
        return self.metric("InvocationsPerInstance", **props)

    def metric_overhead_latency(self, **props: Any) -> cloudwatch.Metric:
        """Microseconds SageMaker added to the model's time (Average)."""
        return self.metric("OverheadLatency", **props)

    def metric_cpu_utilization(self, **props: Any) -> cloudwatch.Metric:
        """CPU use summed over the instance's cores (Average; 0-100 % per core)."""
        return self.metric("CPUUtilization", **props)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """A dashboard row: traffic, latency (p50/p90 of model and overhead), errors, CPU and
        memory. Latency metrics are in microseconds, as SageMaker publishes them."""
        return [
            cloudwatch.GraphWidget(
                title="Invocations (per minute)",
                left=[self.metric_invocations(label="Invocations")],
                width=6,
            ),
            self._latency_widget("Latency (µs)"),
            cloudwatch.GraphWidget(title="Errors", left=self._error_metrics(), width=6),
            cloudwatch.GraphWidget(
                title="Utilization (%)",
                left=[
                    self.metric_cpu_utilization(label="CPU (sum of cores)"),
                    self.metric("MemoryUtilization", label="Memory"),
                ],
                width=6,
            ),
        ]


def execution_role(scope: Construct, construct_id: str, *, description: str) -> iam.Role:
    """A SageMaker execution role allowed to write endpoint logs and SageMaker metrics.

    For models built here from several containers (``HuggingFaceModel`` makes its own role for a
    single container). Image pulls and model data reads are granted per container by the caller.
    """
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description=description,
    )
    stack = Stack.of(scope)
    log_group_arn = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name="/aws/sagemaker/*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resources=[log_group_arn, f"{log_group_arn}:log-stream:*"],
        )
    )
    # GetAuthorizationToken and PutMetricData have no resource-level permissions.
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={
                "StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker"]}
            },
        )
    )
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level "
        "permissions; PutMetricData is pinned to SageMaker namespaces by a condition.",
    )
    for resource in ("log-group:/aws/sagemaker/*", "log-group:/aws/sagemaker/*:log-stream:*"):
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            f"<AWS::AccountId>:{resource}]",
            "Endpoint and transform job log groups are named by SageMaker after this role "
            "exists (they carry the generated endpoint or job name): scoped to SageMaker's.",
        )
    return role


# Key use of an instance volume encrypted with a customer-managed key (EBS through SageMaker).
VOLUME_KEY_ACTIONS = (
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKeyWithoutPlaintext",
)


def variant_problems(variant_name: Any) -> list[str]:
    """Problems with a production variant name."""
    if not isinstance(variant_name, str) or not HOSTNAME.match(variant_name):
        return [
            f"variant_name: must be 1-63 letters, digits or inner hyphens (got {variant_name!r})"
        ]
    return []
