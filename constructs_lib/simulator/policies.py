"""The scaling policies our constructs deploy, as Application Auto Scaling runs them.

- Target tracking on ``ApproximateBacklogSizePerInstance``: Application Auto Scaling's own alarms
  scale out after 3 one-minute datapoints above the target and scale in after 15 below 90 % of
  it; the new capacity is ``ceil(current x metric / target)``.
- Step policies (wake-up on ``HasBacklogWithoutCapacity``, the optional spike policy): invoked at
  every evaluation while their alarm is in ALARM; ``ChangeInCapacity`` steps relative to the
  alarm threshold.
- Cooldowns: after a scale-out a policy does not add capacity again until its cooldown ends
  unless it asks for more than the scale-out that started the cooldown (the capacity that
  scale-out added counts as already there). Only target tracking scales in, and not twice within
  its scale-in cooldown; a scale-out is never held back by it.

Sources: the Application Auto Scaling user guide ("How step scaling for Application Auto Scaling
works": adjustments continue for additional breaches until the alarm returns to OK, computed on
the most recent datapoint) and the API reference of ``StepScalingPolicyConfiguration.Cooldown``
(the +2-then-+3-adds-1 example).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..scaling_settings import ScalingSettings
from .cloudwatch import ALARM, Alarm, MetricSeries

# Application Auto Scaling's managed alarms for target tracking (as users report them; the
# guide says only that scale-in waits for the metric to stay well below the target).
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

    @classmethod
    def on(cls, metric: MetricSeries, settings: ScalingSettings) -> TargetTracking:
        """The policy ``AsyncEndpointScaling`` deploys for ``settings``."""
        target = float(settings.target_backlog_per_instance)
        return cls(
            target=target,
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
        # From zero the product is 0; the endpoint still wakes once the backlog (which is what
        # the per-instance metric reports with no instance) exceeds the target, as the Hugging
        # Face async notebook observed: treat the current capacity as 1.
        return _ceil(max(base, 1) * self.high.last_value / self.target)

    def scale_in(self, now: float, desired: int) -> int | None:
        """Capacity asked for while the low alarm is in ALARM and not cooling down, else None."""
        if self.low.state != ALARM or self.low.last_value is None or desired == 0:
            return None
        if self.last_in is not None and now - self.last_in < self.scale_in_cooldown:
            return None
        proposed = _ceil(desired * self.low.last_value / self.target)
        return proposed if proposed < desired else None

    def scaled_out(self, now: float, before: int) -> None:
        """Record a scale-out this policy caused (starts its cooldown unless one runs)."""
        if self.last_out is None or now - self.last_out >= self.scale_out_cooldown:
            self.last_out, self.base_out = now, before

    def scaled_in(self, now: float) -> None:
        """Record a scale-in this policy caused."""
        self.last_in = now


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

    def scaled_out(self, now: float, before: int) -> None:
        """Record a scale-out this policy caused (starts its cooldown unless one runs)."""
        if self.last is None or now - self.last >= self.cooldown:
            self.last, self.base = now, before


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
