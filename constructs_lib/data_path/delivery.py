"""How AWS services deliver to the data path's queues and logs: policies, with their sources.

Each statement cites the AWS guide it follows. Conditions (``aws:SourceArn``,
``aws:SourceAccount``) appear only where the guide shows the service sending them to that
policy: a condition a request does not carry silently drops every delivery.
"""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_s3 import IBucketRef
from constructs import Construct, IDependable

from .. import _values as cdk_values
from .._validation import is_token
from .functions import quiet_bucket_notifications_handler
from .queues import WorkQueue


@jsii.implements(s3.IBucketNotificationDestination)
class _QueueDestination:
    """An S3 notification destination whose queue and key policies the data path writes itself.

    ``SqsDestination`` would add ``kms:GenerateDataKey*`` (a wildcard) and no
    ``aws:SourceAccount``; the statements here follow the S3 guide instead (see subscribe_bucket).
    """

    def __init__(self, queue: sqs.IQueue, dependency: IDependable) -> None:
        self._queue = queue
        self._dependency = dependency

    def bind(self, scope: Construct, bucket: IBucketRef) -> s3.BucketNotificationDestinationConfig:
        return s3.BucketNotificationDestinationConfig(
            arn=self._queue.queue_arn,
            type=s3.BucketNotificationDestinationType.QUEUE,
            # S3 sends a test event when the configuration is put: the policy must exist first.
            dependencies=[self._dependency],
        )


def allow_log_encryption(key: kms.IKey) -> None:
    """Let CloudWatch Logs encrypt this account's and region's log groups with ``key``."""
    # CloudWatch Logs guide, "Encrypt log data in CloudWatch Logs using AWS KMS": the key
    # policy lets the regional Logs principal use the key, limited by the encryption context
    # Logs sends (the log group's ARN) to this account's and region's log groups.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[cdk_values.service_principal(f"logs.{cdk_values.REGION}.amazonaws.com")],
            actions=[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:DescribeKey",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{cdk_values.PARTITION}:logs:{cdk_values.REGION}:{cdk_values.ACCOUNT_ID}:log-group:*"
                    )
                }
            },
        )
    )


def stack_scoped_bucket_name(stack: Stack) -> str:
    """``<stack name, lower case>-<stack id's uuid>`` (a token): a bucket name known before the
    bucket exists, unique to each create of the stack, at most S3's 63 characters.

    A stack deleted and created again (its old bucket retained) gets a new uuid, so the name
    never collides; 36 characters of uuid leave 26 for the stack name.
    """
    uuid = cdk_values.stack_uuid()
    name = stack.stack_name
    prefix = "" if is_token(name) else name.lower()[: 63 - 1 - 36].rstrip("-.")
    return f"{prefix or 'data'}-{uuid}"


def subscribe_bucket(bucket: s3.IBucket, prefix: str, work: WorkQueue, key: kms.IKey) -> None:
    """Send ``bucket``'s ObjectCreated events under ``prefix`` to ``work``'s queue (on ``key``).

    A bucket of this stack (``s3.Bucket``) gets the notification in its own
    ``NotificationConfiguration``, as AWS Control Tower's CT.S3.PR.4 checks, and no custom
    resource: its name is derived from the stack id (``stack_scoped_bucket_name``) so that the
    queue policy can name it before it exists. S3 validates the destination when the bucket's
    configuration is put, so the bucket must wait for the policy, while a policy naming the
    bucket's own ARN would wait for the bucket: a cycle. An existing bucket keeps its name and
    its other notifications through aws-cdk-lib's notifications custom resource.
    """
    s3_principal = cdk_values.service_principal("s3.amazonaws.com")
    cfn = bucket.node.default_child if isinstance(bucket, s3.Bucket) else None
    if isinstance(cfn, s3.CfnBucket):
        name = stack_scoped_bucket_name(Stack.of(bucket))
        cfn.bucket_name = name
        bucket_arn = f"arn:{cdk_values.PARTITION}:s3:::{name}"
    else:
        bucket_arn = bucket.bucket_arn
    # S3 User Guide, "Granting permissions to publish event notification messages to a
    # destination": the SQS access policy example conditions on aws:SourceArn (the bucket)
    # and aws:SourceAccount (the bucket owner), which S3 sends with each delivery.
    policy = work.queue.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[s3_principal],
            actions=["sqs:SendMessage"],
            resources=[work.queue_arn],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket_arn},
                "StringEquals": {"aws:SourceAccount": cdk_values.ACCOUNT_ID},
            },
        )
    )
    # Same guide, encrypted queues: the key policy example for S3 has no condition, and
    # S3's KMS calls are not documented to carry aws:SourceArn, so none is added here.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[s3_principal],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],
        )
    )
    assert policy.policy_dependable is not None
    if isinstance(cfn, s3.CfnBucket):
        cfn.add_property_override(
            "NotificationConfiguration.QueueConfigurations",
            [
                {
                    "Event": "s3:ObjectCreated:*",
                    "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": prefix}]}},
                    "Queue": work.queue_arn,
                }
            ],
        )
        # S3 sends a test event when the configuration is put: the policy must exist first.
        bucket.node.add_dependency(policy.policy_dependable)
        return
    bucket.add_event_notification(
        s3.EventType.OBJECT_CREATED,
        _QueueDestination(work.queue, policy.policy_dependable),
        s3.NotificationKeyFilter(prefix=prefix),
    )
    quiet_bucket_notifications_handler(Stack.of(bucket))


def subscribe_topics(
    scope: Construct, topic_arns: list[str], work: WorkQueue, key: kms.IKey
) -> None:
    """Subscribe ``work``'s queue (encrypted with ``key``) to the topics of ``topic_arns`` with
    raw message delivery.

    What SNS cannot deliver after its retries goes to ``work``'s dead-letter queue (on the same
    key) instead of being dropped: alarmed and redriven like any other dead letter of that queue,
    its body is the notification.
    """
    sns_principal = cdk_values.service_principal("sns.amazonaws.com")
    # SNS Developer Guide, "Fanout Amazon SNS notifications to Amazon SQS queues", step "Give
    # permission to the Amazon SNS topic to send messages to the Amazon SQS queue": the queue
    # policy conditions on aws:SourceArn, the topic SNS delivers from. "Configuring an Amazon
    # SNS dead-letter queue for a subscription" asks the same of the dead-letter queue (same
    # account and region; an encrypted one needs the key policy below).
    policies = [
        target.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[sns_principal],
                actions=["sqs:SendMessage"],
                resources=[target_arn],
                conditions={"ArnEquals": {"aws:SourceArn": topic_arns}},
            )
        )
        for target, target_arn in (
            (work.queue, work.queue_arn),
            (work.dead_letter_queue, work.dead_letter_queue_arn),
        )
    ]
    # SQS Developer Guide, "Access management for encrypted Amazon SQS queues with least
    # privilege policies" (SNS fanning out to an encrypted queue): the key policy lets
    # sns.amazonaws.com call GenerateDataKey and Decrypt for the given topic only, with
    # aws:SourceArn against the confused deputy. aws-cdk-lib's SqsSubscription writes the same
    # condition under the @aws-cdk/aws-sns-subscriptions:restrictSqsDescryption flag that
    # cdk.json turns on (deployed in its integration test).
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[sns_principal],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],
            conditions={"ArnEquals": {"aws:SourceArn": topic_arns}},
        )
    )
    dependables = [p.policy_dependable for p in policies if p.policy_dependable is not None]
    for index, topic_arn in enumerate(topic_arns):
        subscription = sns.CfnSubscription(
            scope,
            f"Subscription{index}",
            topic_arn=topic_arn,
            endpoint=work.queue_arn,
            protocol="sqs",
            # The body is SageMaker's notification JSON itself, not an SNS envelope.
            raw_message_delivery=True,
            # SNS retries an SQS endpoint for days, then sends here instead of dropping it.
            redrive_policy={"deadLetterTargetArn": work.dead_letter_queue_arn},
        )
        subscription.node.add_dependency(*dependables)


def grant_send(work: WorkQueue, key: kms.IKey, grantee: iam.IGrantable) -> iam.Grant:
    """``sqs:SendMessage`` on ``work``'s queue and the two KMS calls sending to an SSE-KMS queue
    needs."""
    # Exact actions: Queue.grant_send_messages adds GetQueueAttributes/GetQueueUrl and a
    # "kms:GenerateDataKey*" wildcard; sending to an SSE-KMS queue needs these two KMS calls.
    grant = iam.Grant.add_to_principal(
        grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[work.queue_arn]
    )
    return grant.combine(key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt"))
