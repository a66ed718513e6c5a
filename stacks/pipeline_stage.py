"""A pipeline stage: one environment's SummarizationStack, plus the role its smoke test assumes.

Kept apart from the pipeline stack: this is what lands in an environment's account.
"""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib._nag import acknowledge, arn_placeholder
from constructs_lib.client.smoke_outputs import OUTPUT_ENV

from .config import AppConfig
from .pipeline_config import PipelineSettings
from .summarization_stack import SummarizationStack

# Where direct requests of the smoke test go (the contract's requests/ prefix).
REQUEST_PREFIX = "requests/"
SMOKE_PREFIX = f"{REQUEST_PREFIX}smoke/"

StackFactory = Callable[[Construct, AppConfig, cdk.Environment], SummarizationStack]


def role_arn(partition: str, account: str, path: str | None, name: str) -> str:
    """The ARN of role ``name`` under ``path`` (default ``/``) in ``account``.

    A role's ARN carries its path (``arn:aws:iam::123456789012:role/division/name``: IAM
    identifiers, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html),
    so a role placed under a guardrail path must be named with it, both where it is assumed and
    where ``aws:PrincipalArn`` is compared with it.
    """
    return f"arn:{partition}:iam::{account}:role{path or '/'}{name}"


class SmokeTestAccess(Construct):
    """The role the smoke test assumes in an environment: exactly what its round trips need.

    Added to the environment's SummarizationStack by the pipeline stage only (a workstation's
    stacks do not have it), because only this stack can name its endpoint, bucket, key and
    table exactly. Trusted by one principal: the pipeline's smoke runner role for this
    environment (``runner_role_name`` under ``runner_role_path`` in ``pipeline_account``,
    default: this stack's account). ``role_path`` places the role itself (the environment's
    ``guardrails.role_path``, which its guardrails would give it anyway).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stack: SummarizationStack,
        role_name: str,
        runner_role_name: str,
        pipeline_account: str | None,
        role_path: str | None = None,
        runner_role_path: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        storage = stack.storage
        # Built from names, not the runner's token: a stage cannot reference the pipeline stack.
        account = pipeline_account or cdk.Aws.ACCOUNT_ID
        runner_arn = role_arn(cdk.Aws.PARTITION, account, runner_role_path, runner_role_name)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            path=role_path,
            description="Assumed by the delivery pipeline's smoke test of this environment",
            assumed_by=iam.AccountPrincipal(account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": runner_arn}}
            ),
        )
        statements = [
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpointAsync"],
                resources=[stack.endpoint.endpoint_arn],
            ),
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[storage.bucket.arn_for_objects(f"{SMOKE_PREFIX}*")],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    storage.objects_arn(storage.output_prefix),
                    storage.objects_arn(storage.failure_prefix),
                ],
            ),
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[storage.key.key_arn]
            ),
        ]
        table = stack.node.try_find_child("JobsTableName")
        self.checks_notifications = isinstance(table, CfnOutput)
        if isinstance(table, CfnOutput):
            # The data path's jobs table (named by its stack output): the recorder's proof.
            statements.append(
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem"],
                    resources=[
                        Stack.of(self).format_arn(
                            service="dynamodb", resource="table", resource_name=table.value
                        )
                    ],
                )
            )
        policy = iam.Policy(self, "Policy", statements=statements, roles=[self.role])
        bucket = arn_placeholder(storage.bucket)
        for prefix in (SMOKE_PREFIX, storage.output_prefix, storage.failure_prefix):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{bucket}/{prefix}*]",
                f"The endpoint names each result object; the smoke test is limited to {prefix}.",
            )


class SummarizerStage(cdk.Stage):
    """One environment as the pipeline deploys it: the app's SummarizationStack, plus smoke access.

    ``stack_factory`` is how app.py builds the stack, so the pipeline deploys exactly what a
    workstation deploys (same class, construct ids and stack name).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        stack_factory: StackFactory,
        settings: PipelineSettings,
        env: cdk.Environment,
    ) -> None:
        super().__init__(scope, construct_id, env=env)
        self.stack = stack_factory(self, config, env)
        self.smoke_access = SmokeTestAccess(
            self.stack,
            "SmokeTestAccess",
            stack=self.stack,
            role_name=settings.smoke_role_name(config.name, config.guardrails.role_name_prefix),
            role_path=config.guardrails.role_path,
            runner_role_name=settings.smoke_runner_role_name(config.name),
            runner_role_path=settings.guardrails.role_path,
            pipeline_account=settings.account,
        )
        self.outputs = {
            key: child
            for key in OUTPUT_ENV
            if isinstance(child := self.stack.node.try_find_child(key), CfnOutput)
        }
