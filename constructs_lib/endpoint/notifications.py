"""Encrypted SNS topics for asynchronous inference success and error notifications."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import raise_if_problems
from constructs_lib.endpoint.emails import EMAIL_PATTERN, email_problems
from constructs_lib.endpoint.keys import customer_key

__all__ = ["EMAIL_PATTERN", "AsyncNotifications", "EncryptedTopic", "email_problems"]


class EncryptedTopic(Construct):
    """An SNS topic encrypted with a customer-managed key, refusing publishes without TLS.

    The AWS-managed ``alias/aws/sns`` key cannot be granted to other principals, so SageMaker or
    CloudWatch could not publish to it: the key here is the topic's own. ``grant_publish`` also
    grants the key; ``allow_service_publish`` opens the key to a service principal.

    Args:
        display_name: the topic's display name (also in its key's description).
        key: the customer-managed key to encrypt with. Default: ``None`` (a new key).
        emails: addresses subscribed to the topic; each must confirm. Default: ``()``.
        removal_policy: for the key the topic creates (none when ``key`` is given). Default:
            ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str,
        key: kms.IKey | None = None,
        emails: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        raise_if_problems(f"EncryptedTopic {construct_id}", email_problems("emails", emails))
        self.key = key or customer_key(
            self,
            "Key",
            description=f"Encrypts the {display_name} SNS topic",
            removal_policy=removal_policy,
        )
        self.topic = sns.Topic(
            self, "Topic", display_name=display_name, master_key=self.key, enforce_ssl=True
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Publish to the topic, including the key use that encryption needs."""
        # Exact KMS actions: Topic.grant_publish would add "kms:GenerateDataKey*".
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Publish"], resource_arns=[self.topic.topic_arn]
        )
        return grant.combine(self.key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt"))

    def allow_service_publish(self, service: str, *, source_arn: str | None = None) -> None:
        """Let an AWS service (e.g. ``cloudwatch.amazonaws.com``) publish via its own principal.

        With ``source_arn`` (an ARN pattern of the resources that publish, e.g. this account's
        alarms) both the topic policy and the key policy only admit requests made on behalf of
        those resources in this account (``aws:SourceArn`` + ``aws:SourceAccount``), so another
        account's resource cannot use the service as a confused deputy. Pass it only for services
        that AWS documents to send those keys to SNS *and* KMS: a condition the request does not
        carry silently drops every message (EventBridge, for one, does not send them to KMS).
        """
        service_principal = cdk_values.service_principal(service)
        principal: iam.IPrincipal = service_principal
        if source_arn is not None:
            principal = service_principal.with_conditions(
                {
                    "ArnLike": {"aws:SourceArn": source_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                }
            )
        self.key.grant(principal, "kms:Decrypt", "kms:GenerateDataKey")
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"], principals=[principal], resources=[self.topic.topic_arn]
            )
        )


class AsyncNotifications(Construct):
    """Success and error topics for an async endpoint, sharing one customer-managed key.

    Both topics are created, TLS-only, unless you bring your own: then nothing is created.

    Args:
        emails: addresses subscribed to both topics; each must confirm. Default: ``()``.
        removal_policy: for a key created here. Default: ``RemovalPolicy.RETAIN``.
        key: the customer-managed key of the topics, e.g. an organization-wide key, or of the
            brought topics, so that grants include it. Default: ``None`` (a new key for created
            topics; none for brought ones).
        existing_success_topic: your success topic; give both topics or neither. Default:
            ``None`` (created).
        existing_error_topic: your error topic. Default: ``None`` (created).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        emails: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        key: kms.IKey | None = None,
        existing_success_topic: sns.ITopic | None = None,
        existing_error_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = email_problems("emails", emails)
        bring_your_own = existing_success_topic is not None or existing_error_topic is not None
        if bring_your_own and (existing_success_topic is None or existing_error_topic is None):
            problems.append(
                "existing_success_topic / existing_error_topic: give both topics or neither"
            )
        raise_if_problems("AsyncNotifications", problems)
        # Kept so an endpoint can refuse to embed results in messages that go out as e-mail.
        self.emails: tuple[str, ...] = tuple(emails)
        # Asked for by grants, subscriptions, the endpoint and outputs: fetched once (jsii).
        self._topic_arns: tuple[str, str] | None = None

        self.success: EncryptedTopic | None = None
        self.error: EncryptedTopic | None = None
        if existing_success_topic is not None and existing_error_topic is not None:
            self.key: kms.IKey | None = key
            self._success_topic = existing_success_topic
            self._error_topic = existing_error_topic
            for email in emails:
                for topic in (existing_success_topic, existing_error_topic):
                    topic.add_subscription(subscriptions.EmailSubscription(email))
            return
        self.key = key or customer_key(
            self,
            "Key",
            description="Encrypts the async inference success and error topics",
            removal_policy=removal_policy,
        )
        self.success = EncryptedTopic(
            self, "Success", display_name="Summaries ready", key=self.key, emails=emails
        )
        self.error = EncryptedTopic(
            self, "Error", display_name="Summaries failed", key=self.key, emails=emails
        )
        self._success_topic = self.success.topic
        self._error_topic = self.error.topic

    @property
    def success_topic(self) -> sns.ITopic:
        return self._success_topic

    @property
    def error_topic(self) -> sns.ITopic:
        return self._error_topic

    @property
    def topic_arns(self) -> list[str]:
        """The success and error topics' ARNs (tokens until deploy for created topics)."""
        if self._topic_arns is None:
            self._topic_arns = (self._success_topic.topic_arn, self._error_topic.topic_arn)
        return list(self._topic_arns)

    @property
    def success_topic_arn(self) -> str:
        return self.topic_arns[0]

    @property
    def error_topic_arn(self) -> str:
        return self.topic_arns[1]

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Publish to both topics (what a SageMaker execution role needs), with the key."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Publish"], resource_arns=self.topic_arns
        )
        if self.key is None:
            return grant
        # Exact KMS actions: Topic.grant_publish would add "kms:GenerateDataKey*".
        return grant.combine(self.key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt"))

    def grant_subscribe(self, grantee: iam.IGrantable) -> iam.Grant:
        """Subscribe to both topics and decrypt their messages (e.g. an SQS consumer's role)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Subscribe"], resource_arns=self.topic_arns
        )
        if self.key is None:
            return grant
        return grant.combine(self.key.grant_decrypt(grantee))
