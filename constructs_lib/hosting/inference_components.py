"""A real-time endpoint that hosts inference components, and scales them (and itself) to zero.

An inference component is a model deployed onto an endpoint with what each copy reserves
(accelerators, CPU cores, memory) and how many copies run. SageMaker places the copies on the
endpoint's instances and, with managed instance scaling, adds and removes instances to fit them;
Application Auto Scaling sizes the copies. This is the only way a real-time endpoint reaches zero
instances ("Scale an endpoint to zero instances",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html):

- the endpoint configuration names an execution role and one variant **without** a model, with
  ``ManagedInstanceScaling`` (``MinInstanceCount`` 0) and a routing strategy;
- each component (``AWS::SageMaker::InferenceComponent``) names the model and its requirements;
- its copies are a scalable target (``inference-component/<name>``,
  ``sagemaker:inference-component:DesiredCopyCount``, minimum 0) with target tracking on
  ``SageMakerInferenceComponentInvocationsPerCopy`` (and/or the high-resolution concurrency
  metric), which also scales in to zero;
- nothing is tracked at zero copies, so a step policy adds one copy when an alarm sees
  ``NoCapacityInvocationFailures``, which SageMaker publishes when a request arrives and no
  instance can serve it.

What a caller must know: requests sent while a component has no copy **fail** (no queue, unlike
an asynchronous endpoint) for the several minutes a copy takes to start; they are what wakes it.
SageMaker refuses ``CopyCount`` 0 when it creates a component, so a deployment starts one copy
(and an instance) that scales in after the idle period. Asynchronous endpoints cannot host
components (``InvokeEndpointAsync`` has no ``InferenceComponentName``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import ArnFormat, Names, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._nag import acknowledge, nag_resources
from constructs_lib._validation import check_int, is_token, raise_if_problems
from constructs_lib._values import ENDPOINT_NAMESPACE, INSTANCE_NAMESPACE
from constructs_lib.endpoint.construct import ENDPOINT_NAME_LENGTH, check_container_timeout
from constructs_lib.hosting._common import (
    HOSTNAME,
    INVOCATION_METRICS,
    InvocationMetrics,
    MetricSpec,
    ModelLike,
    SynchronousEndpoint,
    build_metric,
    variant_problems,
)
from constructs_lib.hosting.inference_component_settings import (
    ROUTING_STRATEGIES,
    ComputeRequirements,
    CopyScaling,
    copy_count_problems,
)
from constructs_lib.model.instance_types import instance_type_problems
from constructs_lib.scaling import policies
from constructs_lib.scaling.construct import sagemaker_scalable_target

COMPONENT_NAMESPACE = "/aws/sagemaker/InferenceComponents"
SCALABLE_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


# Dimension InferenceComponentName ("Filters inference component invocation metrics",
# https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html): an endpoint with
# components publishes its invocation metrics per component. The utilization metrics are
# "reported by each copy", normalized over what the copy reserved.
COMPONENT_METRICS: dict[str, MetricSpec] = {
    **INVOCATION_METRICS,
    "InvocationsPerCopy": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "ConcurrentRequestsPerCopy": MetricSpec(ENDPOINT_NAMESPACE, "Maximum"),
    "NoCapacityInvocationFailures": MetricSpec(ENDPOINT_NAMESPACE, "Sum"),
    "CPUUtilizationNormalized": MetricSpec(COMPONENT_NAMESPACE, "Average"),
    "MemoryUtilizationNormalized": MetricSpec(COMPONENT_NAMESPACE, "Average"),
    "GPUUtilizationNormalized": MetricSpec(COMPONENT_NAMESPACE, "Average"),
    "GPUMemoryUtilizationNormalized": MetricSpec(COMPONENT_NAMESPACE, "Average"),
}

# Dimensions EndpointName + VariantName, "provided only for endpoints that host active inference
# components": what the copies reserve of the instances, and what they use of it.
RESERVATION_METRICS: dict[str, MetricSpec] = {
    name: MetricSpec(INSTANCE_NAMESPACE, "Average")
    for name in (
        "CPUReservation",
        "GPUReservation",
        "MemoryReservation",
        "CPUUtilizationNormalized",
        "GPUUtilizationNormalized",
        "GPUMemoryUtilizationNormalized",
        "MemoryUtilizationNormalized",
    )
}


@dataclass(frozen=True, kw_only=True)
class InferenceComponentSpec:
    """One component of an ``InferenceComponentEndpoint``: a model and what each copy reserves."""

    #: Its construct id (letters, digits, inner hyphens; unique on the endpoint).
    id: str
    #: Any model with a name and an execution role (e.g. ``HuggingFaceModel``).
    model: ModelLike
    #: What each copy reserves (``min_memory_mb`` is required by SageMaker).
    compute: ComputeRequirements
    #: Copies at creation, at least 1: SageMaker refuses 0 at creation. Default: ``1``.
    initial_copies: int = 1
    #: Copy scaling; ``None`` keeps ``initial_copies`` copies, with no scalable target at all.
    #: Default: ``CopyScaling()`` (0 to 4 copies, scale to zero and back).
    scaling: CopyScaling | None = field(default_factory=CopyScaling)

    def problems(self, instance_type: str | None = None, prefix: str = "") -> list[str]:
        """Every problem, as ``"<prefix><field>: ... (got ...)"``."""
        problems: list[str] = []
        if not isinstance(self.id, str) or not HOSTNAME.match(self.id):
            problems.append(
                f"{prefix}id: must be 1-63 letters, digits or inner hyphens (got {self.id!r})"
            )
        if not isinstance(self.compute, ComputeRequirements):
            problems.append(
                f"{prefix}compute: must be a ComputeRequirements (got {self.compute!r})"
            )
        else:
            problems += self.compute.problems(instance_type, f"{prefix}compute.")
        if self.scaling is not None and not isinstance(self.scaling, CopyScaling):
            problems.append(
                f"{prefix}scaling: must be a CopyScaling or None (got {self.scaling!r})"
            )
            return problems
        if self.scaling is not None:
            problems += self.scaling.problems(f"{prefix}scaling.")
        problems += copy_count_problems(self.initial_copies, self.scaling, prefix)
        return problems


class InferenceComponent(InvocationMetrics, Construct):
    """One inference component, its copy scaling, grants and metrics (made by
    ``InferenceComponentEndpoint``; reach it through ``endpoint.components``).

    ``inference_component_name`` is literal and deterministic: callers pass it to
    ``InvokeEndpoint`` as ``InferenceComponentName``, the scalable target and the alarms name it.
    It ends with the endpoint's instance type, and so does the resource's logical id: a new
    instance type replaces the endpoint, and the component is created anew on the new endpoint
    rather than updated in place (``UpdateInferenceComponent`` cannot move a component).

    Args:
        spec: the component (its ``id`` is the construct id).
        instance_suffix: the endpoint's instance type, as it ends the component's name.
        startup_timeout_seconds: the container's health check and model download timeout.
    """

    def __init__(
        self,
        scope: InferenceComponentEndpoint,
        spec: InferenceComponentSpec,
        *,
        instance_suffix: str | None,
        startup_timeout_seconds: int,
    ) -> None:
        super().__init__(scope, spec.id)
        self.endpoint = scope
        self.spec = spec
        self.model = spec.model
        self.inference_component_name = _component_name(self, instance_suffix)
        compute = spec.compute
        self.cfn_inference_component = sagemaker.CfnInferenceComponent(
            self,
            "Resource" + "".join(part.capitalize() for part in (instance_suffix or "").split("-")),
            inference_component_name=self.inference_component_name,
            endpoint_name=scope.endpoint_name,
            variant_name=scope.variant_name,
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=spec.model.model_name,
                compute_resource_requirements=(
                    sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                        min_memory_required_in_mb=compute.min_memory_mb,
                        max_memory_required_in_mb=compute.max_memory_mb,
                        number_of_accelerator_devices_required=compute.accelerators,
                        number_of_cpu_cores_required=compute.cpu_cores,
                    )
                ),
                startup_parameters=(
                    sagemaker.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                        container_startup_health_check_timeout_in_seconds=startup_timeout_seconds,
                        model_data_download_timeout_in_seconds=startup_timeout_seconds,
                    )
                ),
            ),
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=spec.initial_copies
            ),
        )

        self.scalable_target: appscaling.ScalableTarget | None = None
        self.invocations_policy: appscaling.TargetTrackingScalingPolicy | None = None
        self.concurrency_policy: appscaling.TargetTrackingScalingPolicy | None = None
        self.wake_up_action: appscaling.StepScalingAction | None = None
        self.wake_up_alarm: cloudwatch.Alarm | None = None
        self.wake_up_failure_alarm: cloudwatch.Alarm | None = None
        if spec.scaling is not None:
            self._add_scaling(spec.scaling)

    @property
    def inference_component_arn(self) -> str:
        """The component's ARN (``Ref`` of ``AWS::SageMaker::InferenceComponent``)."""
        return self.cfn_inference_component.ref

    def _add_scaling(self, scaling: CopyScaling) -> None:
        # The ResourceId names the component literally: the target waits for it explicitly.
        self.scalable_target = sagemaker_scalable_target(
            self,
            scalable_dimension=SCALABLE_DIMENSION,
            resource_id=f"inference-component/{self.inference_component_name}",
            min_capacity=scaling.min_copies,
            max_capacity=scaling.max_copies,
            depends_on=self.cfn_inference_component,
        )
        cooldown = policies.cooldowns(
            scaling.scale_in_cooldown_seconds, scaling.scale_out_cooldown_seconds
        )
        self.invocations_policy = policies.track(
            self.scalable_target,
            "InvocationsTracking",
            scaling.invocations_per_copy_target,
            appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY,
            cooldown,
        )
        self.concurrency_policy = policies.track(
            self.scalable_target,
            "ConcurrencyTracking",
            scaling.concurrent_requests_per_copy_target,
            appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION,
            cooldown,
        )
        if scaling.min_copies == 0:
            self._add_wake_up(scaling)

    def _add_wake_up(self, scaling: CopyScaling) -> None:
        assert self.scalable_target is not None
        # The documented step policy: +1 copy, bounds relative to the threshold ([0, inf) means
        # at least one failed request), aggregated with Maximum. Its cooldown is longer than a
        # cold start: requests keep failing (and the alarm keeps invoking the policy every
        # minute) until the first copy serves, and each invocation past the cooldown would add
        # another copy, and with it another instance.
        # The documentation's example alarm uses GreaterThanThreshold with threshold 1 on the
        # Sum per minute: it needs two failed requests in one minute, so a lone request (a user
        # trying once, a health check) never wakes the component. ">= 1" wakes it on the
        # first one; one period of one minute (SageMaker publishes once a minute) keeps the
        # wake-up latency at about a minute. No data means no request: not breaching.
        self.wake_up_action, self.wake_up_alarm = policies.step_on_alarm(
            self,
            "WakeUp",
            target=self.scalable_target,
            steps=[(1, 0, None)],
            cooldown_seconds=scaling.wake_up_cooldown_seconds,
            aggregation=appscaling.MetricAggregationType.MAXIMUM,
            alarm_description=(
                f"A request found no copy of inference component {self.inference_component_name}:"
                " adds one (scale from zero). Requests fail until it serves."
            ),
            metric=self.metric_no_capacity_invocation_failures(
                period=cdk_values.minutes(1), statistic="Sum"
            ),
            threshold=1,
            evaluation_periods=1,
            datapoints_to_alarm=1,
        )
        minutes = scaling.wake_up_failure_minutes
        self.wake_up_failure_alarm = cloudwatch.Alarm(
            self,
            "WakeUpFailureAlarm",
            alarm_description=(
                f"Requests to inference component {self.inference_component_name} have found "
                f"no copy in each of the last {minutes} minutes: waking from zero is failing "
                "(instance capacity or quota, container start, scaling policy)."
            ),
            metric=self.metric_no_capacity_invocation_failures(
                period=cdk_values.minutes(1), statistic="Sum"
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        """The alarms an operator watches (the wake-up failure alarm, with scale-to-zero)."""
        return [self.wake_up_failure_alarm] if self.wake_up_failure_alarm is not None else []

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on the endpoint and this component only.

        ``InvokeEndpoint`` authorizes both resource types, ``endpoint`` and
        ``inference-component`` (Service Authorization Reference, Amazon SageMaker AI).
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint"],
            resource_arns=[self.endpoint.endpoint_arn, self.inference_component_arn],
        )

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A metric of ``COMPONENT_METRICS`` (``props``: ``cloudwatch.Metric`` options)."""
        return build_metric(
            COMPONENT_METRICS,
            metric_name,
            {"InferenceComponentName": self.inference_component_name},
            **props,
        )

    def metric_invocations_per_copy(self, **props: Any) -> cloudwatch.Metric:
        """Requests per copy (Sum per minute): what the invocations target tracks."""
        return self.metric("InvocationsPerCopy", **props)

    def metric_concurrent_requests_per_copy(self, **props: Any) -> cloudwatch.Metric:
        """Requests in flight per copy (Maximum)."""
        return self.metric("ConcurrentRequestsPerCopy", **props)

    def metric_no_capacity_invocation_failures(self, **props: Any) -> cloudwatch.Metric:
        """Requests that failed because no copy was running (Sum per minute)."""
        return self.metric("NoCapacityInvocationFailures", **props)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """A dashboard row for this component: traffic and requests that found no copy,
        latency, errors, load per copy, and what the copies use of what they reserved."""
        label = self.spec.id
        return [
            cloudwatch.GraphWidget(
                title=f"{label}: invocations (per minute)",
                left=[
                    self.metric_invocations(label="Invocations"),
                    self.metric_no_capacity_invocation_failures(
                        label="Failed: no copy (waking from zero)"
                    ),
                ],
                width=6,
            ),
            self._latency_widget(f"{label}: latency (µs)"),
            cloudwatch.GraphWidget(
                title=f"{label}: errors and load per copy",
                left=self._error_metrics(),
                right=[
                    self.metric_invocations_per_copy(label="Invocations per copy"),
                    self.metric_concurrent_requests_per_copy(label="Concurrent requests per copy"),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title=f"{label}: use of the reservation (%)",
                left=[
                    self.metric("GPUUtilizationNormalized", label="GPU"),
                    self.metric("GPUMemoryUtilizationNormalized", label="GPU memory"),
                    self.metric("CPUUtilizationNormalized", label="CPU"),
                    self.metric("MemoryUtilizationNormalized", label="Memory"),
                ],
                width=6,
            ),
        ]


class InferenceComponentEndpoint(SynchronousEndpoint):
    """A real-time endpoint whose variant hosts ``components`` on ``instance_type`` instances,
    scaled by SageMaker between ``min_instance_count`` and ``max_instance_count`` to fit the
    copies. The endpoint configuration names ``role`` and a variant without a model.

    The role may write the components' logs and metrics; ``grant_invoke`` lets a caller invoke
    every component, ``components[i].grant_invoke`` one of them. Metrics are per component
    (``components[i].metric_*``); ``metric`` here reads what the copies reserve of the
    instances. The endpoint is named after its construct path and instance type, like
    ``RealtimeEndpoint``, so a new instance type replaces it (and its components).

    Args:
        components: one or more ``InferenceComponentSpec``.
        instance_type: the variant's instance type.
        role: the endpoint configuration's execution role. Default: ``None`` (the first
            component's model role).
        initial_instance_count: instances at creation. Default: ``1`` (the API's minimum, even
            with a minimum of 0).
        min_instance_count: managed instance scaling's floor. Default: ``0``.
        max_instance_count: managed instance scaling's ceiling. Default: ``4``.
        routing_strategy: ``LEAST_OUTSTANDING_REQUESTS`` or ``RANDOM``. Default:
            ``"LEAST_OUTSTANDING_REQUESTS"``.
        variant_name: the production variant's name. Default: ``"AllTraffic"``.
        volume_key: encrypts instance volumes, except on instance families with NVMe storage,
            which refuse one. Default: ``None`` (SageMaker's AWS-managed key).
        container_startup_timeout_seconds: each copy's time to download its model and pass its
            health check, 60-3600. Default: ``600``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        components: Sequence[InferenceComponentSpec],
        instance_type: str,
        role: iam.IRole | None = None,
        initial_instance_count: int = 1,
        min_instance_count: int = 0,
        max_instance_count: int = 4,
        routing_strategy: str = "LEAST_OUTSTANDING_REQUESTS",
        variant_name: str = "AllTraffic",
        volume_key: kms.IKey | None = None,
        container_startup_timeout_seconds: int = 600,
    ) -> None:
        raise_if_problems(
            "InferenceComponentEndpoint",
            endpoint_problems(
                components=components,
                instance_type=instance_type,
                initial_instance_count=initial_instance_count,
                min_instance_count=min_instance_count,
                max_instance_count=max_instance_count,
                routing_strategy=routing_strategy,
                variant_name=variant_name,
                container_startup_timeout_seconds=container_startup_timeout_seconds,
            ),
        )
        super().__init__(scope, construct_id)
        self.instance_type = instance_type
        self.variant_name = variant_name
        self.role = role or components[0].model.role
        self._create_endpoint_config(
            # Required once the variant names no model: SageMaker deploys the components' models
            # with it ("ExecutionRoleArn is not supported with the given EndpointConfig setup"
            # when a model is named as well).
            execution_role_arn=self.role.role_arn,
            variant=sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=variant_name,
                instance_type=instance_type,
                initial_instance_count=initial_instance_count,
                managed_instance_scaling=sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                    status="ENABLED",
                    min_instance_count=min_instance_count,
                    max_instance_count=max_instance_count,
                ),
                routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                    routing_strategy=routing_strategy
                ),
                container_startup_health_check_timeout_in_seconds=(
                    container_startup_timeout_seconds
                ),
                model_data_download_timeout_in_seconds=container_startup_timeout_seconds,
            ),
            instance_type=instance_type,
            volume_key=volume_key,
        )
        self._grant_component_logs_and_metrics()
        self._create_endpoint(instance_type=instance_type)
        suffix = None if is_token(instance_type) else _instance_suffix(instance_type)
        self.components: tuple[InferenceComponent, ...] = tuple(
            InferenceComponent(
                self,
                spec,
                instance_suffix=suffix,
                startup_timeout_seconds=container_startup_timeout_seconds,
            )
            for spec in components
        )

    def component(self, component_id: str) -> InferenceComponent:
        """The component made from the spec with ``id`` ``component_id``."""
        for found in self.components:
            if found.spec.id == component_id:
                return found
        known = ", ".join(c.spec.id for c in self.components)
        raise KeyError(f"no inference component {component_id!r} (known: {known})")

    def _grant_component_logs_and_metrics(self) -> None:
        stack = Stack.of(self)
        # Each component logs to a group of its own, named after it by SageMaker under
        # /aws/sagemaker/InferenceComponents/ (not under the endpoint's group).
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{COMPONENT_NAMESPACE}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_principal_policy(
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
        # Per-copy utilization is published in its own namespace; PutMetricData has no
        # resource-level permissions, the condition pins the namespace.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": COMPONENT_NAMESPACE}},
            )
        )
        reason = (
            "Inference component log groups are named by SageMaker after each component: "
            "scoped to SageMaker's inference component log groups."
        )
        for resource in nag_resources(stack, [log_group_arn, f"{log_group_arn}:log-stream:*"]):
            acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData supports no resource-level permissions; it is pinned to "
            "the inference component metrics namespace by a condition.",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on this endpoint and its components only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint"],
            resource_arns=[
                self.endpoint_arn,
                *(component.inference_component_arn for component in self.components),
            ],
        )

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A metric of ``RESERVATION_METRICS`` (the variant's instances). Invocation metrics are
        per component: ``components[i].metric(...)``."""
        if metric_name in COMPONENT_METRICS and metric_name not in RESERVATION_METRICS:
            raise ValueError(
                f"{metric_name}: an endpoint with inference components publishes it per "
                "component (dimension InferenceComponentName): use "
                f"components[i].metric({metric_name!r})"
            )
        return build_metric(
            RESERVATION_METRICS,
            metric_name,
            {"EndpointName": self.endpoint_name, "VariantName": self.variant_name},
            **props,
        )

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        """Every component's operator alarms."""
        return [alarm for component in self.components for alarm in component.alarms]

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """A row per component, then what the copies reserve of the instances and use of it."""
        widgets: list[cloudwatch.IWidget] = []
        for component in self.components:
            widgets += component.dashboard_widgets()
        widgets.append(
            cloudwatch.GraphWidget(
                title="Instances: reserved by copies, and used (%)",
                left=[
                    self.metric("GPUReservation", label="GPU reserved"),
                    self.metric("MemoryReservation", label="Memory reserved"),
                    self.metric("CPUReservation", label="CPU reserved"),
                    self.metric("GPUUtilizationNormalized", label="GPU used"),
                    self.metric("CPUUtilizationNormalized", label="CPU used"),
                ],
                width=12,
            )
        )
        return widgets


def endpoint_problems(
    *,
    components: Any,
    instance_type: Any,
    initial_instance_count: Any,
    min_instance_count: Any,
    max_instance_count: Any,
    routing_strategy: Any,
    variant_name: Any,
    container_startup_timeout_seconds: Any,
) -> list[str]:
    """Every problem of an ``InferenceComponentEndpoint``'s properties."""
    problems = instance_type_problems("instance_type", instance_type)
    check_int(problems, "initial_instance_count", initial_instance_count, minimum=1)
    check_int(problems, "min_instance_count", min_instance_count, minimum=0)
    check_int(problems, "max_instance_count", max_instance_count, minimum=1)
    counts = (initial_instance_count, min_instance_count, max_instance_count)
    if all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        if min_instance_count > max_instance_count:
            problems.append(
                f"min_instance_count: must not exceed max_instance_count {max_instance_count!r} "
                f"(got {min_instance_count!r})"
            )
        if initial_instance_count > max_instance_count:
            problems.append(
                "initial_instance_count: must not exceed max_instance_count "
                f"{max_instance_count!r} (got {initial_instance_count!r})"
            )
    if not is_token(routing_strategy) and routing_strategy not in ROUTING_STRATEGIES:
        problems.append(
            f"routing_strategy: must be one of {', '.join(ROUTING_STRATEGIES)} "
            f"(got {routing_strategy!r})"
        )
    problems += variant_problems(variant_name)
    check_container_timeout(
        problems, "container_startup_timeout_seconds", container_startup_timeout_seconds
    )
    if isinstance(components, str) or not isinstance(components, Sequence) or not components:
        problems.append(
            f"components: must list at least one InferenceComponentSpec (got {components!r})"
        )
        return problems
    seen: set[str] = set()
    for index, spec in enumerate(components):
        prefix = f"components[{index}]."
        if not isinstance(spec, InferenceComponentSpec):
            problems.append(
                f"components[{index}]: must be an InferenceComponentSpec (got {spec!r})"
            )
            continue
        problems += spec.problems(instance_type if isinstance(instance_type, str) else None, prefix)
        if spec.id in seen:
            problems.append(f"{prefix}id: must be unique on the endpoint (got {spec.id!r} twice)")
        seen.add(spec.id)
    return problems


def _instance_suffix(instance_type: str) -> str:
    """``ml.g5.xlarge`` -> ``g5-xlarge``."""
    return instance_type.removeprefix("ml.").replace(".", "-")


def _component_name(component: Construct, instance_suffix: str | None) -> str:
    """A deterministic component name from the construct path, ending with the instance type."""
    if instance_suffix is None:
        return Names.unique_resource_name(component, max_length=ENDPOINT_NAME_LENGTH, separator="-")
    base = Names.unique_resource_name(
        component, max_length=ENDPOINT_NAME_LENGTH - len(instance_suffix) - 1, separator="-"
    )
    return f"{base}-{instance_suffix}"
