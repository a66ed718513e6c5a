"""Dashboard, alarms and an encrypted operations topic for an asynchronous inference endpoint.

Hand-written on ``aws_cloudwatch`` rather than on a monitoring library: cdk-monitoring-constructs
(10.3.3) has no SageMaker module at all, so every metric would still have to be spelled out here,
and docs/observability.md has the measured cost of carrying it anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from constructs import Construct

from ._validation import check_int, is_token, raise_if_problems
from .endpoint import AsyncEndpoint
from .notifications import EncryptedTopic, email_problems

# A cold start (instance, container, model download) takes 7 to 9 minutes: a wake-up alarm that
# needs less breaching time than this would fire on every scale-from-zero.
COLD_START_SECONDS = 600
# InvokeEndpointAsync's default RequestTTLSeconds: a request older than this has expired.
DEFAULT_REQUEST_TTL_SECONDS = 21_600
# PutMetricAlarm: period x evaluation periods may span one day for periods under an hour,
# seven days otherwise.
MAX_WINDOW_SHORT_PERIODS = 86_400
MAX_WINDOW_LONG_PERIODS = 604_800

DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")

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
        problems = email_problems("alarm_emails", self.alarm_emails)
        if not problems:
            seen: set[str] = set()
            for email in self.alarm_emails:
                if email in seen:
                    problems.append(f"alarm_emails: {email!r} is listed more than once")
                seen.add(email)

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


def log_group_console_url(endpoint_name: str) -> str:
    """Console URL of the log group ``/aws/sagemaker/Endpoints/<endpoint_name>``.

    Built for the commercial partition (``console.aws.amazon.com``); China and GovCloud consoles
    live on other domains. Endpoint names are letters, digits and hyphens, so the name needs no
    escaping; the slashes of the log group name are escaped the way the console does (``$252F``).
    """
    return (
        f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252F"
        f"{endpoint_name}"
    )


def endpoint_console_url(endpoint_name: str) -> str:
    """Console URL of the endpoint in SageMaker (commercial partition, like the log link)."""
    return (
        f"https://{Aws.REGION}.console.aws.amazon.com/sagemaker/home?region={Aws.REGION}"
        f"#/endpoints/{endpoint_name}"
    )


class AsyncEndpointMonitoring(Construct):
    """A CloudWatch dashboard and five alarms for an ``AsyncEndpoint``, paging an encrypted topic.

    Makes ``ops_topic`` (an ``EncryptedTopic`` with its own customer-managed key, TLS-only, the
    settings' ``alarm_emails`` subscribed, and the key open to ``cloudwatch.amazonaws.com`` so
    alarms can publish through it), ``dashboard`` (rows: alarms and links, queue, throughput and
    latency, errors, instances) and the alarms ``invocation_failures_alarm``,
    ``stuck_queue_alarm``, ``wake_up_failure_alarm``, ``notification_failures_alarm`` and
    ``s3_failures_alarm`` (also as ``alarms``). Each alarm notifies the topic when it fires and
    when it resolves. ``removal_policy`` applies to the topic's key; the dashboard gets a
    physical name only when ``dashboard_name`` is given. The runbook is docs/observability.md.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: AsyncEndpoint,
        settings: MonitoringSettings,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        dashboard_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = settings.problems()
        if (
            dashboard_name is not None
            and not is_token(dashboard_name)
            and not (isinstance(dashboard_name, str) and DASHBOARD_NAME.match(dashboard_name))
        ):
            problems.append(
                "dashboard_name: must be 1 to 255 letters, digits, '-' or '_' "
                f"(got {dashboard_name!r})"
            )
        raise_if_problems("AsyncEndpointMonitoring", problems)

        self.endpoint = endpoint
        self.settings = settings

        self.ops_topic = EncryptedTopic(
            self,
            "AlarmTopic",
            display_name="Summarization endpoint alarms",
            emails=settings.alarm_emails,
            removal_policy=removal_policy,
        )
        # Alarms publish as the CloudWatch service, which needs the topic's key.
        self.ops_topic.allow_service_publish("cloudwatch.amazonaws.com")

        self._create_alarms()
        self.alarms: tuple[cloudwatch.Alarm, ...] = (
            self.invocation_failures_alarm,
            self.stuck_queue_alarm,
            self.wake_up_failure_alarm,
            self.notification_failures_alarm,
            self.s3_failures_alarm,
        )
        action = cloudwatch_actions.SnsAction(self.ops_topic.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

        self.extra_alarms: tuple[cloudwatch.Alarm, ...] = ()
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.hours(6),
        )
        self._add_dashboard_rows()

    def add_section(
        self,
        title: str,
        text: str,
        widgets: Sequence[cloudwatch.IWidget],
        alarms: Sequence[cloudwatch.Alarm] = (),
    ) -> None:
        """Add a dashboard row for another part of the service, and page its alarms.

        The row is a header (``title``, ``text``), an alarm status widget when ``alarms`` are
        given, then ``widgets``. Each alarm notifies the operations topic when it fires and when
        it resolves, like the endpoint's own; ``extra_alarms`` lists them.
        """
        action = cloudwatch_actions.SnsAction(self.ops_topic.topic)
        for alarm in alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.extra_alarms += tuple(alarms)
        self._header(title, text)
        if alarms:
            self.dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(
                    title=f"{title}: alarm status", alarms=list(alarms), width=24, height=3
                )
            )
        self.dashboard.add_widgets(*widgets)

    # --- alarms -----------------------------------------------------------------------------

    def _window(self, name: str) -> dict[str, Any]:
        s = self.settings
        return {
            "evaluation_periods": getattr(s, f"{name}_evaluation_periods"),
            "datapoints_to_alarm": getattr(s, f"{name}_datapoints_to_alarm"),
        }

    def _period(self, name: str) -> Duration:
        return Duration.seconds(getattr(self.settings, f"{name}_period_seconds"))

    def _create_alarms(self) -> None:
        s = self.settings
        e = self.endpoint
        at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        # Counters are only published when there is traffic, and an endpoint at zero instances
        # publishes almost nothing: no data means nothing failed.
        quiet_is_fine = cloudwatch.TreatMissingData.NOT_BREACHING

        self.invocation_failures_alarm = cloudwatch.Alarm(
            self,
            "InvocationFailuresAlarm",
            alarm_description=(
                f"Async endpoint {e.endpoint_name}: at least {s.invocation_failures_threshold} "
                "invocation(s) failed. Error notifications and s3 failures/ hold the reasons; "
                "container logs are in /aws/sagemaker/Endpoints/<endpoint>. "
                "Runbook: docs/observability.md."
            ),
            metric=e.metric_invocation_failures(period=self._period("invocation_failures")),
            threshold=s.invocation_failures_threshold,
            comparison_operator=at_least,
            treat_missing_data=quiet_is_fine,
            **self._window("invocation_failures"),
        )

        self.stuck_queue_alarm = cloudwatch.Alarm(
            self,
            "StuckQueueAlarm",
            alarm_description=(
                f"Async endpoint {e.endpoint_name}: the oldest queued request is older than "
                f"{s.stuck_queue_age_seconds} s; the queue is not draining and requests expire "
                "at their TTL (6 h by default). Runbook: docs/observability.md."
            ),
            # No unit filter: an alarm whose unit differs from the published one never gets data.
            metric=e.metric_approximate_age_of_oldest_request(
                period=self._period("stuck_queue"), unit=None
            ),
            threshold=s.stuck_queue_age_seconds,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # An empty queue has no oldest request.
            treat_missing_data=quiet_is_fine,
            **self._window("stuck_queue"),
        )

        self.wake_up_failure_alarm = cloudwatch.Alarm(
            self,
            "WakeUpFailureAlarm",
            alarm_description=(
                f"Async endpoint {e.endpoint_name}: requests have waited with no instance for "
                f"{s.wake_up_failure_datapoints_to_alarm * s.wake_up_failure_period_seconds // 60}"
                " minutes; scale-from-zero failed or the new instance never came into service. "
                "Runbook: docs/observability.md."
            ),
            metric=e.metric_has_backlog_without_capacity(period=self._period("wake_up_failure")),
            threshold=1,
            comparison_operator=at_least,
            # A gap in this metric is no evidence that an instance came up: it neither fires
            # nor resolves the alarm (and a flaky metric cannot reset the 15-minute count).
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
            **self._window("wake_up_failure"),
        )

        self.notification_failures_alarm = cloudwatch.Alarm(
            self,
            "NotificationFailuresAlarm",
            alarm_description=(
                f"Async endpoint {e.endpoint_name}: SageMaker could not publish "
                f"{s.notification_failures_threshold} or more success/error notification(s); "
                "clients waiting on the topics miss results that are in S3. "
                "Runbook: docs/observability.md."
            ),
            metric=e.metric_notification_failures(period=self._period("notification_failures")),
            threshold=s.notification_failures_threshold,
            comparison_operator=at_least,
            treat_missing_data=quiet_is_fine,
            **self._window("notification_failures"),
        )

        # One alarm for both directions: the cause (S3 or KMS access of the execution role, a
        # missing or foreign-key-encrypted object) and the first steps are the same, and the
        # dashboard's errors row tells the two apart.
        s3_period = self._period("s3_failures")
        s3_failures = cloudwatch.MathExpression(
            expression="FILL(downloads, 0) + FILL(uploads, 0)",
            using_metrics={
                "downloads": e.metric_request_download_failures(period=s3_period),
                "uploads": e.metric_response_upload_failures(period=s3_period),
            },
            label="Request download + response upload failures",
            period=s3_period,
        )
        self.s3_failures_alarm = cloudwatch.Alarm(
            self,
            "S3FailuresAlarm",
            alarm_description=(
                f"Async endpoint {e.endpoint_name}: {s.s3_failures_threshold} or more requests "
                "could not be downloaded from or their results uploaded to S3. "
                "Runbook: docs/observability.md."
            ),
            metric=s3_failures,
            threshold=s.s3_failures_threshold,
            comparison_operator=at_least,
            treat_missing_data=quiet_is_fine,
            **self._window("s3_failures"),
        )

    # --- dashboard --------------------------------------------------------------------------

    def _header(self, title: str, text: str) -> None:
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"## {title}\n{text}",
                width=24,
                height=2,
                background=cloudwatch.TextWidgetBackground.TRANSPARENT,
            )
        )

    def _add_dashboard_rows(self) -> None:
        e = self.endpoint
        s = self.settings
        minute = Duration.minutes(1)

        def graph(
            title: str,
            metrics: list[cloudwatch.IMetric],
            axis: str,
            *,
            width: int = 6,
            annotations: list[cloudwatch.HorizontalAnnotation] | None = None,
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=metrics,
                left_y_axis=cloudwatch.YAxisProps(label=axis, min=0, show_units=False),
                left_annotations=annotations,
                width=width,
                height=6,
            )

        self._header(
            "Alarms",
            "Each alarm notifies the operations topic when it fires and when it resolves. "
            "Runbook: docs/observability.md in the repository.",
        )
        logs_url = log_group_console_url(e.endpoint_name)
        endpoint_url = endpoint_console_url(e.endpoint_name)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"### Endpoint `{e.endpoint_name}`\n"
                    f"* [Container logs: /aws/sagemaker/Endpoints/{e.endpoint_name}]({logs_url})\n"
                    f"* [Endpoint in the SageMaker console]({endpoint_url})\n\n"
                    "The links are for the commercial partition (console.aws.amazon.com)."
                ),
                width=8,
                height=5,
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarm status", alarms=list(self.alarms), width=16, height=5
            ),
        )

        self._header(
            "Queue",
            "Requests waiting or in progress. A backlog with no capacity should end within a "
            "cold start (7-9 min); a growing age means the queue is not draining.",
        )
        self.dashboard.add_widgets(
            graph(
                "Backlog (requests)",
                [e.metric_approximate_backlog_size(label="ApproximateBacklogSize")],
                "requests",
            ),
            graph(
                "Backlog per instance (scaling target)",
                [
                    e.metric_approximate_backlog_size_per_instance(
                        label="ApproximateBacklogSizePerInstance"
                    )
                ],
                "requests / instance",
            ),
            graph(
                "Age of oldest request",
                [e.metric_approximate_age_of_oldest_request(label="ApproximateAgeOfOldestRequest")],
                "seconds",
                annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=s.stuck_queue_age_seconds, label="Stuck-queue alarm"
                    )
                ],
            ),
            graph(
                "Backlog without capacity (0/1)",
                [e.metric_has_backlog_without_capacity(label="HasBacklogWithoutCapacity")],
                "0 or 1",
            ),
        )

        self._header(
            "Throughput and latency",
            "Completed requests and where their time went: waiting in the queue, in the model, "
            "end to end.",
        )
        self.dashboard.add_widgets(
            graph(
                "Invocations processed",
                [e.metric_invocations_processed(label="InvocationsProcesssed")],
                "requests / minute",
            ),
            graph(
                "Total processing time",
                [e.metric_total_processing_time(label="TotalProcessingTime")],
                "milliseconds",
            ),
            graph(
                "Time in backlog",
                [e.metric_time_in_backlog(label="TimeInBacklog")],
                "milliseconds",
            ),
            graph(
                "Model latency",
                [e.metric_model_latency(label="ModelLatency")],
                "microseconds",
            ),
        )

        self._header(
            "Errors",
            "Failed, expired and undelivered requests per minute. Error notifications and the "
            "failures/ prefix hold the reason of each failed request.",
        )
        self.dashboard.add_widgets(
            graph(
                "Invocation failures and model errors",
                [
                    e.metric_invocation_failures(label="InvocationFailures"),
                    e.metric("Invocation4XXErrors", label="Invocation4XXErrors"),
                    e.metric("Invocation5XXErrors", label="Invocation5XXErrors"),
                ],
                "requests",
                width=8,
            ),
            graph(
                "S3 transfer failures",
                [
                    e.metric_request_download_failures(label="RequestDownloadFailures"),
                    e.metric_response_upload_failures(label="ResponseUploadFailures"),
                ],
                "requests",
                width=8,
            ),
            graph(
                "Notification failures and expired requests",
                [
                    e.metric_notification_failures(label="NotificationFailures"),
                    e.metric("ExpiredRequests", label="ExpiredRequests"),
                ],
                "requests",
                width=8,
            ),
        )

        # Instance count: each instance reports CPUUtilization once a minute, so the sample
        # count per minute is the number of instances in service (the method AWS documents).
        # Dividing by the period in minutes keeps it right when the console widens the period
        # for long time ranges; FILL shows 0 instead of a gap while the endpoint is at zero.
        instances = cloudwatch.MathExpression(
            expression="FILL(cpu_samples, 0) * 60 / PERIOD(cpu_samples)",
            using_metrics={
                "cpu_samples": e.metric("CPUUtilization", statistic="SampleCount", period=minute)
            },
            label="Instances in service",
            period=minute,
        )
        self._header(
            "Instances",
            "Per-instance averages from /aws/sagemaker/Endpoints. CPU and GPU utilization are "
            "summed over cores and GPUs, so they can exceed 100%.",
        )
        self.dashboard.add_widgets(
            graph("Instances in service", [instances], "instances"),
            graph(
                "CPU and memory",
                [
                    e.metric("CPUUtilization", label="CPUUtilization"),
                    e.metric("MemoryUtilization", label="MemoryUtilization"),
                ],
                "percent",
            ),
            graph(
                "GPU and GPU memory",
                [
                    e.metric("GPUUtilization", label="GPUUtilization"),
                    e.metric("GPUMemoryUtilization", label="GPUMemoryUtilization"),
                ],
                "percent",
            ),
            graph("Disk", [e.metric("DiskUtilization", label="DiskUtilization")], "percent"),
        )
