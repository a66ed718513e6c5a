"""The scaling policies our constructs deploy, as Application Auto Scaling runs them.

- Target tracking on ``ApproximateBacklogSizePerInstance``: Application Auto Scaling's own alarms
  scale out after 3 one-minute datapoints above the target and scale in after 15 below 90 % of
  it (an OBSERVATION: users report these alarms on AWS re:Post; AWS documents only "usually more
  than 10% lower" for scale-in). The new capacity is ``ceil(current x metric / target)`` (an
  ASSUMPTION consistent with "scales out proportionally to the metric" and "rounding up or down"
  conservatively; AWS writes no formula). At a capacity of 0 the rule is undocumented: one of
  ``engine.FROM_ZERO_RULES``.
- Step policies (wake-up on ``HasBacklogWithoutCapacity``, the optional spike policy): invoked at
  every evaluation while their alarm is in ALARM ("For Auto Scaling actions, the alarm continues
  to invoke the action once per minute that the alarm remains in the new state": CloudWatch user
  guide); ``ChangeInCapacity`` steps relative to the alarm threshold.
- Several policies at once: "Application Auto Scaling scales based on the policy that provides
  the largest capacity for both scale in and scale out" (target tracking guide).
- Cooldowns count from the completion of the activity that started them (the engine passes that
  time). Within one, a policy does not add capacity again unless it asks for more than the
  scale-out that started the cooldown (the capacity that scale-out added counts as already
  there). Only target tracking scales in, and not twice within its scale-in cooldown; a
  scale-out is never held back by it, and stops it.

Sources: the Application Auto Scaling user guide ("Target tracking scaling policies", "Step
scaling policies": adjustments continue for additional breaches until the alarm returns to OK,
computed on the most recent datapoint) and the API reference of
``TargetTrackingScalingPolicyConfiguration`` and ``StepScalingPolicyConfiguration.Cooldown``
("after a scale out activity completes"; the +2-then-+3-adds-1 example).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from constructs_lib.scaling.settings import ScalingSettings
from summarizer.simulator.cloudwatch import ALARM, Alarm, MetricSeries

# Application Auto Scaling's managed alarms for target tracking: an OBSERVATION, as users report
# them ("> 1500 for 3 datapoints within 3 minutes", "< 1350 for 15 datapoints within 15 minutes"
# for a target of 1500: https://repost.aws/questions/QUf450Wsd9RROGGOIwaolN9w); the guide says
# only that scale-in waits until the metric is "usually more than 10% lower" than the target.
TARGET_TRACKING_OUT_DATAPOINTS = 3
TARGET_TRACKING_IN_DATAPOINTS = 15
TARGET_TRACKING_IN_FRACTION = 0.9


def _ceil(value: float) -> int:
    # Float noise (5 x 1.2 / 1.2) must not add an instance.
    return math.ceil(round(value, 9))


@dataclass
class TargetTracking:
    """The target tracking policy and its two managed alarms."""

    target: float
    scale_out_cooldown: float
    scale_in_cooldown: float
    high: Alarm
    low: Alarm
    last_out: float | None = None
    base_out: int = 0
    last_in: float | None = None
    # The undocumented step from a capacity of 0 (engine.FROM_ZERO_RULES).
    from_zero: str = "one"

    @classmethod
    def on(
        cls, metric: MetricSeries, settings: ScalingSettings, from_zero: str = "one"
    ) -> TargetTracking:
        """The policy ``AsyncEndpointScaling`` deploys for ``settings``."""
        target = float(settings.target_backlog_per_instance)
        return cls(
            target=target,
            from_zero=from_zero,
            scale_out_cooldown=settings.scale_out_cooldown_seconds,
            scale_in_cooldown=settings.scale_in_cooldown_seconds,
            high=Alarm(
                "TargetTracking-AlarmHigh",
                metric,
                threshold=target,
                comparison="GreaterThanThreshold",
                evaluation_periods=TARGET_TRACKING_OUT_DATAPOINTS,
            ),
            low=Alarm(
                "TargetTracking-AlarmLow",
                metric,
                threshold=target * TARGET_TRACKING_IN_FRACTION,
                comparison="LessThanThreshold",
                evaluation_periods=TARGET_TRACKING_IN_DATAPOINTS,
            ),
        )

    def scale_out(self, now: float, desired: int) -> int | None:
        """Capacity asked for while the high alarm is in ALARM, else None."""
        if self.high.state != ALARM or self.high.last_value is None:
            return None
        cooling = self.last_out is not None and now - self.last_out < self.scale_out_cooldown
        base = self.base_out if cooling else desired
        if base == 0:
            # From zero the product is 0; the endpoint still wakes once the backlog (which is
            # what the per-instance metric reports with no instance) exceeds the target.
            if self.from_zero == "one":
                return 1
            return _ceil(self.high.last_value / self.target)
        return _ceil(base * self.high.last_value / self.target)

    def scale_in(self, now: float, desired: int) -> int | None:
        """Capacity asked for while the low alarm is in ALARM and not cooling down, else None."""
        if self.low.state != ALARM or self.low.last_value is None or desired == 0:
            return None
        if self.last_in is not None and now - self.last_in < self.scale_in_cooldown:
            return None
        proposed = _ceil(desired * self.low.last_value / self.target)
        return proposed if proposed < desired else None

    def scaled_out(self, completed: float, before: int) -> None:
        """Record a scale-out this policy caused, completed at ``completed`` (starts its cooldown
        unless one runs)."""
        if self.last_out is None or completed - self.last_out >= self.scale_out_cooldown:
            self.last_out, self.base_out = completed, before

    def scaled_in(self, completed: float) -> None:
        """Record a scale-in this policy caused, completed at ``completed``."""
        self.last_in = completed


@dataclass
class StepPolicy:
    """A step scaling policy (``ChangeInCapacity``) invoked by its alarm while in ALARM.

    ``steps`` are ``(lower, upper, change)`` with bounds relative to the alarm threshold, the
    way ``StepScalingAction.add_adjustment`` writes them (``upper`` None: no upper bound).
    """

    name: str
    alarm: Alarm
    steps: tuple[tuple[float, float | None, int], ...]
    cooldown: float
    last: float | None = None
    base: int = 0

    def scale_out(self, now: float, desired: int) -> int | None:
        """Capacity asked for while the alarm is in ALARM, else None."""
        value = self.alarm.last_value
        if self.alarm.state != ALARM or value is None:
            return None
        offset = value - self.alarm.threshold
        change = next(
            (c for low, high, c in self.steps if low <= offset and (high is None or offset < high)),
            None,
        )
        if change is None:
            return None
        cooling = self.last is not None and now - self.last < self.cooldown
        return (self.base if cooling else desired) + change

    def scaled_out(self, completed: float, before: int) -> None:
        """Record a scale-out this policy caused, completed at ``completed`` (starts its cooldown
        unless one runs)."""
        if self.last is None or completed - self.last >= self.cooldown:
            self.last, self.base = completed, before


def wake_up_policy(metric: MetricSeries, settings: ScalingSettings) -> StepPolicy:
    """+1 instance while ``HasBacklogWithoutCapacity`` averages 1 (``AsyncEndpointScaling``)."""
    alarm = Alarm(
        "WakeUpAlarm",
        metric,
        threshold=1,
        comparison="GreaterThanOrEqualToThreshold",
        period_minutes=settings.wake_up_period_seconds // 60,
        evaluation_periods=settings.wake_up_evaluation_periods,
        treat_missing_data="notBreaching",
    )
    return StepPolicy("wake-up", alarm, ((0.0, None, 1),), settings.wake_up_cooldown_seconds)


def spike_policy(metric: MetricSeries, settings: ScalingSettings) -> StepPolicy:
    """The optional spike policy: steps at the spike threshold and at twice it."""
    threshold = settings.spike_threshold
    alarm = Alarm(
        "SpikeAlarm",
        metric,
        threshold=threshold,
        comparison="GreaterThanOrEqualToThreshold",
        period_minutes=settings.spike_period_seconds // 60,
        evaluation_periods=settings.spike_evaluation_periods,
        treat_missing_data="notBreaching",
    )
    steps = (
        (0.0, threshold, settings.spike_step_instances),
        (threshold, None, settings.spike_large_step_instances),
    )
    return StepPolicy("spike", alarm, steps, settings.scale_out_cooldown_seconds)
