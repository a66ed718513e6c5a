"""The five alarms of an asynchronous inference endpoint, paging one SNS topic.

Usable on its own (alarms without a dashboard, or paging a topic the team already has) and
composed with ``AsyncEndpointDashboard`` by ``AsyncEndpointMonitoring``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import raise_if_problems
from constructs_lib.endpoint.base import IAsyncEndpoint
from constructs_lib.endpoint.notifications import EncryptedTopic
from constructs_lib.monitoring.settings import AlarmThreshold, MonitoringSettings

RUNBOOK = "Runbook: docs/observability.md."


def alarm_problems(settings: MonitoringSettings, topic: sns.ITopic | None) -> list[str]:
    """Every problem of ``settings`` for alarms paging ``topic`` (``None``: a topic made here)."""
    problems = settings.problems()
    if topic is not None and settings.alarm_emails:
        problems.append(
            "alarm_emails: only subscribes to the topic the alarms make; subscribe the addresses "
            f"to the given topic yourself (got {list(settings.alarm_emails)!r})"
        )
    return problems


class AsyncEndpointAlarms(Construct):
    """Alarms on an ``IAsyncEndpoint``, each notifying a topic when it fires and when it resolves.

    One alarm per ``AlarmThreshold`` of ``settings`` that is not ``None``:
    ``invocation_failures_alarm``, ``stuck_queue_alarm``, ``wake_up_failure_alarm``,
    ``notification_failures_alarm`` and ``s3_failures_alarm`` (``None`` when turned off; the ones
    made are ``alarms``, in that order). They page ``topic``: the given one, or an
    ``EncryptedTopic`` made here (``ops_topic``, with its own customer-managed key, TLS-only, the
    ``alarm_emails`` subscribed and the key open to this account's CloudWatch alarms). The
    endpoint's deployment rollback alarms, if it has any (``AsyncEndpoint(deployment=...)``),
    page the same topic (``rollback_alarms``). A given
    topic that is encrypted must let ``cloudwatch.amazonaws.com`` use its key, or alarms cannot
    publish to it. The runbook is docs/observability.md.

    Args:
        endpoint: the endpoint to watch; an imported one works too.
        settings: recipients and one threshold per alarm. Default: ``None``
            (``MonitoringSettings()``).
        topic: the topic to page. Default: ``None``, an ``EncryptedTopic`` made here; with a
            given topic, ``settings.alarm_emails`` must be empty.
        removal_policy: for the key of the topic made here. Default: ``RemovalPolicy.RETAIN``.
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
    ) -> None:
        settings = settings if settings is not None else MonitoringSettings()
        raise_if_problems("AsyncEndpointAlarms", alarm_problems(settings, topic))
        super().__init__(scope, construct_id)
        self.endpoint = endpoint
        self.settings = settings

        self.ops_topic: EncryptedTopic | None = None
        if topic is None:
            self.ops_topic = self._make_topic(settings, removal_policy)
            topic = self.ops_topic.topic
        self.topic: sns.ITopic = topic
        self._action = cloudwatch_actions.SnsAction(topic)

        e = endpoint
        self.invocation_failures_alarm = self._alarm(
            "InvocationFailuresAlarm",
            settings.invocation_failures,
            e.metric_invocation_failures,
            "at least {threshold} invocation(s) failed. Error notifications and s3 failures/ "
            "hold the reasons; container logs are in /aws/sagemaker/Endpoints/<endpoint>.",
        )
        self.stuck_queue_alarm = self._alarm(
            "StuckQueueAlarm",
            settings.stuck_queue,
            # No unit filter: an alarm whose unit differs from the published one never gets data.
            partial(e.metric_approximate_age_of_oldest_request, unit=None),
            "the oldest queued request is older than {threshold} s; the queue is not draining "
            "and requests expire at their TTL (6 h by default).",
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # An empty queue has no oldest request.
            missing=self._QUIET_IS_FINE,
        )
        self.wake_up_failure_alarm = self._alarm(
            "WakeUpFailureAlarm",
            settings.wake_up_failure,
            e.metric_has_backlog_without_capacity,
            "requests have waited with no instance for {minutes} minutes; scale-from-zero "
            "failed or the new instance never came into service.",
            # A gap in this metric is no evidence that an instance came up: it neither fires
            # nor resolves the alarm (and a flaky metric cannot reset the 15-minute count).
            missing=cloudwatch.TreatMissingData.MISSING,
        )
        self.notification_failures_alarm = self._alarm(
            "NotificationFailuresAlarm",
            settings.notification_failures,
            e.metric_notification_failures,
            "SageMaker could not publish {threshold} or more success/error notification(s); "
            "clients waiting on the topics miss results that are in S3.",
        )
        # One alarm for both directions: the cause (S3 or KMS access of the execution role, a
        # missing or foreign-key-encrypted object) and the first steps are the same, and the
        # dashboard's errors row tells the two apart.
        self.s3_failures_alarm = self._alarm(
            "S3FailuresAlarm",
            settings.s3_failures,
            self._s3_failures,
            "{threshold} or more requests could not be downloaded from or their results "
            "uploaded to S3.",
        )
        self.alarms: tuple[cloudwatch.Alarm, ...] = tuple(
            alarm
            for alarm in (
                self.invocation_failures_alarm,
                self.stuck_queue_alarm,
                self.wake_up_failure_alarm,
                self.notification_failures_alarm,
                self.s3_failures_alarm,
            )
            if alarm is not None
        )
        for alarm in self.alarms:
            self._page(alarm)
        self.extra_alarms: tuple[cloudwatch.Alarm, ...] = ()
        # The endpoint's deployment rollback alarms (AsyncEndpoint with ``deployment``) page too:
        # when one fires during an update, SageMaker is rolling it back. (An alarm without an
        # action also fails AWS Control Tower's CT.CLOUDWATCH.PR.1 in a governed account.)
        self.rollback_alarms: tuple[cloudwatch.CfnAlarm, ...] = tuple(
            getattr(endpoint, "rollback_alarms", ())
        )
        if self.rollback_alarms:
            topic_arn = [topic.topic_arn]
            for rollback_alarm in self.rollback_alarms:
                rollback_alarm.alarm_actions = topic_arn
                rollback_alarm.ok_actions = topic_arn

    def add_alarms(self, alarms: Sequence[cloudwatch.Alarm]) -> None:
        """Page the topic from other parts' alarms too (fire and resolve); see ``extra_alarms``."""
        for alarm in alarms:
            self._page(alarm)
        self.extra_alarms += tuple(alarms)

    def _page(self, alarm: cloudwatch.Alarm) -> None:
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)

    def _make_topic(
        self, settings: MonitoringSettings, removal_policy: RemovalPolicy
    ) -> EncryptedTopic:
        made = EncryptedTopic(
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
        made.allow_service_publish(
            "cloudwatch.amazonaws.com",
            source_arn=Stack.of(self).format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name="*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        return made

    # Counters are only published when there is traffic, and an endpoint at zero instances
    # publishes almost nothing: for them, no data means nothing failed.
    _QUIET_IS_FINE = cloudwatch.TreatMissingData.NOT_BREACHING
    _AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD

    def _alarm(
        self,
        construct_id: str,
        t: AlarmThreshold | None,
        metric: Callable[..., cloudwatch.IMetric],
        description: str,
        *,
        comparison: cloudwatch.ComparisonOperator = _AT_LEAST,
        missing: cloudwatch.TreatMissingData = _QUIET_IS_FINE,
    ) -> cloudwatch.Alarm | None:
        """The alarm on ``metric(period=...)`` at ``t``'s period, or ``None`` when ``t`` is (the
        alarm is turned off). ``description`` may name ``{threshold}`` and ``{minutes}`` (how long
        the breach must last)."""
        if t is None:
            return None
        watched = metric(period=cdk_values.seconds(t.period_seconds))
        said = description.format(
            threshold=t.threshold, minutes=t.datapoints_to_alarm * t.period_seconds // 60
        )
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=f"Async endpoint {self.endpoint.endpoint_name}: {said} " + RUNBOOK,
            metric=watched,
            threshold=t.threshold,
            comparison_operator=comparison,
            treat_missing_data=missing,
            evaluation_periods=t.evaluation_periods,
            datapoints_to_alarm=t.datapoints_to_alarm,
        )

    def _s3_failures(self, *, period: Duration) -> cloudwatch.IMetric:
        """Request download plus response upload failures, gaps counted as none."""
        e = self.endpoint
        return cloudwatch.MathExpression(
            expression="FILL(downloads, 0) + FILL(uploads, 0)",
            using_metrics={
                "downloads": e.metric_request_download_failures(period=period),
                "uploads": e.metric_response_upload_failures(period=period),
            },
            label="Request download + response upload failures",
            period=period,
        )
