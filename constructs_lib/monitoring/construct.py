"""Dashboard, alarms and an operations topic for an asynchronous inference endpoint, in one call.

``AsyncEndpointMonitoring`` is the facade over the two pieces a team can also use apart:
``AsyncEndpointAlarms`` (``monitoring_alarms.py``) and ``AsyncEndpointDashboard``
(``monitoring_dashboard.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib._validation import raise_if_problems
from constructs_lib.endpoint.base import IAsyncEndpoint
from constructs_lib.endpoint.notifications import EncryptedTopic
from constructs_lib.monitoring.alarms import AsyncEndpointAlarms, alarm_problems
from constructs_lib.monitoring.dashboard import AsyncEndpointDashboard, dashboard_name_problems
from constructs_lib.monitoring.settings import MonitoringSettings


class AsyncEndpointMonitoring(Construct):
    """A CloudWatch dashboard and the endpoint's alarms, paging an operations topic.

    Composes ``AsyncEndpointAlarms`` (``endpoint_alarms``) and ``AsyncEndpointDashboard``
    (``endpoint_dashboard``, whose alarm status widget shows the alarms and whose age graph marks
    the stuck-queue threshold). For convenience it exposes their parts: ``ops_topic`` (the
    ``EncryptedTopic`` made when no ``topic`` is given, else ``None``), ``topic``, ``dashboard``,
    ``alarms`` and the five alarm attributes (``None`` for an alarm turned off). The runbook is
    docs/observability.md.

    Args:
        endpoint: the endpoint to watch; an imported one works too.
        settings: recipients and one threshold per alarm. Default: ``None``
            (``MonitoringSettings()``).
        topic: the topic to page. Default: ``None``, an ``EncryptedTopic`` with its own
            customer-managed key; with a given topic, ``settings.alarm_emails`` must be empty.
        removal_policy: for the key of the topic made here. Default: ``RemovalPolicy.RETAIN``.
        dashboard_name: the dashboard's physical name. Default: ``None``, CloudFormation
            generates one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: IAsyncEndpoint,
        settings: MonitoringSettings | None = None,
        topic: sns.ITopic | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        dashboard_name: str | None = None,
    ) -> None:
        settings = settings if settings is not None else MonitoringSettings()
        raise_if_problems(
            "AsyncEndpointMonitoring",
            alarm_problems(settings, topic) + dashboard_name_problems(dashboard_name),
        )
        super().__init__(scope, construct_id)
        self.endpoint = endpoint
        self.settings = settings

        # "Default" is left out of logical ids, so the topic, its key and the alarms keep the ids
        # they had when this construct made them directly: a retained key is never replaced.
        self.endpoint_alarms = AsyncEndpointAlarms(
            self,
            "Default",
            endpoint=endpoint,
            settings=settings,
            topic=topic,
            removal_policy=removal_policy,
        )
        a = self.endpoint_alarms
        self.ops_topic: EncryptedTopic | None = a.ops_topic
        self.topic: sns.ITopic = a.topic
        self.invocation_failures_alarm = a.invocation_failures_alarm
        self.stuck_queue_alarm = a.stuck_queue_alarm
        self.wake_up_failure_alarm = a.wake_up_failure_alarm
        self.notification_failures_alarm = a.notification_failures_alarm
        self.s3_failures_alarm = a.s3_failures_alarm
        self.alarms: tuple[cloudwatch.Alarm, ...] = a.alarms

        self.endpoint_dashboard = AsyncEndpointDashboard(
            self,
            "Dashboard",
            endpoint=endpoint,
            alarms=self.alarms,
            stuck_queue_threshold_seconds=(
                settings.stuck_queue.threshold if settings.stuck_queue is not None else None
            ),
            dashboard_name=dashboard_name,
        )
        self.dashboard: cloudwatch.Dashboard = self.endpoint_dashboard.dashboard

    @property
    def extra_alarms(self) -> tuple[cloudwatch.Alarm, ...]:
        """The alarms other parts added with ``add_section``, in the order they came."""
        return self.endpoint_alarms.extra_alarms

    def add_section(
        self,
        title: str,
        text: str,
        widgets: Sequence[cloudwatch.IWidget],
        alarms: Sequence[cloudwatch.Alarm] = (),
    ) -> None:
        """Add a dashboard row for another part of the service, and page its alarms.

        The row is a header (``title``, ``text``), an alarm status widget when ``alarms`` are
        given (default: none), then ``widgets``. Each alarm notifies the topic when it fires and
        when it resolves, like the endpoint's own; ``extra_alarms`` lists them.
        """
        self.endpoint_alarms.add_alarms(alarms)
        self.endpoint_dashboard.add_section(title, text, widgets, alarms)
