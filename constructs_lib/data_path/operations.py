"""Alarms and dashboard widgets of the data path: dead letters, stuck queues, Lambda trouble."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib.data_path.functions import DataPathFunction
from constructs_lib.data_path.queues import WorkQueue

FIVE_MINUTES = cdk_values.minutes(5)
# Custom metrics the runtime emits through Powertools (runtime/observability.py), each with the
# dimension "service" = the function's POWERTOOLS_SERVICE_NAME.
DISPATCHER_COUNTS = ("DocumentsDispatched", "RequestsSent", "DocumentsUnreadable")
RECORDER_COUNTS = ("JobsSucceeded", "JobsFailed", "Redispatches")
DOCUMENTS_PER_REQUEST = "DocumentsPerRequest"
ACCESS_DENIED = "AccessDenied"


class DataPathAlarms(Construct):
    """Ten alarms over the two queues and the two functions, and the widgets that show them.

    Per queue: any message in its DLQ (a message failed ``max_receive_count`` times and needs a
    look), and its oldest message older than ``oldest_message_seconds`` (the consumer is not
    keeping up or is failing). Per function: any error and any throttle in
    five minutes, and any call AWS refused them (their ``AccessDenied`` metric). No data (an
    idle path) counts as fine, except for the DLQ alarms, which keep
    their state through silence (a DLQ nobody reads stops reporting). ``alarms`` lists them all; the
    stack's monitoring wires them to the operations topic. ``metrics_namespace`` is where the
    functions publish their own counts (documents dispatched, jobs succeeded and failed), which
    the widgets show next to the AWS metrics.

    Args:
        dispatch: the dispatcher's queue.
        record: the recorder's queue.
        functions: the functions by name, e.g. ``{"dispatcher": ..., "recorder": ...}``.
        metrics_namespace: where the functions publish their own counts.
        oldest_message_seconds: the age of a queue's oldest message that alarms. Default:
            ``900`` (15 minutes).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dispatch: WorkQueue,
        record: WorkQueue,
        functions: Mapping[str, DataPathFunction],
        metrics_namespace: str,
        oldest_message_seconds: int = 900,
    ) -> None:
        super().__init__(scope, construct_id)
        self.metrics_namespace = metrics_namespace
        self.queues = {"Dispatch": dispatch, "Record": record}
        self.functions = dict(functions)
        at_least_one = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        fine = cloudwatch.TreatMissingData.NOT_BREACHING
        alarms: list[cloudwatch.Alarm] = []
        # Each function's errors alarm, by name (the endpoint's deployments roll back on one).
        self.errors_alarms: dict[str, cloudwatch.Alarm] = {}
        for name, queue in self.queues.items():
            alarms.append(
                cloudwatch.Alarm(
                    self,
                    f"{name}DeadLettersAlarm",
                    alarm_description=(
                        f"Data path: messages in the {name.lower()} queue's DLQ. Each failed "
                        "max_receive_count times; its body says which documents or "
                        "notification. Runbook: docs/observability.md (data path)."
                    ),
                    metric=queue.metric_dead_letters(period=FIVE_MINUTES),
                    threshold=1,
                    comparison_operator=at_least_one,
                    evaluation_periods=1,
                    # SQS publishes a queue's metrics only while it is active: for up to six
                    # hours after the last access even with messages in it. Nothing reads a DLQ,
                    # so its metrics stop; "ignore" keeps the alarm in ALARM until someone
                    # redrives or purges the DLQ (which reports 0 again) instead of resolving it
                    # on silence. Before the first dead letter the alarm has no data at all.
                    treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
                )
            )
            alarms.append(
                cloudwatch.Alarm(
                    self,
                    f"{name}OldestMessageAlarm",
                    alarm_description=(
                        f"Data path: the oldest message of the {name.lower()} queue is older "
                        f"than {oldest_message_seconds} s; its consumer is not keeping up or "
                        "keeps failing. Runbook: docs/observability.md (data path)."
                    ),
                    metric=queue.metric_oldest_message_age(period=FIVE_MINUTES),
                    threshold=oldest_message_seconds,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=fine,
                )
            )
        for name, fn in self.functions.items():
            for what, metric in (
                ("Errors", fn.function.metric_errors(period=FIVE_MINUTES, statistic="Sum")),
                ("Throttles", fn.function.metric_throttles(period=FIVE_MINUTES, statistic="Sum")),
            ):
                alarm = cloudwatch.Alarm(
                    self,
                    f"{name}{what}Alarm",
                    alarm_description=(
                        f"Data path: the {name.lower()} function had {what.lower()} in the "
                        "last 5 minutes; its log group has the details. "
                        "Runbook: docs/observability.md (data path)."
                    ),
                    metric=metric,
                    threshold=1,
                    comparison_operator=at_least_one,
                    evaluation_periods=1,
                    treat_missing_data=fine,
                )
                alarms.append(alarm)
                if what == "Errors":
                    self.errors_alarms[name] = alarm
        # A refused call is a permission mistake (a missing object is a 404: the functions may
        # list what they read); the message is retried until someone fixes the policy.
        for name in self.functions:
            alarms.append(
                cloudwatch.Alarm(
                    self,
                    f"{name}AccessDeniedAlarm",
                    alarm_description=(
                        f"Data path: AWS refused the {name.lower()} function a call "
                        "(AccessDenied: its role, the bucket policy or a key policy); its "
                        "messages are retried and end in the DLQ unless it is fixed. "
                        "Runbook: docs/observability.md (data path)."
                    ),
                    metric=cloudwatch.Metric(
                        namespace=metrics_namespace,
                        metric_name=ACCESS_DENIED,
                        dimensions_map={"service": name.lower()},
                        statistic="Sum",
                        period=FIVE_MINUTES,
                    ),
                    threshold=1,
                    comparison_operator=at_least_one,
                    evaluation_periods=1,
                    treat_missing_data=fine,
                )
            )
        self.alarms: tuple[cloudwatch.Alarm, ...] = tuple(alarms)

    def custom_metric(self, service: str, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        """A metric the ``service`` function (``dispatcher``/``recorder``) publishes itself."""
        return cloudwatch.Metric(
            namespace=self.metrics_namespace,
            metric_name=name,
            dimensions_map={"service": service},
            statistic=statistic,
            period=FIVE_MINUTES,
            label=name,
        )

    def widgets(self) -> list[cloudwatch.IWidget]:
        """Two dashboard rows: queues and function health; documents and jobs over time."""

        def graph(
            title: str, metrics: list[cloudwatch.IMetric], axis: str
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=metrics,
                left_y_axis=cloudwatch.YAxisProps(label=axis, min=0, show_units=False),
                width=6,
                height=6,
            )

        return [
            graph(
                "Queued messages",
                [q.metric_visible_messages(label=name) for name, q in self.queues.items()],
                "messages",
            ),
            graph(
                "Oldest message",
                [q.metric_oldest_message_age(label=name) for name, q in self.queues.items()],
                "seconds",
            ),
            graph(
                "Dead letters",
                [q.metric_dead_letters(label=f"{name} DLQ") for name, q in self.queues.items()],
                "messages",
            ),
            graph(
                "Functions: errors and throttles",
                [
                    metric
                    for name, fn in self.functions.items()
                    for metric in (
                        fn.function.metric_errors(label=f"{name} errors", statistic="Sum"),
                        fn.function.metric_throttles(label=f"{name} throttles", statistic="Sum"),
                    )
                ],
                "count",
            ),
            graph(
                "Dispatcher: documents and requests (per 5 min)",
                [self.custom_metric("dispatcher", name) for name in DISPATCHER_COUNTS],
                "count",
            ),
            graph(
                "Documents per request (grouping)",
                [self.custom_metric("dispatcher", DOCUMENTS_PER_REQUEST, "Average")],
                "documents",
            ),
            graph(
                "Recorder: jobs (per 5 min)",
                [self.custom_metric("recorder", name) for name in RECORDER_COUNTS],
                "count",
            ),
            graph(
                "Function duration (p90)",
                [
                    fn.function.metric_duration(label=name, statistic="p90")
                    for name, fn in self.functions.items()
                ],
                "milliseconds",
            ),
        ]
