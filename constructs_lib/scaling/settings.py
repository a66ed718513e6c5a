"""Scaling settings of an endpoint: capacity bounds, policies and scheduled actions.

Pure Python (no CDK import): the app's configuration loader, ``AsyncEndpointScaling``
(``construct.py``), the real-time settings, the capacity planner and the scaling simulator all
read the same ``ScalingSettings``, so what is planned and simulated is what is deployed. The
schedule expressions are checked by ``schedules.py``.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Any

from constructs_lib._validation import check_int, check_number, is_token
from constructs_lib.scaling.schedules import schedule_expression_problem

# SageMaker publishes the async backlog metrics once a minute: shorter periods see no data.
METRIC_RESOLUTION_SECONDS = 60
# CloudWatch: period x evaluation periods may not exceed one day.
MAX_ALARM_WINDOW_SECONDS = 86_400
# Application Auto Scaling types capacities and cooldowns as Integer (32 bits): nothing larger
# can be sent at all (SageMaker's instance quotas are far lower and adjustable).
MAX_API_INTEGER = 2**31 - 1
# TargetTrackingScalingPolicyConfiguration.TargetValue: "in the range of -2^360 to 2^360".
MAX_TARGET_VALUE = 2.0**360
MAX_TARGET_VALUE_TEXT = "2^360 (about 2.35e108)"


@dataclass(frozen=True, kw_only=True)
class ScheduledCapacity:
    """A scheduled change of the scalable target's min and/or max capacity (give one or both).

    Example: ``ScheduledCapacity(name="business-hours", schedule="cron(0 8 ? * MON-FRI *)",
    min_capacity=1, timezone="Europe/Berlin")`` and a matching ``night`` action with
    ``min_capacity=0``.
    """

    #: Unique among the target's actions.
    name: str
    #: An Application Auto Scaling expression: ``cron(min hour day-of-month month day-of-week
    #: year)`` (six fields, one of the day fields ``?``), ``rate(N unit)`` or
    #: ``at(yyyy-mm-ddThh:mm:ss)``.
    schedule: str
    #: The new min capacity; None: unchanged.
    min_capacity: int | None = None
    #: The new max capacity; None: unchanged.
    max_capacity: int | None = None
    #: An IANA time zone name for cron and at expressions; None: UTC.
    timezone: str | None = None


@dataclass(frozen=True, kw_only=True)
class ScalingSettings:
    """How the endpoint scales. Field names are the keys of ``scaling`` in ``cdk.json``.

    The defaults are the Hugging Face async example's (0 to 5 instances, 5 queued requests per
    instance, 120 s cooldowns), plus a wake-up alarm reacting to one minute of data.
    """

    #: The fewest instances; 0 scales to zero when the queue is empty.
    min_capacity: int = 0
    #: The most instances.
    max_capacity: int = 5
    #: Target tracking on ``ApproximateBacklogSizePerInstance``: queued requests per instance.
    target_backlog_per_instance: float = 5.0
    #: Seconds between scale-in activities.
    scale_in_cooldown_seconds: int = 120
    #: Seconds between scale-out activities (the spike policy's too).
    scale_out_cooldown_seconds: int = 120
    #: The wake-up alarm's period (a multiple of 60): waking from zero.
    wake_up_period_seconds: int = 60
    #: Periods that must report a backlog before the first instance starts.
    wake_up_evaluation_periods: int = 1
    #: Longer than a cold start, so a still-starting first instance does not earn a second one
    #: while the alarm stays in ALARM. SageMaker blocks auto scaling while the endpoint updates
    #: (docs/scaling.md, assumptions), which should already prevent it; the cooldown also
    #: covers a decision made meanwhile and applied once the update completes.
    wake_up_cooldown_seconds: int = 600
    #: A step policy for spikes: add ``spike_step_instances`` when the backlog per instance
    #: reaches ``target_backlog_per_instance`` x ``spike_threshold_multiple``,
    #: ``spike_large_step_instances`` at twice that.
    spike_enabled: bool = False
    #: Where the spike policy starts, as a multiple of the target backlog (above 1).
    spike_threshold_multiple: float = 3.0
    #: Instances the spike policy adds at its threshold.
    spike_step_instances: int = 2
    #: Instances it adds at twice its threshold.
    spike_large_step_instances: int = 4
    #: The spike alarm's period, a multiple of 60.
    spike_period_seconds: int = 60
    #: Periods the spike alarm must breach.
    spike_evaluation_periods: int = 1
    #: Scheduled changes of the bounds (business hours, nights).
    scheduled_actions: tuple[ScheduledCapacity, ...] = ()

    @property
    def spike_threshold(self) -> float:
        """Backlog per instance at which the spike policy starts adding instances."""
        return self.target_backlog_per_instance * self.spike_threshold_multiple

    def problems(self) -> list[str]:
        """Every problem with these settings, as ``"<field>: <what is wrong> (got <value>)"``."""
        problems: list[str] = []
        check_int(problems, "min_capacity", self.min_capacity, minimum=0, maximum=MAX_API_INTEGER)
        check_int(problems, "max_capacity", self.max_capacity, minimum=1, maximum=MAX_API_INTEGER)
        if _both_ints(self.min_capacity, self.max_capacity) and (
            self.min_capacity > self.max_capacity
        ):
            problems.append(
                f"min_capacity: must not exceed max_capacity {self.max_capacity!r} "
                f"(got {self.min_capacity!r})"
            )
        _check_positive(
            problems, "target_backlog_per_instance", self.target_backlog_per_instance, 0
        )
        if _finite(self.target_backlog_per_instance) and (
            self.target_backlog_per_instance > MAX_TARGET_VALUE
        ):
            problems.append(
                f"target_backlog_per_instance: must be at most {MAX_TARGET_VALUE_TEXT}, the "
                f"largest target value Application Auto Scaling accepts "
                f"(got {self.target_backlog_per_instance!r})"
            )
        for field in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"):
            check_int(problems, field, getattr(self, field), minimum=0, maximum=MAX_API_INTEGER)
        problems += _alarm_problems(
            "wake_up", self.wake_up_period_seconds, self.wake_up_evaluation_periods
        )
        check_int(
            problems,
            "wake_up_cooldown_seconds",
            self.wake_up_cooldown_seconds,
            minimum=0,
            maximum=MAX_API_INTEGER,
        )
        problems += self._spike_problems()
        problems += self._schedule_problems()
        return problems

    def _spike_problems(self) -> list[str]:
        problems: list[str] = []
        if not isinstance(self.spike_enabled, bool):
            problems.append(f"spike_enabled: must be true or false (got {self.spike_enabled!r})")
        # Checked even while disabled: a bad value should not wait to surface until enabled.
        _check_positive(problems, "spike_threshold_multiple", self.spike_threshold_multiple, 1)
        target, multiple = self.target_backlog_per_instance, self.spike_threshold_multiple
        # The large step fires at twice the spike threshold: that must still be a number a
        # template can carry (1e308 x 3 is Infinity) and a value AWS accepts.
        if _finite(target) and _finite(multiple) and target <= MAX_TARGET_VALUE:
            large_threshold = 2 * target * multiple
            if large_threshold > MAX_TARGET_VALUE:  # Infinity included
                problems.append(
                    "spike_threshold_multiple: target_backlog_per_instance x "
                    f"spike_threshold_multiple x 2 must be at most {MAX_TARGET_VALUE_TEXT} "
                    f"(got {multiple!r} with target {target!r})"
                )
        check_int(problems, "spike_step_instances", self.spike_step_instances, minimum=1)
        check_int(
            problems, "spike_large_step_instances", self.spike_large_step_instances, minimum=1
        )
        if _both_ints(self.spike_step_instances, self.spike_large_step_instances) and (
            self.spike_large_step_instances < self.spike_step_instances
        ):
            problems.append(
                "spike_large_step_instances: must be at least spike_step_instances "
                f"{self.spike_step_instances!r} (got {self.spike_large_step_instances!r})"
            )
        problems += _alarm_problems(
            "spike", self.spike_period_seconds, self.spike_evaluation_periods
        )
        return problems

    def _schedule_problems(self) -> list[str]:
        return scheduled_actions_problems(
            self.scheduled_actions, self.min_capacity, self.max_capacity
        )


def scheduled_actions_problems(actions: Any, floor: Any, ceiling: Any) -> list[str]:
    """Every problem of a scalable target's ``scheduled_actions`` between its ``floor`` and
    ``ceiling`` capacities (any endpoint family's), names unique among them."""
    if not isinstance(actions, tuple | list):
        return [f"scheduled_actions: must be a list of scheduled actions (got {actions!r})"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, action in enumerate(actions):
        field = f"scheduled_actions[{index}]"
        if not isinstance(action, ScheduledCapacity):
            problems.append(f"{field}: must be a ScheduledCapacity (got {action!r})")
            continue
        problems += scheduled_action_problems(field, action, floor, ceiling)
        if isinstance(action.name, str):
            if action.name in seen:
                problems.append(
                    f"{field}.name: must be unique among scheduled actions (got {action.name!r})"
                )
            seen.add(action.name)
    return problems


# --- validation helpers -------------------------------------------------------------------------


def _both_ints(*values: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and not is_token(v) for v in values)


def _finite(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and not is_token(value)
    )


def _check_positive(problems: list[str], name: str, value: Any, above: float) -> None:
    # NaN (which json.loads accepts) passes every comparison and breaks jsii's JSON: reject
    # non-finite floats before check_number sees them.
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{name}: must be a finite number (got {value!r})")
    else:
        check_number(problems, name, value, exclusive_minimum=above)


def _alarm_problems(prefix: str, period: Any, evaluation_periods: Any) -> list[str]:
    problems: list[str] = []
    period_name = f"{prefix}_period_seconds"
    periods_name = f"{prefix}_evaluation_periods"
    check_int(problems, period_name, period, minimum=METRIC_RESOLUTION_SECONDS)
    if not problems and not is_token(period) and period % METRIC_RESOLUTION_SECONDS:
        problems.append(
            f"{period_name}: must be a multiple of {METRIC_RESOLUTION_SECONDS} (SageMaker "
            f"publishes these metrics once a minute) (got {period!r})"
        )
    check_int(problems, periods_name, evaluation_periods, minimum=1)
    if (
        not problems
        and _both_ints(period, evaluation_periods)
        and (period * evaluation_periods > MAX_ALARM_WINDOW_SECONDS)
    ):
        problems.append(
            f"{periods_name}: {period_name} x {periods_name} must be at most one day "
            f"({MAX_ALARM_WINDOW_SECONDS} s) (got {evaluation_periods!r})"
        )
    return problems


# Application Auto Scaling's ScheduledActionName: 1-256 ASCII characters without control
# characters, ':', '/' or '|', not starting with a space.
ACTION_NAME = re.compile(r"^(?! )[\x20-\x7e]{1,256}$")
ACTION_NAME_FORBIDDEN = frozenset(":/|")


def scheduled_action_problems(
    field: str, action: ScheduledCapacity, floor: Any, ceiling: Any
) -> list[str]:
    problems: list[str] = []
    name = action.name
    if (
        not isinstance(name, str)
        or not ACTION_NAME.match(name)
        or (ACTION_NAME_FORBIDDEN & set(name))
    ):
        problems.append(
            f"{field}.name: must be 1-256 printable ASCII characters without ':', '/' or '|', "
            f"not starting with a space (got {name!r})"
        )
    schedule_problem = schedule_expression_problem(action.schedule)
    if schedule_problem:
        problems.append(f"{field}.schedule: {schedule_problem} (got {action.schedule!r})")

    if action.min_capacity is None and action.max_capacity is None:
        problems.append(f"{field}: give min_capacity, max_capacity or both (got neither)")
    bounds_known = _both_ints(floor, ceiling) and floor <= ceiling
    for key in ("min_capacity", "max_capacity"):
        value = getattr(action, key)
        if value is None:
            continue
        before = len(problems)
        check_int(problems, f"{field}.{key}", value, minimum=0)
        if len(problems) == before and bounds_known and not floor <= value <= ceiling:
            problems.append(
                f"{field}.{key}: must be within min_capacity {floor!r} and max_capacity "
                f"{ceiling!r} (got {value!r})"
            )
    low, high = action.min_capacity, action.max_capacity
    if _both_ints(low, high) and low is not None and high is not None and low > high:
        problems.append(
            f"{field}.min_capacity: must not exceed the action's max_capacity {high!r} "
            f"(got {low!r})"
        )

    timezone = action.timezone
    if timezone is not None:
        if not isinstance(timezone, str) or not _is_known_timezone(timezone):
            problems.append(
                f"{field}.timezone: must be an IANA time zone name such as 'Europe/Berlin' "
                f"(got {timezone!r})"
            )
        elif isinstance(action.schedule, str) and action.schedule.startswith("rate("):
            problems.append(
                f"{field}.timezone: only applies to cron and at schedules (got {timezone!r})"
            )
    return problems


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _is_known_timezone(name: str) -> bool:
    known = _known_timezones()
    # Without a time zone database on this machine there is nothing to check against.
    return not known or name in known or name == "UTC"
