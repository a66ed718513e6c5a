"""The CloudWatch dashboard of an asynchronous inference endpoint, one row per question.

Usable on its own (a dashboard for an endpoint whose alarms live elsewhere) and composed with
``AsyncEndpointAlarms`` by ``AsyncEndpointMonitoring``. Hand-written on ``aws_cloudwatch`` rather
than on a monitoring library: cdk-monitoring-constructs (10.3.3) has no SageMaker module at all,
so every metric would still have to be spelled out here (docs/observability.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import is_token, raise_if_problems
from constructs_lib.endpoint.base import IAsyncEndpoint
from constructs_lib.monitoring.links import endpoint_console_url, log_group_console_url

DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")


def dashboard_name_problems(dashboard_name: str | None) -> list[str]:
    """The problem of a dashboard name CloudWatch would refuse (tokens pass), if any."""
    if (
        dashboard_name is None
        or is_token(dashboard_name)
        or (isinstance(dashboard_name, str) and DASHBOARD_NAME.match(dashboard_name))
    ):
        return []
    return [
        f"dashboard_name: must be 1 to 255 letters, digits, '-' or '_' (got {dashboard_name!r})"
    ]


def _graph(
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


Row = list[cloudwatch.IWidget]


def _header(title: str, text: str) -> Row:
    """A row of one text widget: the header of the rows under it."""
    return [
        cloudwatch.TextWidget(
            markdown=f"## {title}\n{text}",
            width=24,
            height=2,
            background=cloudwatch.TextWidgetBackground.TRANSPARENT,
        )
    ]


class AsyncEndpointDashboard(Construct):
    """A CloudWatch dashboard for an ``IAsyncEndpoint``: rows for alarms and links, the queue,
    throughput and latency, errors, and instances, each under a text header.

    ``dashboard`` is the ``cloudwatch.Dashboard``; ``add_section`` appends rows for other parts
    of a service. It opens on the last 6 hours, the default request TTL.

    Args:
        endpoint: the endpoint to show; an imported one works too.
        alarms: shown in an alarm status widget in the top row. Default: ``()`` (the top row
            is then the endpoint's links only, under the header "Endpoint").
        stuck_queue_threshold_seconds: drawn on the age-of-oldest-request graph. Default:
            ``None``, no line.
        dashboard_name: the physical name. Default: ``None``, CloudFormation generates one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: IAsyncEndpoint,
        alarms: Sequence[cloudwatch.IAlarm] = (),
        stuck_queue_threshold_seconds: int | None = None,
        dashboard_name: str | None = None,
    ) -> None:
        raise_if_problems("AsyncEndpointDashboard", dashboard_name_problems(dashboard_name))
        super().__init__(scope, construct_id)
        self.endpoint = endpoint
        # The rows are given to the dashboard when it is made: one jsii round trip, where
        # Dashboard.add_widgets would be one per row (the dashboard body is the same).
        rows = [
            *self._top_rows(list(alarms)),
            *self._queue_rows(stuck_queue_threshold_seconds),
            *self._throughput_rows(),
            *self._errors_rows(),
            *self._instances_rows(),
        ]
        # "Default" is left out of logical ids, so the dashboard resource keeps the id it had
        # when the monitoring construct made it directly (no replacement on upgrade).
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Default",
            dashboard_name=dashboard_name,
            default_interval=cdk_values.hours(6),
            widgets=rows,
        )

    def add_section(
        self,
        title: str,
        text: str,
        widgets: Sequence[cloudwatch.IWidget],
        alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        """Add a row for another part of the service: a header (``title``, ``text``), an alarm
        status widget when ``alarms`` are given (default: none), then ``widgets``."""
        self.dashboard.add_widgets(*_header(title, text))
        if alarms:
            self.dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(
                    title=f"{title}: alarm status", alarms=list(alarms), width=24, height=3
                )
            )
        self.dashboard.add_widgets(*widgets)

    def _top_rows(self, alarms: list[cloudwatch.IAlarm]) -> list[Row]:
        name = self.endpoint.endpoint_name
        links = (
            f"### Endpoint `{name}`\n"
            f"* [Container logs: /aws/sagemaker/Endpoints/{name}]({log_group_console_url(name)})\n"
            f"* [Endpoint in the SageMaker console]({endpoint_console_url(name)})\n\n"
            "The links are for the commercial partition (console.aws.amazon.com)."
        )
        if not alarms:
            return [
                _header("Endpoint", "Logs and console of the endpoint."),
                [cloudwatch.TextWidget(markdown=links, width=24, height=5)],
            ]
        return [
            _header(
                "Alarms",
                "Each alarm notifies the operations topic when it fires and when it resolves. "
                "Runbook: docs/observability.md in the repository.",
            ),
            [
                cloudwatch.TextWidget(markdown=links, width=8, height=5),
                cloudwatch.AlarmStatusWidget(
                    title="Alarm status", alarms=alarms, width=16, height=5
                ),
            ],
        ]

    def _queue_rows(self, stuck_queue_threshold_seconds: int | None) -> list[Row]:
        e = self.endpoint
        annotations = (
            None
            if stuck_queue_threshold_seconds is None
            else [
                cloudwatch.HorizontalAnnotation(
                    value=stuck_queue_threshold_seconds, label="Stuck-queue alarm"
                )
            ]
        )
        return [
            _header(
                "Queue",
                "Requests waiting or in progress. A backlog with no capacity should end within a "
                "cold start (7-9 min); a growing age means the queue is not draining.",
            ),
            [
                _graph(
                    "Backlog (requests)",
                    [e.metric_approximate_backlog_size(label="ApproximateBacklogSize")],
                    "requests",
                ),
                _graph(
                    "Backlog per instance (scaling target)",
                    [
                        e.metric_approximate_backlog_size_per_instance(
                            label="ApproximateBacklogSizePerInstance"
                        )
                    ],
                    "requests / instance",
                ),
                _graph(
                    "Age of oldest request",
                    [
                        e.metric_approximate_age_of_oldest_request(
                            label="ApproximateAgeOfOldestRequest"
                        )
                    ],
                    "seconds",
                    annotations=annotations,
                ),
                _graph(
                    "Backlog without capacity (0/1)",
                    [e.metric_has_backlog_without_capacity(label="HasBacklogWithoutCapacity")],
                    "0 or 1",
                ),
            ],
        ]

    def _throughput_rows(self) -> list[Row]:
        e = self.endpoint
        return [
            _header(
                "Throughput and latency",
                "Completed requests and where their time went: waiting in the queue, in the model, "
                "end to end.",
            ),
            [
                _graph(
                    "Invocations processed",
                    [e.metric_invocations_processed(label="InvocationsProcesssed")],
                    "requests / minute",
                ),
                _graph(
                    "Total processing time",
                    [e.metric_total_processing_time(label="TotalProcessingTime")],
                    "milliseconds",
                ),
                _graph(
                    "Time in backlog",
                    [e.metric_time_in_backlog(label="TimeInBacklog")],
                    "milliseconds",
                ),
                _graph(
                    "Model latency", [e.metric_model_latency(label="ModelLatency")], "microseconds"
                ),
            ],
        ]

    def _errors_rows(self) -> list[Row]:
        e = self.endpoint
        return [
            _header(
                "Errors",
                "Failed, expired and undelivered requests per minute. Error notifications and the "
                "failures/ prefix hold the reason of each failed request.",
            ),
            [
                _graph(
                    "Invocation failures and model errors",
                    [
                        e.metric_invocation_failures(label="InvocationFailures"),
                        e.metric("Invocation4XXErrors", label="Invocation4XXErrors"),
                        e.metric("Invocation5XXErrors", label="Invocation5XXErrors"),
                    ],
                    "requests",
                    width=8,
                ),
                _graph(
                    "S3 transfer failures",
                    [
                        e.metric_request_download_failures(label="RequestDownloadFailures"),
                        e.metric_response_upload_failures(label="ResponseUploadFailures"),
                    ],
                    "requests",
                    width=8,
                ),
                _graph(
                    "Notification failures and expired requests",
                    [
                        e.metric_notification_failures(label="NotificationFailures"),
                        e.metric("ExpiredRequests", label="ExpiredRequests"),
                    ],
                    "requests",
                    width=8,
                ),
            ],
        ]

    def _instances_rows(self) -> list[Row]:
        e = self.endpoint
        minute = cdk_values.minutes(1)
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
        return [
            _header(
                "Instances",
                "Per-instance averages from /aws/sagemaker/Endpoints. CPU and GPU utilization are "
                "summed over cores and GPUs, so they can exceed 100%.",
            ),
            [
                _graph("Instances in service", [instances], "instances"),
                _graph(
                    "CPU and memory",
                    [
                        e.metric("CPUUtilization", label="CPUUtilization"),
                        e.metric("MemoryUtilization", label="MemoryUtilization"),
                    ],
                    "percent",
                ),
                _graph(
                    "GPU and GPU memory",
                    [
                        e.metric("GPUUtilization", label="GPUUtilization"),
                        e.metric("GPUMemoryUtilization", label="GPUMemoryUtilization"),
                    ],
                    "percent",
                ),
                _graph("Disk", [e.metric("DiskUtilization", label="DiskUtilization")], "percent"),
            ],
        ]
