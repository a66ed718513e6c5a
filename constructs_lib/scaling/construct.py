"""Autoscaling of an asynchronous endpoint: to zero when idle, back up on the first request.

Three dynamic policies and optional scheduled actions act on one scalable target:

- target tracking on ``ApproximateBacklogSizePerInstance`` sizes the fleet during a burst and
  scales in (down to ``min_capacity``, which may be 0) when the queue drains;
- a wake-up step policy adds one instance when ``HasBacklogWithoutCapacity`` reports requests
  waiting with no instance at all (target tracking alone only wakes once the backlog exceeds the
  target value);
- an optional spike step policy adds several instances at once when the backlog per instance is
  far above the target.

Application Auto Scaling runs the policy that asks for the most capacity, so they combine
rather than fight. ``docs/scaling.md`` walks through a burst and how to tune each setting.
"""

from __future__ import annotations

from typing import Protocol

from aws_cdk import Stack, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import raise_if_problems
from constructs_lib.endpoint.base import IAsyncEndpoint
from constructs_lib.endpoint.deployment_settings import DeploymentSettings, scaling_floor_problems
from constructs_lib.scaling import policies
from constructs_lib.scaling.settings import (
    ScalingSettings,
)

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"

# Application Auto Scaling uses (and creates, on first registration) this service-linked role for
# SageMaker variants and inference components alike, whatever RoleARN says
# (https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-sagemaker.html).
# Naming it keeps CDK from creating an unused role.
SERVICE_LINKED_ROLE_NAME = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


class ScaledVariant(Protocol):
    """The endpoint variant a scalable target names."""

    @property
    def endpoint_name(self) -> str: ...

    @property
    def variant_name(self) -> str: ...


class CapacityBounds(Protocol):
    """The instance count bounds of a scaled variant (async and real-time settings alike)."""

    @property
    def min_capacity(self) -> int: ...

    @property
    def max_capacity(self) -> int: ...


def variant_scalable_target(
    scope: Construct,
    variant: ScaledVariant,
    bounds: CapacityBounds,
    endpoint_resource: IConstruct | None,
) -> appscaling.ScalableTarget:
    """The scalable target of ``variant``'s instance count between ``bounds``, on the
    service-linked role.

    Registration needs the endpoint, and deregistration must come before the endpoint is
    deleted. A ``GetAtt`` of the endpoint name in the ResourceId orders both already (an explicit
    DependsOn on top would be cfn-lint W3005); a literal endpoint name (blue/green) does not, so
    then the target depends on ``endpoint_resource`` (when this app creates the endpoint).
    """
    endpoint_name = variant.endpoint_name
    return sagemaker_scalable_target(
        scope,
        scalable_dimension=SCALABLE_DIMENSION,
        resource_id=f"endpoint/{endpoint_name}/variant/{variant.variant_name}",
        min_capacity=bounds.min_capacity,
        max_capacity=bounds.max_capacity,
        # A GetAtt in the ResourceId already orders the target after the endpoint.
        depends_on=None if Token.is_unresolved(endpoint_name) else endpoint_resource,
    )


def sagemaker_scalable_target(
    scope: Construct,
    *,
    scalable_dimension: str,
    resource_id: str,
    min_capacity: int,
    max_capacity: int,
    depends_on: IConstruct | None,
) -> appscaling.ScalableTarget:
    """A scalable target in the ``sagemaker`` namespace (a variant's instances, an inference
    component's copies), registered through the SageMaker service-linked role: no new role.

    ``depends_on`` (the scaled resource, when ``resource_id`` names it literally) orders
    registration after it and deregistration before its deletion.
    """
    service_linked_role = iam.Role.from_role_arn(
        scope,
        "ServiceLinkedRole",
        Stack.of(scope).format_arn(
            service="iam", region="", resource="role", resource_name=SERVICE_LINKED_ROLE_NAME
        ),
        mutable=False,
    )
    target = appscaling.ScalableTarget(
        scope,
        "Target",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        scalable_dimension=scalable_dimension,
        resource_id=resource_id,
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        role=service_linked_role,
    )
    if depends_on is not None:
        target.node.add_dependency(depends_on)
    return target


class AsyncEndpointScaling(Construct):
    """Scales an ``AsyncEndpoint``'s variant between ``settings.min_capacity`` and
    ``settings.max_capacity`` instances, down to zero when idle and back up on demand.

    Makes a scalable target (``sagemaker:variant:DesiredInstanceCount``, using the SageMaker
    Application Auto Scaling service-linked role rather than a new role), a target tracking policy
    on ``ApproximateBacklogSizePerInstance``, a wake-up step policy driven by an alarm on
    ``HasBacklogWithoutCapacity``, and, if enabled, a spike step policy and scheduled actions.

    What a caller must know:

    - Requests sent while no instance runs wait in the queue; the first result takes the alarm
      period(s) plus a cold start (minutes). ``docs/scaling.md`` shows the timeline.
    - Changing the endpoint's instance type while it is registered fails (SageMaker refuses the
      update); deregister first. A scheduled action changes the live min/max until the next one,
      and a deploy that changes ``min_capacity``/``max_capacity`` resets them.
    - An endpoint with a stepped deployment strategy (canary, linear, rolling: its
      ``deployment``) needs ``min_capacity`` of 2 or more (scheduled actions stay within it):
      refused otherwise. Application Auto Scaling is blocked while an update runs
      (docs/deployments.md).

    Args:
        endpoint: the endpoint to scale; an imported one works too.
        settings: capacity bounds, policies and schedules (``ScalingSettings``; its fields
            carry their own defaults).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: IAsyncEndpoint,
        settings: ScalingSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        # An endpoint whose updates shift a share of the fleet at a time must never be scaled
        # below two instances (DeploymentSettings).
        deployment = getattr(endpoint, "deployment", None)
        raise_if_problems(
            "AsyncEndpointScaling",
            settings.problems()
            + scaling_floor_problems(
                deployment if isinstance(deployment, DeploymentSettings) else None,
                settings.min_capacity,
            ),
        )
        self.endpoint = endpoint
        self.settings = settings

        self.scalable_target = variant_scalable_target(
            self, endpoint, settings, endpoint.endpoint_resource
        )

        self.target_tracking_policy = policies.track(
            self.scalable_target,
            "BacklogTracking",
            settings.target_backlog_per_instance,
            endpoint.metric_approximate_backlog_size_per_instance(statistic="Average"),
            policies.cooldowns(
                settings.scale_in_cooldown_seconds, settings.scale_out_cooldown_seconds
            ),
        )

        # HasBacklogWithoutCapacity is 1 only while no instance runs, so this +1 never stacks on
        # top of what target tracking asked for once an instance is up.
        self.wake_up_action, self.wake_up_alarm = policies.step_on_alarm(
            self,
            "WakeUp",
            target=self.scalable_target,
            steps=[(1, 0, None)],
            cooldown_seconds=settings.wake_up_cooldown_seconds,
            alarm_description=(
                "Requests are waiting and the endpoint has no instance: adds one (scale from zero)."
            ),
            metric=endpoint.metric_has_backlog_without_capacity(
                statistic="Average", period=cdk_values.seconds(settings.wake_up_period_seconds)
            ),
            threshold=1,
            evaluation_periods=settings.wake_up_evaluation_periods,
        )

        self.spike_action: appscaling.StepScalingAction | None = None
        self.spike_alarm: cloudwatch.Alarm | None = None
        if settings.spike_enabled:
            self._add_spike_policy(endpoint, settings)

        policies.schedule(self.scalable_target, settings.scheduled_actions)

    def _add_spike_policy(self, endpoint: IAsyncEndpoint, settings: ScalingSettings) -> None:
        threshold = settings.spike_threshold
        # [threshold, 2 x threshold) adds the step, [2 x threshold, inf) the large step.
        self.spike_action, self.spike_alarm = policies.step_on_alarm(
            self,
            "Spike",
            target=self.scalable_target,
            steps=[
                (settings.spike_step_instances, 0, threshold),
                (settings.spike_large_step_instances, threshold, None),
            ],
            cooldown_seconds=settings.scale_out_cooldown_seconds,
            alarm_description=(
                f"Backlog per instance is at least {threshold:g} "
                f"({settings.spike_threshold_multiple:g} x the target): adds instances in steps."
            ),
            metric=endpoint.metric_approximate_backlog_size_per_instance(
                statistic="Average", period=cdk_values.seconds(settings.spike_period_seconds)
            ),
            threshold=threshold,
            evaluation_periods=settings.spike_evaluation_periods,
        )
