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

import math
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import check_int, check_number, raise_if_problems
from constructs_lib.hosting._common import SynchronousEndpoint
from constructs_lib.scaling import policies
from constructs_lib.scaling.construct import ScheduledCapacity, variant_scalable_target
from constructs_lib.scaling.settings import scheduled_action_problems

# vCPUs of common hosting instance types, to normalize CPUUtilization (which sums the cores).
# Types not listed need ``vcpus`` in the settings.
_SIZE_VCPUS = {
    "medium": 1,
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "9xlarge": 36,
    "12xlarge": 48,
    "16xlarge": 64,
    "18xlarge": 72,
    "24xlarge": 96,
}
_VCPU_FAMILIES = frozenset(
    {"c5", "c6i", "c7i", "m5", "m5d", "m6i", "m7i", "r5", "r5d", "r6i", "g4dn", "g5", "g6", "inf2"}
)


def instance_vcpus(instance_type: str) -> int | None:
    """vCPUs of ``instance_type`` (e.g. ``ml.c5.large`` -> 2), or None when not known here."""
    parts = instance_type.split(".")
    if len(parts) != 3 or parts[1] not in _VCPU_FAMILIES:
        return None
    return _SIZE_VCPUS.get(parts[2])


@dataclass(frozen=True, kw_only=True)
class StepAdjustment:
    """Add ``change`` instances while the metric is ``lower``..``upper`` above the threshold.

    ``upper`` None is unbounded. Bounds are relative to the alarm threshold, as in the API.
    """

    lower: float
    change: int
    upper: float | None = None


# The article's spike steps: +1 up to 5 above the threshold, +3 up to 80 above, +4 beyond.
ARTICLE_STEPS = (
    StepAdjustment(lower=0, upper=5, change=1),
    StepAdjustment(lower=5, upper=80, change=3),
    StepAdjustment(lower=80, change=4),
)


@dataclass(frozen=True, kw_only=True)
class RealtimeScalingSettings:
    """How a real-time endpoint scales. Defaults follow the autoscaling article's notebook.

    - ``min_capacity`` (default 1, at least 1) and ``max_capacity`` (default 4): bounds, e.g.
      from ``sizing.size_realtime_endpoint``.
    - ``invocations_per_instance_target`` (default 70.0 per minute; None turns the policy off).
    - ``cpu_utilization_target_percent`` (default None: off): per-core CPU target, 0-100;
      ``vcpus`` (default None: looked up from the instance type) normalizes it.
    - ``scale_in_cooldown_seconds`` (default 300) and ``scale_out_cooldown_seconds`` (default 60).
    - ``step_threshold_invocations_per_instance`` (default None: no step policy): the alarm
      threshold of the spike policy, with ``step_adjustments`` (default the article's steps),
      ``step_period_seconds`` (default 60) and ``step_evaluation_periods`` (default 1).
    - ``scheduled_actions`` (default none).
    """

    min_capacity: int = 1
    max_capacity: int = 4
    invocations_per_instance_target: float | None = 70.0
    cpu_utilization_target_percent: float | None = None
    vcpus: int | None = None
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60
    step_threshold_invocations_per_instance: float | None = None
    step_adjustments: tuple[StepAdjustment, ...] = ARTICLE_STEPS
    step_period_seconds: int = 60
    step_evaluation_periods: int = 1
    scheduled_actions: tuple[ScheduledCapacity, ...] = ()

    def problems(self, instance_type: str | None = None) -> list[str]:
        """Every problem with these settings, as ``"<field>: ... (got ...)"``."""
        problems: list[str] = []
        check_int(problems, "min_capacity", self.min_capacity, minimum=1)
        if self.min_capacity == 0:
            problems[-1] = (
                "min_capacity: a real-time variant keeps at least one instance; to scale to "
                "zero, host the model as an inference component (InferenceComponentEndpoint) or "
                "use an asynchronous or serverless endpoint (got 0)"
            )
        check_int(problems, "max_capacity", self.max_capacity, minimum=1)
        if _ints(self.min_capacity, self.max_capacity) and self.min_capacity > self.max_capacity:
            problems.append(
                f"min_capacity: must not exceed max_capacity {self.max_capacity!r} "
                f"(got {self.min_capacity!r})"
            )
        if self.invocations_per_instance_target is not None:
            check_number(
                problems,
                "invocations_per_instance_target",
                self.invocations_per_instance_target,
                exclusive_minimum=0,
            )
        if self.cpu_utilization_target_percent is not None:
            check_number(
                problems,
                "cpu_utilization_target_percent",
                self.cpu_utilization_target_percent,
                exclusive_minimum=0,
                maximum=100,
            )
            if self.vcpus is None and (
                instance_type is None or instance_vcpus(instance_type) is None
            ):
                problems.append(
                    "vcpus: needed to normalize the CPU target for instance type "
                    f"{instance_type!r} (got None)"
                )
        if self.vcpus is not None:
            check_int(problems, "vcpus", self.vcpus, minimum=1)
        if (
            self.invocations_per_instance_target is None
            and self.cpu_utilization_target_percent is None
            and self.step_threshold_invocations_per_instance is None
        ):
            problems.append(
                "invocations_per_instance_target: give it, cpu_utilization_target_percent or "
                "step_threshold_invocations_per_instance (got no scaling policy at all)"
            )
        check_int(problems, "scale_in_cooldown_seconds", self.scale_in_cooldown_seconds, minimum=0)
        check_int(
            problems, "scale_out_cooldown_seconds", self.scale_out_cooldown_seconds, minimum=0
        )
        problems += self._step_problems()
        for index, action in enumerate(self.scheduled_actions):
            field_name = f"scheduled_actions[{index}]"
            if not isinstance(action, ScheduledCapacity):
                problems.append(f"{field_name}: must be a ScheduledCapacity (got {action!r})")
                continue
            problems += scheduled_action_problems(
                field_name, action, self.min_capacity, self.max_capacity
            )
        return problems

    def _step_problems(self) -> list[str]:
        problems: list[str] = []
        if self.step_threshold_invocations_per_instance is None:
            return problems
        check_number(
            problems,
            "step_threshold_invocations_per_instance",
            self.step_threshold_invocations_per_instance,
            exclusive_minimum=0,
        )
        check_int(problems, "step_period_seconds", self.step_period_seconds, minimum=60)
        if isinstance(self.step_period_seconds, int) and self.step_period_seconds % 60:
            problems.append(
                "step_period_seconds: must be a multiple of 60 (SageMaker publishes once a "
                f"minute) (got {self.step_period_seconds!r})"
            )
        check_int(problems, "step_evaluation_periods", self.step_evaluation_periods, minimum=1)
        steps = self.step_adjustments
        if not steps:
            problems.append("step_adjustments: must list at least one step (got none)")
        previous_upper: float | None = 0.0
        for index, step in enumerate(steps):
            name = f"step_adjustments[{index}]"
            check_int(problems, f"{name}.change", step.change, minimum=1)
            if step.lower != previous_upper:
                problems.append(
                    f"{name}.lower: must start where the previous step ends, at "
                    f"{previous_upper!r} (got {step.lower!r})"
                )
            if step.upper is not None and step.upper <= step.lower:
                problems.append(
                    f"{name}.upper: must be above lower {step.lower!r} (got {step.upper!r})"
                )
            previous_upper = step.upper
        if steps and steps[-1].upper is not None:
            problems.append(
                f"step_adjustments[{len(steps) - 1}].upper: the last step must be unbounded "
                f"(got {steps[-1].upper!r})"
            )
        return problems


def _ints(*values: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


class RealtimeScaling(Construct):
    """Scales a real-time endpoint's variant between ``settings.min_capacity`` and
    ``settings.max_capacity`` instances.

    Makes a scalable target on ``sagemaker:variant:DesiredInstanceCount`` (through the SageMaker
    Application Auto Scaling service-linked role, so no new role), the enabled target tracking
    policies, the step policy with its alarm, and the scheduled actions. ``instance_type``
    (default: the endpoint's) normalizes the CPU target.
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


def normalized_cpu_target(per_core_percent: float, vcpus: int) -> float:
    """The ``CPUUtilization`` target for a per-core goal: ``per_core_percent x vcpus``."""
    if not (0 < per_core_percent <= 100) or vcpus < 1 or math.isnan(per_core_percent):
        raise ValueError(
            "per_core_percent must be in (0, 100] and vcpus at least 1 "
            f"(got {per_core_percent!r}, {vcpus!r})"
        )
    return per_core_percent * vcpus
