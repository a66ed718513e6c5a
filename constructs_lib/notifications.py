"""Encrypted SNS topics for asynchronous inference success and error notifications."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ._validation import raise_if_problems
from .emails import EMAIL_PATTERN, email_problems

__all__ = ["EMAIL_PATTERN", "AsyncNotifications", "EncryptedTopic", "email_problems"]


class EncryptedTopic(Construct):
    """An SNS topic encrypted with a customer-managed key, refusing publishes without TLS.

    The AWS-managed ``alias/aws/sns`` key cannot be granted to other principals, so SageMaker or
    CloudWatch could not publish to it: the key here is the topic's own. ``grant_publish`` also
    grants the key; ``allow_service_publish`` opens the key to a service principal.
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
        self.key = key or kms.Key(
            self,
            "Key",
            description=f"Encrypts the {display_name} SNS topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7) if removal_policy == RemovalPolicy.DESTROY else None,
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

    def allow_service_publish(self, service: str) -> None:
        """Let an AWS service (e.g. ``cloudwatch.amazonaws.com``) publish via its own principal."""
        principal = iam.ServicePrincipal(service)
        self.key.grant(principal, "kms:Decrypt", "kms:GenerateDataKey")
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"], principals=[principal], resources=[self.topic.topic_arn]
            )
        )


class AsyncNotifications(Construct):
    """Success and error topics for an async endpoint, sharing one customer-managed key.

    Optional e-mail subscriptions are added to both topics (each address must confirm).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        emails: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        raise_if_problems("AsyncNotifications", email_problems("emails", emails))
        # Kept so an endpoint can refuse to embed results in messages that go out as e-mail.
        self.emails: tuple[str, ...] = tuple(emails)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the async inference success and error topics",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7) if removal_policy == RemovalPolicy.DESTROY else None,
        )
        self.success = EncryptedTopic(
            self, "Success", display_name="Summaries ready", key=self.key, emails=emails
        )
        self.error = EncryptedTopic(
            self, "Error", display_name="Summaries failed", key=self.key, emails=emails
        )

    @property
    def success_topic(self) -> sns.ITopic:
        return self.success.topic

    @property
    def error_topic(self) -> sns.ITopic:
        return self.error.topic

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Publish to both topics (what a SageMaker execution role needs)."""
        return self.success.grant_publish(grantee).combine(self.error.grant_publish(grantee))

    def grant_subscribe(self, grantee: iam.IGrantable) -> iam.Grant:
        """Subscribe to both topics and decrypt their messages (e.g. an SQS consumer's role)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sns:Subscribe"],
            resource_arns=[self.success_topic.topic_arn, self.error_topic.topic_arn],
        )
        return grant.combine(self.key.grant_decrypt(grantee))
