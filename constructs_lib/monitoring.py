"""Dashboard, alarms and an encrypted operations topic for an asynchronous inference endpoint.

Hand-written on ``aws_cloudwatch`` rather than on a monitoring library: cdk-monitoring-constructs
(10.3.3) has no SageMaker module at all, so every metric would still have to be spelled out here,
and docs/observability.md has the measured cost of carrying it anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from constructs import Construct

from ._validation import is_token, raise_if_problems
from .endpoint_base import IAsyncEndpoint
from .monitoring_settings import MonitoringSettings as MonitoringSettings
from .notifications import EncryptedTopic

# MonitoringSettings is re-exported from a pure module so configuration loads without the CDK.

DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")


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
        endpoint: IAsyncEndpoint,
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
        # Alarms publish as the CloudWatch service, which needs the topic's key. CloudWatch sends
        # the alarm's ARN and account with the publish (aws:SourceArn / aws:SourceAccount, as
        # AWS documents for the topic policy in "Why didn't I receive an SNS notification for my
        # CloudWatch alarm trigger?",
        # repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger)
        # and SNS forwards them to KMS for encrypted topics ("Enable compatibility between event
        # sources from AWS services and encrypted topics", docs.aws.amazon.com/sns/latest/dg/
        # sns-key-management.html: its key-policy example carries aws:SourceArn; only EventBridge
        # is documented as not sending these keys). So both grants admit only this account's alarms.
        self.ops_topic.allow_service_publish(
            "cloudwatch.amazonaws.com",
            source_arn=Stack.of(self).format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name="*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )

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
