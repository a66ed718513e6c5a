"""Settings of a real-time endpoint: its autoscaling and its blue/green deployment guardrails.

Pure Python (no CDK import), apart from the constructs that read them (``RealtimeScaling`` in
``realtime_scaling.py``, ``RealtimeEndpoint`` in ``realtime.py``): the app's configuration
loader validates them without starting the CDK's Node process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from constructs_lib._validation import check_int, check_number
from constructs_lib.scaling.settings import ScheduledCapacity, scheduled_actions_problems

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch

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

    Bounds are relative to the alarm threshold, as in the API.
    """

    #: Where the step starts: the previous step's ``upper`` (0 for the first).
    lower: float
    #: Instances to add, at least 1.
    change: int
    #: Where the step ends; None: unbounded (the last step).
    upper: float | None = None


# The article's spike steps: +1 up to 5 above the threshold, +3 up to 80 above, +4 beyond.
ARTICLE_STEPS = (
    StepAdjustment(lower=0, upper=5, change=1),
    StepAdjustment(lower=5, upper=80, change=3),
    StepAdjustment(lower=80, change=4),
)


@dataclass(frozen=True, kw_only=True)
class RealtimeScalingSettings:
    """How a real-time endpoint scales; the defaults follow the autoscaling article's notebook.

    ``sizing.size_realtime_endpoint`` derives the bounds and the invocations target from a
    benchmark. Give at least one policy (invocations, CPU or step).
    """

    #: The fewest instances, at least 1 (a variant that names its model never scales to zero).
    min_capacity: int = 1
    #: The most instances.
    max_capacity: int = 4
    #: Target tracking on invocations per instance per minute; None turns the policy off.
    invocations_per_instance_target: float | None = 70.0
    #: Target tracking on per-core CPU, 0-100; None: off.
    cpu_utilization_target_percent: float | None = None
    #: vCPUs that normalize the CPU target; None: looked up from the instance type.
    vcpus: int | None = None
    #: Seconds between scale-in activities.
    scale_in_cooldown_seconds: int = 300
    #: Seconds between scale-out activities (the step policy's too).
    scale_out_cooldown_seconds: int = 60
    #: The alarm threshold of the spike step policy; None: no step policy.
    step_threshold_invocations_per_instance: float | None = None
    #: The spike policy's steps, relative to its threshold.
    step_adjustments: tuple[StepAdjustment, ...] = ARTICLE_STEPS
    #: The spike alarm's period, a multiple of 60.
    step_period_seconds: int = 60
    #: Periods the spike alarm must breach.
    step_evaluation_periods: int = 1
    #: Scheduled changes of the bounds.
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
        problems += scheduled_actions_problems(
            self.scheduled_actions, self.min_capacity, self.max_capacity
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


TRAFFIC_ROUTING = ("ALL_AT_ONCE", "CANARY", "LINEAR")
# UpdateEndpoint's auto-rollback takes 1 to 10 alarms.
MAX_ROLLBACK_ALARMS = 10


@dataclass(frozen=True, kw_only=True)
class BlueGreenDeployment:
    """Deployment guardrails: a new fleet takes traffic in steps, rolled back on an alarm.

    Between steps SageMaker watches the alarms; any alarm in ALARM rolls traffic back to the old
    fleet.
    """

    #: ``ALL_AT_ONCE``; ``CANARY`` shifts ``step_percent`` of the capacity first, then the
    #: rest; ``LINEAR`` shifts ``step_percent`` per step.
    traffic_routing: str = "ALL_AT_ONCE"
    #: The canary (1-50) or linear step (10-50), in percent of the capacity.
    step_percent: int = 10
    #: The baking period between steps, 0-3600 seconds.
    wait_interval_seconds: int = 300
    #: How long the old fleet stays after the shift, 0-3600 seconds.
    termination_wait_seconds: int = 0
    #: Bounds the whole deployment, 600-28800 seconds; None: SageMaker's.
    maximum_execution_timeout_seconds: int | None = None
    #: A rollback alarm on the endpoint's 5xx errors.
    alarm_on_5xx_errors: bool = True
    #: A rollback alarm on model latency above this; None: no latency alarm.
    max_model_latency_ms: float | None = None
    #: Rollback alarms made elsewhere (1 to 10 alarms in all).
    rollback_alarms: Sequence[cloudwatch.IAlarm] = field(default_factory=tuple)

    def problems(self) -> list[str]:
        """Every problem, as ``"deployment.<field>: ... (got ...)"``."""
        problems: list[str] = []
        if self.traffic_routing not in TRAFFIC_ROUTING:
            problems.append(
                f"deployment.traffic_routing: must be one of {', '.join(TRAFFIC_ROUTING)} "
                f"(got {self.traffic_routing!r})"
            )
        # CanarySize at most 50 % of the fleet; LinearStepSize 10-50 % (SageMaker API).
        low = 10 if self.traffic_routing == "LINEAR" else 1
        check_int(problems, "deployment.step_percent", self.step_percent, minimum=low, maximum=50)
        check_int(
            problems,
            "deployment.wait_interval_seconds",
            self.wait_interval_seconds,
            minimum=0,
            maximum=3600,
        )
        check_int(
            problems,
            "deployment.termination_wait_seconds",
            self.termination_wait_seconds,
            minimum=0,
            maximum=3600,
        )
        if self.maximum_execution_timeout_seconds is not None:
            check_int(
                problems,
                "deployment.maximum_execution_timeout_seconds",
                self.maximum_execution_timeout_seconds,
                minimum=600,
                maximum=28800,
            )
        if self.max_model_latency_ms is not None and (
            isinstance(self.max_model_latency_ms, bool)
            or not isinstance(self.max_model_latency_ms, int | float)
            or not self.max_model_latency_ms > 0
        ):
            problems.append(
                "deployment.max_model_latency_ms: must be a number above 0 "
                f"(got {self.max_model_latency_ms!r})"
            )
        alarms = (
            len(self.rollback_alarms)
            + int(self.alarm_on_5xx_errors is True)
            + int(self.max_model_latency_ms is not None)
        )
        if not 1 <= alarms <= MAX_ROLLBACK_ALARMS:
            problems.append(
                f"deployment: auto-rollback needs 1 to {MAX_ROLLBACK_ALARMS} alarms (got {alarms})"
            )
        return problems


def normalized_cpu_target(per_core_percent: float, vcpus: int) -> float:
    """The ``CPUUtilization`` target for a per-core goal: ``per_core_percent x vcpus``."""
    if not (0 < per_core_percent <= 100) or vcpus < 1 or math.isnan(per_core_percent):
        raise ValueError(
            "per_core_percent must be in (0, 100] and vcpus at least 1 "
            f"(got {per_core_percent!r}, {vcpus!r})"
        )
    return per_core_percent * vcpus
