"""Monitoring settings (``monitoring`` in ``cdk.json``): pure Python, no CDK import.

``monitoring`` builds the dashboard and alarms from these; the configuration loader, the capacity
planner and the scaling simulator read them without starting the CDK's Node process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._validation import check_int, is_token
from .emails import email_problems

# A cold start (instance, container, model download) takes 7 to 9 minutes: a wake-up alarm that
# needs less breaching time than this would fire on every scale-from-zero.
COLD_START_SECONDS = 600
# InvokeEndpointAsync's default RequestTTLSeconds: a request older than this has expired.
DEFAULT_REQUEST_TTL_SECONDS = 21_600
# PutMetricAlarm: period x evaluation periods may span one day for periods under an hour,
# seven days otherwise.
MAX_WINDOW_SHORT_PERIODS = 86_400
MAX_WINDOW_LONG_PERIODS = 604_800

# The alarms, by the prefix of their settings fields.
ALARMS = (
    "invocation_failures",
    "stuck_queue",
    "wake_up_failure",
    "notification_failures",
    "s3_failures",
)


@dataclass(frozen=True, kw_only=True)
class MonitoringSettings:
    """Alarm recipients, thresholds and evaluation windows (``monitoring`` in ``cdk.json``).

    Every alarm ``<alarm>`` has ``<alarm>_period_seconds`` (a multiple of 60: SageMaker publishes
    one-minute metrics), ``<alarm>_evaluation_periods`` (N) and ``<alarm>_datapoints_to_alarm``
    (M): it fires when M of the last N periods breach. Defaults and their reasons are in
    docs/observability.md.
    """

    # Subscribed to the operations topic; each address must confirm the subscription.
    alarm_emails: tuple[str, ...] = ()

    # InvocationFailures (Sum) >= threshold: the model failed requests.
    invocation_failures_threshold: int = 1
    invocation_failures_period_seconds: int = 300
    invocation_failures_evaluation_periods: int = 1
    invocation_failures_datapoints_to_alarm: int = 1

    # ApproximateAgeOfOldestRequest (Maximum) > stuck_queue_age_seconds: the queue is not
    # draining. 30 minutes covers a cold start (~10 min) plus one default-length invocation
    # (15 min) and leaves 5.5 hours before requests reach the default 6-hour TTL.
    stuck_queue_age_seconds: int = 1800
    stuck_queue_period_seconds: int = 60
    stuck_queue_evaluation_periods: int = 5
    stuck_queue_datapoints_to_alarm: int = 5

    # HasBacklogWithoutCapacity (Average) >= 1 for 15 minutes: scale-from-zero did not happen or
    # the new instance never came into service (a normal cold start takes 7 to 9 minutes).
    wake_up_failure_period_seconds: int = 60
    wake_up_failure_evaluation_periods: int = 15
    wake_up_failure_datapoints_to_alarm: int = 15

    # NotificationFailures (Sum) >= threshold: SageMaker could not publish to the result topics.
    notification_failures_threshold: int = 1
    notification_failures_period_seconds: int = 300
    notification_failures_evaluation_periods: int = 1
    notification_failures_datapoints_to_alarm: int = 1

    # RequestDownloadFailures + ResponseUploadFailures (Sum) >= threshold: SageMaker could not
    # read an input from S3 or write a result to it.
    s3_failures_threshold: int = 1
    s3_failures_period_seconds: int = 300
    s3_failures_evaluation_periods: int = 1
    s3_failures_datapoints_to_alarm: int = 1

    def problems(self) -> list[str]:
        """Every problem of these settings, each naming the field and the bad value."""
        # Bad addresses and duplicates, all of them at once.
        problems = email_problems("alarm_emails", self.alarm_emails)

        for name in ("invocation_failures", "notification_failures", "s3_failures"):
            check_int(problems, f"{name}_threshold", getattr(self, f"{name}_threshold"), minimum=1)
        age = self.stuck_queue_age_seconds
        check_int(problems, "stuck_queue_age_seconds", age, minimum=60)
        if _is_int(age) and age >= DEFAULT_REQUEST_TTL_SECONDS:
            problems.append(
                "stuck_queue_age_seconds: must be less than the default request TTL of "
                f"{DEFAULT_REQUEST_TTL_SECONDS} s, when queued requests expire (got {age!r})"
            )

        for name in ALARMS:
            problems += self._window_problems(name)

        period = self.wake_up_failure_period_seconds
        datapoints = self.wake_up_failure_datapoints_to_alarm
        if _is_int(period) and _is_int(datapoints) and 0 < period * datapoints < COLD_START_SECONDS:
            problems.append(
                f"wake_up_failure_datapoints_to_alarm: {datapoints} periods of {period} s is "
                f"shorter than a cold start ({COLD_START_SECONDS} s), so the alarm would fire on "
                f"every scale-from-zero (got {datapoints!r})"
            )
        return problems

    def _window_problems(self, name: str) -> list[str]:
        problems: list[str] = []
        period_field = f"{name}_period_seconds"
        periods_field = f"{name}_evaluation_periods"
        datapoints_field = f"{name}_datapoints_to_alarm"
        period = getattr(self, period_field)
        periods = getattr(self, periods_field)
        datapoints = getattr(self, datapoints_field)

        check_int(problems, period_field, period, minimum=60)
        if _is_int(period) and period >= 60 and period % 60:
            problems.append(
                f"{period_field}: must be a multiple of 60, SageMaker publishes one-minute "
                f"metrics (got {period!r})"
            )
        check_int(problems, periods_field, periods, minimum=1)
        check_int(problems, datapoints_field, datapoints, minimum=1)
        if _is_int(periods) and _is_int(datapoints) and datapoints > periods >= 1:
            problems.append(
                f"{datapoints_field}: must be at most {periods_field} ({periods}) "
                f"(got {datapoints!r})"
            )
        if _is_int(period) and _is_int(periods) and period >= 60 and periods >= 1:
            limit = MAX_WINDOW_SHORT_PERIODS if period < 3600 else MAX_WINDOW_LONG_PERIODS
            if period * periods > limit:
                problems.append(
                    f"{periods_field}: {periods} periods of {period} s span {period * periods} s, "
                    f"more than the {limit} s CloudWatch allows (got {periods!r})"
                )
        return problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not is_token(value)
