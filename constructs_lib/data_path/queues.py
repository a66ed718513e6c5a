"""Encrypted SQS work queues, each with its dead-letter queue and the metrics operators watch."""

from __future__ import annotations

from functools import cache, cached_property
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import raise_if_problems

# SQS keeps messages at most 14 days. A message's expiry in the DLQ counts from its first
# enqueue in the source queue, so the DLQ keeps at least as long as the source queue
# (SQS Developer Guide, "Using dead-letter queues": set the DLQ's retention longer).
MAX_RETENTION_DAYS = 14
DEFAULT_RETENTION_DAYS = 4
MAX_RETENTION = cdk_values.days(MAX_RETENTION_DAYS)
DEFAULT_RETENTION = cdk_values.days(DEFAULT_RETENTION_DAYS)


def dead_letter_retention_days(object_retention_days: list[int]) -> int:
    """How long a DLQ keeps messages that name objects kept ``object_retention_days``.

    A day less than the shortest of them, and at most SQS's 14: a message still in the DLQ
    then names objects that still exist (S3 expires an object at midnight UTC after its
    retention, never before), with a day left for the redriven message to be processed.
    Without any (a bucket whose lifecycle is its owner's), 14.
    """
    if not object_retention_days:
        return MAX_RETENTION_DAYS
    return max(1, min(MAX_RETENTION_DAYS, min(object_retention_days) - 1))


# SQS limits a queue's visibility timeout to 12 hours.
MAX_VISIBILITY_SECONDS = 43_200


@cache
def _seconds(duration: Duration) -> int:
    # Durations come from cdk_values' caches: one round trip per distinct value and process.
    return int(duration.to_seconds())


def visibility_timeout_seconds(function_timeout_seconds: int, batching_window_seconds: int) -> int:
    """The visibility timeout AWS recommends for a Lambda SQS event source.

    Lambda's SQS guide: at least six times the function timeout plus the maximum batching window,
    so that a batch throttled or retried by the poller is not handed to a second invocation.
    """
    return 6 * function_timeout_seconds + batching_window_seconds


class WorkQueue(Construct):
    """A standard SQS queue and its dead-letter queue, both on ``key`` and TLS-only.

    The data path shortens both retentions to the life of the objects its messages name, and
    passes its own removal policy.

    Args:
        key: encrypts both queues.
        visibility_timeout: the queue's visibility timeout.
        max_receive_count: receives after which a message moves to ``dead_letter_queue``.
        retention: how long an unprocessed message waits. Default: ``DEFAULT_RETENTION`` (4
            days).
        dead_letter_retention: how long the DLQ keeps it, at least ``retention`` (expiry
            counts from the first enqueue). Default: ``MAX_RETENTION`` (14 days, the longest
            SQS allows).
        removal_policy: for both queues. Default: ``RemovalPolicy.DESTROY`` (as for any SQS
            queue in the CDK).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        visibility_timeout: Duration,
        max_receive_count: int,
        retention: Duration = DEFAULT_RETENTION,
        dead_letter_retention: Duration = MAX_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        waits, kept = _seconds(retention), _seconds(dead_letter_retention)
        if kept > MAX_RETENTION_DAYS * 86_400 or kept < 60 or waits > kept:
            raise_if_problems(
                "WorkQueue",
                [
                    "dead_letter_retention: must be 60 s to 14 days (SQS's limits) and at least "
                    f"retention ({waits} s), since a dead letter's expiry counts from its first "
                    f"enqueue (got {kept} s)"
                ],
            )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=dead_letter_retention,
            # Spelled out for AWS Control Tower (CT.SQS.PR.1 wants a DLQ's redrive-allow policy).
            # "allowAll" is SQS's behaviour without one; "byQueue" would need the source queue's
            # ARN here while the source names this queue: a cycle.
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.ALLOW_ALL
            ),
            removal_policy=removal_policy,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            # Reusing a data key for 5 minutes (the default) keeps KMS calls per message low.
            data_key_reuse=cdk_values.minutes(5),
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            retention_period=retention,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=max_receive_count
            ),
            removal_policy=removal_policy,
        )

    # Policies, subscriptions, grants, event sources and outputs all name the queues: each read
    # of a queue attribute is a jsii round trip, so each is read once.
    @cached_property
    def queue_arn(self) -> str:
        return self.queue.queue_arn

    @cached_property
    def queue_url(self) -> str:
        return self.queue.queue_url

    @cached_property
    def dead_letter_queue_arn(self) -> str:
        return self.dead_letter_queue.queue_arn

    def metric_oldest_message_age(self, **props: Any) -> cloudwatch.Metric:
        """Age in seconds of the oldest message waiting in the queue (Maximum, 1 minute)."""
        return self.queue.metric_approximate_age_of_oldest_message(
            **{"statistic": "Maximum", "period": cdk_values.minutes(1), **props}
        )

    def metric_visible_messages(self, **props: Any) -> cloudwatch.Metric:
        """Messages waiting in the queue (Maximum, 1 minute)."""
        return self.queue.metric_approximate_number_of_messages_visible(
            **{"statistic": "Maximum", "period": cdk_values.minutes(1), **props}
        )

    def metric_dead_letters(self, **props: Any) -> cloudwatch.Metric:
        """Messages in the dead-letter queue (Maximum, 1 minute)."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            **{"statistic": "Maximum", "period": cdk_values.minutes(1), **props}
        )
