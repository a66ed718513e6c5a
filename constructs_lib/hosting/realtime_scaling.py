"""Autoscaling of a real-time endpoint, with the strategies of the autoscaling article.

- Target tracking on ``SageMakerVariantInvocationsPerInstance`` (the predefined metric: requests
  per instance per minute), the recommended primary policy. ``sizing.py`` derives its target and
  the capacity bounds from a benchmark.
- Target tracking on ``CPUUtilization`` (a customized metric in ``/aws/sagemaker/Endpoints``).
  SageMaker sums the cores (0-400 % on 4 vCPUs), so the target is given per core and multiplied
  by the instance's vCPUs here: 50 % on a 2-vCPU ``ml.c5.large`` tracks 100.
- A step policy for spikes, driven by an alarm on ``InvocationsPerInstance``: the article's
  steps (+1, +3, +4 instances) by how far the metric is above the alarm threshold.
- Scheduled actions that move min/max capacity for forecast traffic.

Application Auto Scaling runs the policy that asks for the most capacity, so they combine.
A real-time variant that names its model keeps at least one instance: ``min_capacity`` is at
least 1. An endpoint scales to zero only when it hosts inference components
(``inference_components.InferenceComponentEndpoint``).
"""

from __future__ import annotations

from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import raise_if_problems
from constructs_lib.hosting._common import SynchronousEndpoint
from constructs_lib.hosting.realtime_settings import (
    RealtimeScalingSettings,
    instance_vcpus,
)
from constructs_lib.scaling import policies
from constructs_lib.scaling.construct import variant_scalable_target


class RealtimeScaling(Construct):
    """Scales a real-time endpoint's variant between ``settings.min_capacity`` and
    ``settings.max_capacity`` instances.

    Makes a scalable target on ``sagemaker:variant:DesiredInstanceCount`` (through the SageMaker
    Application Auto Scaling service-linked role, so no new role), the enabled target tracking
    policies, the step policy with its alarm, and the scheduled actions.

    Args:
        endpoint: the real-time endpoint whose variant scales.
        settings: bounds, policies and schedules (``RealtimeScalingSettings``; its fields carry
            their own defaults).
        instance_type: normalizes the CPU target. Default: ``None`` (the endpoint's).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: SynchronousEndpoint,
        settings: RealtimeScalingSettings,
        instance_type: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        instance_type = instance_type or getattr(endpoint, "instance_type", None)
        raise_if_problems("RealtimeScaling", settings.problems(instance_type))
        self.endpoint = endpoint
        self.settings = settings

        self.scalable_target = variant_scalable_target(
            self, endpoint, settings, endpoint.cfn_endpoint
        )
        cooldown = policies.cooldowns(
            settings.scale_in_cooldown_seconds, settings.scale_out_cooldown_seconds
        )
        self.invocations_policy = policies.track(
            self.scalable_target,
            "InvocationsTracking",
            settings.invocations_per_instance_target,
            appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            cooldown,
        )
        self.cpu_policy: appscaling.TargetTrackingScalingPolicy | None = None
        if settings.cpu_utilization_target_percent is not None:
            vcpus = settings.vcpus or instance_vcpus(str(instance_type))
            assert vcpus is not None  # checked by problems()
            self.cpu_target_value = settings.cpu_utilization_target_percent * vcpus
            self.cpu_policy = policies.track(
                self.scalable_target,
                "CpuTracking",
                self.cpu_target_value,
                endpoint.metric_cpu_utilization(statistic="Average"),
                cooldown,
            )
        self.step_action: appscaling.StepScalingAction | None = None
        self.step_alarm: cloudwatch.Alarm | None = None
        threshold = settings.step_threshold_invocations_per_instance
        if threshold is not None:
            self.step_action, self.step_alarm = policies.step_on_alarm(
                self,
                "Spike",
                target=self.scalable_target,
                steps=[(step.change, step.lower, step.upper) for step in settings.step_adjustments],
                cooldown_seconds=settings.scale_out_cooldown_seconds,
                alarm_description=(
                    f"Invocations per instance at least {threshold:g} a minute: add instances in "
                    "steps (spike policy)."
                ),
                metric=endpoint.metric_invocations_per_instance(
                    statistic="Sum", period=cdk_values.seconds(settings.step_period_seconds)
                ),
                threshold=threshold,
                evaluation_periods=settings.step_evaluation_periods,
            )
        policies.schedule(self.scalable_target, settings.scheduled_actions)
