"""Monitoring settings (``monitoring`` in ``cdk.json``): pure Python, no CDK import.

``monitoring`` builds the dashboard and alarms from these; the configuration loader, the capacity
planner and the scaling simulator read them without starting the CDK's Node process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib._validation import check_int, is_token
from constructs_lib.endpoint.emails import email_problems

# A cold start (instance, container, model download) takes 7 to 9 minutes: a wake-up alarm that
# needs less breaching time than this would fire on every scale-from-zero.
COLD_START_SECONDS = 600
# InvokeEndpointAsync's default RequestTTLSeconds: a request older than this has expired.
DEFAULT_REQUEST_TTL_SECONDS = 21_600
# PutMetricAlarm: period x evaluation periods may span one day for periods under an hour,
# seven days otherwise.
MAX_WINDOW_SHORT_PERIODS = 86_400
MAX_WINDOW_LONG_PERIODS = 604_800

# The alarms, by their field in MonitoringSettings.
ALARMS = (
    "invocation_failures",
    "stuck_queue",
    "wake_up_failure",
    "notification_failures",
    "s3_failures",
)


@dataclass(frozen=True, kw_only=True)
class AlarmThreshold:
    """When one alarm fires: ``threshold`` breached in ``datapoints_to_alarm`` (M) of the last
    ``evaluation_periods`` (N) periods of ``period_seconds``.

    Every field is required: each alarm has its own defaults (``MonitoringSettings``), so start
    from them, e.g. ``dataclasses.replace(MonitoringSettings().stuck_queue, threshold=900)``.
    """

    #: The value the alarm compares its metric with (its unit is the metric's).
    threshold: int
    #: The period of each datapoint, a multiple of 60 (SageMaker publishes one-minute metrics).
    period_seconds: int
    #: N: how many of the last periods are evaluated.
    evaluation_periods: int
    #: M: how many of them must breach, at most N.
    datapoints_to_alarm: int

    def problems(self, name: str, *, minimum_threshold: int = 1) -> list[str]:
        """Every problem of this window, each prefixed with ``name`` (the alarm's field)."""
        problems: list[str] = []
        check_int(problems, f"{name}.threshold", self.threshold, minimum=minimum_threshold)
        period, periods, datapoints = (
            self.period_seconds,
            self.evaluation_periods,
            self.datapoints_to_alarm,
        )
        check_int(problems, f"{name}.period_seconds", period, minimum=60)
        if _is_int(period) and period >= 60 and period % 60:
            problems.append(
                f"{name}.period_seconds: must be a multiple of 60, SageMaker publishes one-minute "
                f"metrics (got {period!r})"
            )
        check_int(problems, f"{name}.evaluation_periods", periods, minimum=1)
        check_int(problems, f"{name}.datapoints_to_alarm", datapoints, minimum=1)
        if _is_int(periods) and _is_int(datapoints) and datapoints > periods >= 1:
            problems.append(
                f"{name}.datapoints_to_alarm: must be at most {name}.evaluation_periods "
                f"({periods}) (got {datapoints!r})"
            )
        if _is_int(period) and _is_int(periods) and period >= 60 and periods >= 1:
            limit = MAX_WINDOW_SHORT_PERIODS if period < 3600 else MAX_WINDOW_LONG_PERIODS
            if period * periods > limit:
                problems.append(
                    f"{name}.evaluation_periods: {periods} periods of {period} s span "
                    f"{period * periods} s, more than the {limit} s CloudWatch allows "
                    f"(got {periods!r})"
                )
        return problems


@dataclass(frozen=True, kw_only=True)
class MonitoringSettings:
    """Alarm recipients and one ``AlarmThreshold`` per alarm (``monitoring`` in ``cdk.json``).

    ``None`` for an alarm turns it off (no alarm, no line on the dashboard). In ``cdk.json`` an
    alarm's object merges key by key into its defaults, and ``null`` turns it off. Defaults and
    their reasons are in docs/observability.md.
    """

    #: Subscribed to the operations topic; each address must confirm the subscription.
    #: Default: none.
    alarm_emails: tuple[str, ...] = ()

    #: InvocationFailures (Sum) >= threshold: the model failed requests.
    #: Default: 1 in 1 of 1 five-minute periods.
    invocation_failures: AlarmThreshold | None = AlarmThreshold(
        threshold=1, period_seconds=300, evaluation_periods=1, datapoints_to_alarm=1
    )

    #: ApproximateAgeOfOldestRequest (Maximum) > threshold seconds: the queue is not draining.
    #: Default: 1800 s in 5 of 5 one-minute periods. 30 minutes covers a cold start (~10 min)
    #: plus one default-length invocation (15 min) and leaves 5.5 hours before requests reach
    #: the default 6-hour TTL.
    stuck_queue: AlarmThreshold | None = AlarmThreshold(
        threshold=1800, period_seconds=60, evaluation_periods=5, datapoints_to_alarm=5
    )

    #: HasBacklogWithoutCapacity (Average) >= 1: scale-from-zero did not happen or the new
    #: instance never came into service (a normal cold start takes 7 to 9 minutes). The metric is
    #: 0 or 1, so the threshold must be 1. Default: 15 of 15 one-minute periods.
    wake_up_failure: AlarmThreshold | None = AlarmThreshold(
        threshold=1, period_seconds=60, evaluation_periods=15, datapoints_to_alarm=15
    )

    #: NotificationFailures (Sum) >= threshold: SageMaker could not publish to the result topics.
    #: Default: 1 in 1 of 1 five-minute periods.
    notification_failures: AlarmThreshold | None = AlarmThreshold(
        threshold=1, period_seconds=300, evaluation_periods=1, datapoints_to_alarm=1
    )

    #: RequestDownloadFailures + ResponseUploadFailures (Sum) >= threshold: SageMaker could not
    #: read an input from S3 or write a result to it. Default: 1 in 1 of 1 five-minute periods.
    s3_failures: AlarmThreshold | None = AlarmThreshold(
        threshold=1, period_seconds=300, evaluation_periods=1, datapoints_to_alarm=1
    )

    @staticmethod
    def unknown_key_hint(key: str) -> str | None:
        """Where an old flat key (``stuck_queue_age_seconds``) went, for the loader's error."""
        if key == "stuck_queue_age_seconds":
            return f"{_NOW_NESTED}: use stuck_queue.threshold"
        for alarm in ALARMS:
            for part in (
                "threshold",
                "period_seconds",
                "evaluation_periods",
                "datapoints_to_alarm",
            ):
                if key == f"{alarm}_{part}":
                    return f"{_NOW_NESTED}: use {alarm}.{part}"
        return None

    def problems(self) -> list[str]:
        """Every problem of these settings, each naming the field and the bad value."""
        # Bad addresses and duplicates, all of them at once.
        problems = email_problems("alarm_emails", self.alarm_emails)
        for name in ALARMS:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, AlarmThreshold):
                problems.append(f"{name}: must be an AlarmThreshold or None (got {value!r})")
                continue
            problems += value.problems(name, minimum_threshold=60 if name == "stuck_queue" else 1)

        stuck = self.stuck_queue
        if isinstance(stuck, AlarmThreshold):
            age = stuck.threshold
            if _is_int(age) and age >= DEFAULT_REQUEST_TTL_SECONDS:
                problems.append(
                    "stuck_queue.threshold: must be less than the default request TTL of "
                    f"{DEFAULT_REQUEST_TTL_SECONDS} s, when queued requests expire (got {age!r})"
                )

        wake = self.wake_up_failure
        if isinstance(wake, AlarmThreshold):
            if _is_int(wake.threshold) and wake.threshold != 1:
                problems.append(
                    "wake_up_failure.threshold: must be 1, HasBacklogWithoutCapacity is 0 or 1 "
                    f"(got {wake.threshold!r})"
                )
            period, datapoints = wake.period_seconds, wake.datapoints_to_alarm
            if (
                _is_int(period)
                and _is_int(datapoints)
                and 0 < period * datapoints < COLD_START_SECONDS
            ):
                problems.append(
                    f"wake_up_failure.datapoints_to_alarm: {datapoints} periods of {period} s is "
                    f"shorter than a cold start ({COLD_START_SECONDS} s), so the alarm would "
                    f"fire on every scale-from-zero (got {datapoints!r})"
                )
        return problems


_NOW_NESTED = "monitoring settings are now one object per alarm"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not is_token(value)
