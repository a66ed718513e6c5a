"""The delivery pipeline: test, deploy each environment, prove it with a smoke test, promote.

CDK Pipelines (``aws_cdk.pipelines.CodePipeline``, self-mutating). Stages: Source -> Build (the
repository's own ``make test``, then ``make synth``) -> UpdatePipeline -> Assets -> one stage per
configured environment (an optional manual approval, the deployment of the very same
``SummarizationStack`` a workstation deploys, then the smoke test). Built only when the
configuration has a ``pipeline`` section (see stacks/pipeline_config.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib._nag import acknowledge, arn_placeholder
from constructs_lib.endpoint.keys import customer_key
from constructs_lib.endpoint.notifications import EncryptedTopic
from constructs_lib.endpoint.storage import access_log_bucket, private_kms_bucket
from constructs_lib.guardrails.aspects import apply_guardrail_settings
from stacks.smoke_outputs import OUTPUT_ENV

from .config import AppConfig
from .pipeline_config import PipelineSettings, PipelineStageSettings, StageModelSettings
from .pipeline_stage import StackFactory, SummarizerStage, role_arn

# Pinned: a curated image and its runtimes. Python 3.11 is the version the README asks for. Node
# 24 (active LTS until 2028-04-30) rather than 20, past its end of life on 2026-04-30: the
# image's runtimes are 18, 20, 22 and 24 (CodeBuild "Available runtimes",
# https://docs.aws.amazon.com/codebuild/latest/userguide/available-runtimes.html), and jsii 1.142
# supports 22 and 24. A workstation may stay on Node 20: nothing here needs a newer one.
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIME_VERSIONS = {"python": "3.11", "nodejs": "24"}
PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"


def pinned_tool(name: str) -> str:
    """The exact version of ``name`` that package.json pins, the one place tools are pinned.

    The pipeline installs the same CDK CLI for self-mutation (aws-cdk@latest, 3.x, cannot read
    aws-cdk-lib 2.275's cloud assembly) and the same cdk-assets for the asset steps (CDK
    Pipelines' default is cdk-assets@latest, whatever npm serves that day).
    """
    pins: dict[str, str] = json.loads(PACKAGE_JSON.read_text())["devDependencies"]
    version = pins[name]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(
            f"package.json: {name} must be pinned to an exact version (got {version!r})"
        )
    return version


CDK_CLI_VERSION = pinned_tool("aws-cdk")
CDK_ASSETS_VERSION = pinned_tool("cdk-assets")
# The Makefile installs the Python packages with uv from the lockfiles, torch's CPU build from
# PyTorch's index included: the build needs no index settings of its own. uv's cache stays out
# of the S3 cache: it holds the unpacked wheels (2.2 GB for the three virtualenvs), and uv's
# documentation finds re-downloading pre-built wheels often faster in CI than restoring them
# (`uv cache prune --ci`, https://docs.astral.sh/uv/concepts/cache/#caching-in-continuous-integration).
CACHE_PATHS = ["/root/.npm/**/*"]
FAILURE_EVENTS = [
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
]
# Beyond the smoke test's own budget: installing the client's dependencies.
SMOKE_STEP_MARGIN_MINUTES = 15


class PipelineStack(Stack):
    """The self-mutating delivery pipeline of the summarizer.

    ``environments`` maps every configured environment to its AppConfig; ``settings.stages``
    picks and orders them. ``kwargs`` go to ``Stack``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        environments: Mapping[str, AppConfig],
        stack_factory: StackFactory,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("description", "Delivery pipeline of the PEGASUS summarizer")
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        # Every role CDK Pipelines makes here (pipeline, CodeBuild projects, action roles,
        # self-mutation, asset publishing, event rules) and the smoke runners. Aspects do not
        # cross into the stages: each environment's stack carries its own guardrails.
        apply_guardrail_settings(self, settings.guardrails)
        self.stack_factory = stack_factory
        self.artifact_bucket = self._artifact_bucket()
        self.log_group = logs.LogGroup(
            self,
            "BuildLogs",
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The L2 takes an enum of names; the configuration speaks in days (validated there).
        log_group_resource = self.log_group.node.default_child
        assert isinstance(log_group_resource, logs.CfnLogGroup)
        log_group_resource.retention_in_days = settings.log_retention_days
        self.source = self._source()
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=settings.pipeline_name,
            synth=self._build_step(),
            artifact_bucket=self.artifact_bucket,
            cross_account_keys=settings.cross_account(environments),
            self_mutation=True,
            cli_version=CDK_CLI_VERSION,
            cdk_assets_cli_version=CDK_ASSETS_VERSION,
            docker_enabled_for_synth=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.MEDIUM
                ),
                cache=codebuild.Cache.bucket(self.artifact_bucket, prefix="codebuild-cache"),
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)
                ),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {
                        "phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}},
                        "cache": {"paths": CACHE_PATHS},
                    }
                ),
            ),
        )
        self.stages: list[SummarizerStage] = []
        self.smoke_runners: list[iam.Role] = []
        for index, stage in enumerate(settings.stages):
            self._add_environment(stage, environments, first=index == 0)
        self.pipeline.build_pipeline()
        self.topic = self._notify_failures()
        self._acknowledge_pipeline_grants()
        self._tidy_pipeline_template()

    # --- pieces ----------------------------------------------------------------------------------

    def _artifact_bucket(self) -> s3.Bucket:
        access_logs = access_log_bucket(self, "AccessLogs", expiration_days=365)
        # The library's key factory: rotated, and grants only for AWS resources (CT.KMS.PR.3).
        self.artifact_key = customer_key(
            self,
            "ArtifactKey",
            description="Encrypts the delivery pipeline's artifacts and build caches",
            removal_policy=RemovalPolicy.RETAIN,
        )
        return private_kms_bucket(
            self,
            "Artifacts",
            key=self.artifact_key,
            access_logs=access_logs,
            access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    # Artifacts matter only while an execution runs or is retried.
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(7),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _source(self) -> pipelines.CodePipelineSource:
        settings = self.settings
        if settings.connection_arn is not None and settings.repository is not None:
            return pipelines.CodePipelineSource.connection(
                settings.repository,
                settings.branch,
                connection_arn=settings.connection_arn,
                trigger_on_push=settings.trigger_on_push,
            )
        assert settings.source_bucket is not None and settings.source_key is not None
        bucket = s3.Bucket.from_bucket_name(self, "SourceBucket", settings.source_bucket)
        return pipelines.CodePipelineSource.s3(bucket, settings.source_key)

    def _build_step(self) -> pipelines.CodeBuildStep:
        synth = "make synth"
        if self.settings.config_file is not None:
            synth += f" PIPELINE={self.settings.config_file}"
        return pipelines.CodeBuildStep(
            "Build",
            input=self.source,
            # The gates of `make test` first: a failing test stops the release before synthesis.
            commands=["make test", synth],
            primary_output_directory="cdk.out",
            timeout=Duration.minutes(90),
        )

    def _add_environment(
        self,
        stage: PipelineStageSettings,
        environments: Mapping[str, AppConfig],
        *,
        first: bool,
    ) -> None:
        settings = self.settings
        config = environments[stage.environment]
        runner = iam.Role(
            self,
            f"SmokeRunner-{stage.environment}",
            role_name=settings.smoke_runner_role_name(stage.environment),
            path=settings.guardrails.role_path,
            description=f"Runs the smoke test of {config.stack_name}",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
        )
        account = settings.stage_account(stage, environments)
        region = settings.stage_region(stage, environments)
        deployed = SummarizerStage(
            self,
            stage.environment,
            config=config,
            stack_factory=self.stack_factory,
            settings=settings,
            env=cdk.Environment(account=account, region=region),
        )
        self.stages.append(deployed)
        self.smoke_runners.append(runner)
        # The role the stage creates, under that environment's guardrails (path and prefix).
        smoke_role_arn = role_arn(
            self.partition,
            account or self.account,
            config.guardrails.role_path,
            settings.smoke_role_name(stage.environment, config.guardrails.role_name_prefix),
        )
        runner.add_to_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[smoke_role_arn])
        )
        args = ["--outputs-from-environment", '--role-arn "$SMOKE_ROLE_ARN"']
        args.append(f"--timeout-minutes {settings.smoke_timeout_minutes}")
        if region is not None:
            args.append(f"--region {region}")
        if not deployed.smoke_access.checks_notifications:
            # The stack has no jobs table to prove notifications with (data path not deployed).
            args.append("--no-notification-check")
            cdk.Annotations.of(deployed.stack).add_warning_v2(
                "pegasus:smoke-without-notifications",
                f"{config.stack_name} has no JobsTableName output: its smoke test checks the "
                "S3 round trips only, not the notifications",
            )
        smoke = pipelines.CodeBuildStep(
            "SmokeTest",
            input=self.source,
            commands=[f"make smoke ENV={stage.environment} SMOKE_ARGS='{' '.join(args)}'"],
            env={"SMOKE_ROLE_ARN": smoke_role_arn},
            env_from_cfn_outputs={
                OUTPUT_ENV[key]: output for key, output in deployed.outputs.items()
            },
            role=runner,
            timeout=Duration.minutes(settings.smoke_timeout_minutes + SMOKE_STEP_MARGIN_MINUTES),
        )
        pre: list[pipelines.Step] = []
        if first and settings.stage_model is not None:
            pre.append(self._stage_model_step(settings.stage_model))
        if stage.approval:
            pre.append(
                pipelines.ManualApprovalStep(
                    "Approve",
                    comment=f"Deploy {config.stack_name}? The previous environments passed "
                    "their smoke tests.",
                )
            )
        self.pipeline.add_stage(deployed, pre=pre, post=[smoke])

    def _stage_model_step(self, staging: StageModelSettings) -> pipelines.CodeBuildStep:
        """``make stage-model`` (scripts/stage_model.py): the pinned checkpoint into S3."""
        bucket, _, prefix = staging.target_uri.removeprefix("s3://").partition("/")
        objects = f"arn:{self.partition}:s3:::{bucket}/{prefix}*"
        shown = "<AWS::Partition>" if cdk.Token.is_unresolved(self.partition) else self.partition
        acknowledge(
            self,
            f"AwsSolutions-IAM5[Resource::arn:{shown}:s3:::{bucket}/{prefix}*]",
            "The staging command names the archive per model revision; it may write only under "
            "the configured stage_model.target_uri prefix.",
        )
        command = (
            f"make stage-model MODEL_ID={staging.model_id} MODEL_REVISION={staging.revision} "
            f"BUCKET={bucket} PREFIX={prefix} KMS_KEY={staging.kms_key_arn}"
        )
        return pipelines.CodeBuildStep(
            "StageModel",
            input=self.source,
            commands=[command],
            role_policy_statements=[
                iam.PolicyStatement(
                    # Multipart upload for a multi-GB archive, and a read to check it.
                    actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[objects],
                ),
                iam.PolicyStatement(
                    actions=["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[staging.kms_key_arn],
                ),
            ],
            timeout=Duration.minutes(60),
        )

    def _acknowledge_pipeline_grants(self) -> None:
        """The wildcards CDK Pipelines writes into its own roles, each named and argued."""
        artifacts = arn_placeholder(self.artifact_bucket)
        generated: dict[str, str] = {
            "AwsSolutions-IAM5[Action::s3:Abort*]": "artifact bucket only",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "artifact bucket only",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]": "artifact bucket only",
            "AwsSolutions-IAM5[Action::s3:GetObject*]": "artifact bucket only",
            "AwsSolutions-IAM5[Action::s3:List*]": "artifact bucket only",
            f"AwsSolutions-IAM5[Resource::{artifacts}/*]": "objects are named per execution",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "artifact key only",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "artifact key only",
        }
        for finding, why in generated.items():
            for scope in [self.pipeline, *self.smoke_runners]:
                acknowledge(
                    scope,
                    finding,
                    "CDK Pipelines grants each action role read/write on its artifact bucket and "
                    f"key with these action groups (Bucket.grant_read_write): {why}.",
                )

        # cdk-nag prints pseudo parameters as <AWS::...> and a pinned environment literally.
        def shown(value: str, pseudo: str) -> str:
            return f"<AWS::{pseudo}>" if cdk.Token.is_unresolved(value) else value

        partition = shown(self.partition, "Partition")
        region, account = shown(self.region, "Region"), shown(self.account, "AccountId")
        logs_arn = f"arn:{partition}:logs:{region}:{account}"
        reports_arn = f"arn:{partition}:codebuild:{region}:{account}"
        for project in self.node.find_all():
            if not isinstance(project, codebuild.CfnProject):
                continue
            name = f"<{self.resolve(project.logical_id)}>"
            acknowledge(
                self,
                f"AwsSolutions-IAM5[Resource::{logs_arn}:log-group:/aws/codebuild/{name}:*]",
                "CodeBuild's default log group of this one project (its streams are per build).",
            )
            acknowledge(
                self,
                f"AwsSolutions-IAM5[Resource::{reports_arn}:report-group/{name}-*]",
                "CodeBuild report groups of this one project (named per report).",
            )
        for finding, why in {
            f"AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]": (
                "Self-mutation assumes only the CDK bootstrap roles (a condition on their "
                "aws-cdk:bootstrap-role tag), whose names depend on the bootstrap qualifier."
            ),
            "AwsSolutions-IAM5[Resource::*]": (
                "CDK Pipelines: self-mutation reads any stack's status (DescribeStacks) and the "
                "asset buckets' listings; asset publishing starts and polls its own builds."
            ),
            f"AwsSolutions-IAM5[Resource::{logs_arn}:log-group:/aws/codebuild/*]": (
                "CDK Pipelines' shared asset-publishing role serves every asset project."
            ),
            f"AwsSolutions-IAM5[Resource::{reports_arn}:report-group/*]": (
                "CDK Pipelines' shared asset-publishing role serves every asset project."
            ),
        }.items():
            acknowledge(self.pipeline, finding, why)

    def _tidy_pipeline_template(self) -> None:
        """Two spellings of CDK Pipelines' output that cfn-lint refuses, rewritten equivalently.

        The CloudFormation actions' ``RoleArn`` of an environment-agnostic stage is a
        ``Fn::Join`` with an empty delimiter (cfn-lint E3703 wants ``Fn::Sub``), and the pipeline
        depends on its role explicitly besides reading its ARN (W3005).
        """
        cfn = self.pipeline.pipeline.node.default_child
        assert isinstance(cfn, codepipeline.CfnPipeline)
        stages = self.resolve(cfn.stages)
        for i, stage in enumerate(stages):
            for j, action in enumerate(stage.get("actions", [])):
                role_arn = action.get("configuration", {}).get("RoleArn")
                if isinstance(role_arn, dict) and "Fn::Join" in role_arn:
                    cfn.add_property_override(
                        f"Stages.{i}.Actions.{j}.Configuration.RoleArn", _join_to_sub(role_arn)
                    )
        role = self.pipeline.pipeline.role
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            policy_resource = policy.node.default_child
            assert isinstance(policy_resource, cdk.CfnElement)
            cfn.add_override("DependsOn", [self.resolve(policy_resource.logical_id)])

    def _notify_failures(self) -> sns.ITopic:
        settings = self.settings
        if settings.notification_topic_arn is not None:
            topic = sns.Topic.from_topic_arn(
                self, "NotificationTopic", settings.notification_topic_arn
            )
        else:
            own = EncryptedTopic(
                self,
                "Notifications",
                display_name="Pipeline failures",
                emails=settings.notification_emails,
            )
            own.allow_service_publish("codestar-notifications.amazonaws.com")
            topic = own.topic
        notifications.NotificationRule(
            self,
            "FailureNotifications",
            source=self.pipeline.pipeline,
            events=FAILURE_EVENTS,
            targets=[topic],
            detail_type=notifications.DetailType.FULL,
        )
        return topic


def _join_to_sub(join: dict[str, Any]) -> dict[str, Any] | Any:
    """``{"Fn::Join": ["", parts]}`` as the equivalent ``{"Fn::Sub": ...}``, when it can be."""
    delimiter, parts = join["Fn::Join"]
    text = []
    for part in parts:
        if isinstance(part, str):
            text.append(part.replace("${", "${!"))
        elif isinstance(part, dict) and set(part) == {"Ref"}:
            text.append(f"${{{part['Ref']}}}")
        elif isinstance(part, dict) and set(part) == {"Fn::GetAtt"}:
            text.append(f"${{{'.'.join(part['Fn::GetAtt'])}}}")
        else:
            return join
    if delimiter != "":
        return join
    return {"Fn::Sub": "".join(text)}
