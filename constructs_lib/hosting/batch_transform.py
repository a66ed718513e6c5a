"""Batch transform for the summarizer: a Step Functions state machine around one transform job.

The job reads every object under an S3 prefix of JSON Lines files (one article per line), splits
them by line, sends mini-batches to the model container (``BatchStrategy`` ``MultiRecord``: as
many lines as fit in ``MaxPayloadInMB``; ``SingleRecord``: one line per request) and writes one
``<input>.out`` per input file, assembled by line, so output line *n* is the summary of input
line *n*. The handler already speaks ``application/jsonlines``.

The state machine waits for the job (``.sync``), publishes failures to an encrypted SNS topic
and fails; it runs on demand (``StartExecution``) and, with ``schedule``, from EventBridge
Scheduler. No instance runs between jobs.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnResource, RemovalPolicy, Size, Stack, TimeZone
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._nag import acknowledge
from constructs_lib._validation import raise_if_problems
from constructs_lib.endpoint.construct import LOCAL_STORAGE_FAMILIES
from constructs_lib.endpoint.notifications import EncryptedTopic
from constructs_lib.endpoint.storage import AsyncInferenceStorage
from constructs_lib.hosting._common import ModelLike
from constructs_lib.hosting.batch_settings import BatchTransformSettings
from constructs_lib.model import dlc_image
from constructs_lib.model.construct import uncompressed_model_problems

# The task's enum for each BatchStrategy setting.
STRATEGY_ENUMS = {
    "MultiRecord": tasks.BatchStrategy.MULTI_RECORD,
    "SingleRecord": tasks.BatchStrategy.SINGLE_RECORD,
}
JSONLINES = "application/jsonlines"
# The handler refuses requests with more articles than MAX_ARTICLES_PER_REQUEST (default 256); a
# MultiRecord mini-batch of short lines holds many more. MaxPayloadInMB already bounds a request,
# so the job lifts the count limit to the handler's ceiling.
JOB_ENVIRONMENT = {"MAX_ARTICLES_PER_REQUEST": "100000"}


class BatchTransform(Construct):
    """A state machine that runs a transform job of ``model`` over ``storage``'s articles.

    Results are encrypted with the storage key. Execution logs (level ALL) and the scheduler's
    dead-letter queue are encrypted with a key of their own; X-Ray tracing is on. The model's
    execution role may list and read the input prefix and write the output prefix; the state
    machine role may create, describe and stop transform jobs and pass that one role.

    Args:
        model: the model to run (a ``model.tar.gz`` one: batch transform cannot load
            uncompressed model data).
        storage: the bucket and key of the articles and results.
        settings: the job's shape and schedule. Default: ``None``
            (``BatchTransformSettings()``: one ``ml.g5.xlarge``, ``MultiRecord``, on demand
            only).
        input_prefix: where the job reads; under the storage's input prefix, whose grants and
            expiry it shares. Default: ``None`` (``<storage input prefix>batch/``).
        output_prefix: where results go; under the storage's results prefix. Default: ``None``
            (``<storage results prefix>batch/``).
        failure_topic: receives a message when a job fails or times out. Default: ``None`` (a
            new ``EncryptedTopic`` with ``emails``).
        emails: subscribed to the topic made here. Default: ``()``.
        removal_policy: for the keys, logs and topic made here. Default:
            ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ModelLike,
        storage: AsyncInferenceStorage,
        settings: BatchTransformSettings | None = None,
        input_prefix: str | None = None,
        output_prefix: str | None = None,
        failure_topic: EncryptedTopic | None = None,
        emails: tuple[str, ...] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or BatchTransformSettings()
        input_prefix = input_prefix or f"{storage.input_prefix}batch/"
        output_prefix = output_prefix or f"{storage.output_prefix}batch/"
        problems = settings.problems()
        for name, prefix, parent in (
            ("input_prefix", input_prefix, storage.input_prefix),
            ("output_prefix", output_prefix, storage.output_prefix),
        ):
            if not prefix.startswith(parent) or not prefix.endswith("/"):
                problems.append(
                    f"{name}: must end with '/' and start with the storage prefix {parent!r} "
                    f"(got {prefix!r})"
                )
        problems += uncompressed_model_problems(model, "batch transform jobs")
        raise_if_problems("BatchTransform", problems)
        self.settings = settings
        self.input_prefix = input_prefix
        self.output_prefix = output_prefix
        self.input_uri = storage.s3_uri(input_prefix)
        self.output_uri = storage.s3_uri(output_prefix)

        role = model.role
        storage.grant_read_inputs(role)
        storage.grant_write_outputs(role)
        # An S3Prefix data source lists the prefix to find its objects.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:ListBucket"],
            resource_arns=[storage.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{input_prefix}*"]}},
        )

        self._grant_job_logs(role)

        self.failure_topic = failure_topic or EncryptedTopic(
            self,
            "Failures",
            display_name="Batch summaries failed",
            emails=emails,
            removal_policy=removal_policy,
        )
        self.ops_key = kms.Key(
            self,
            "OpsKey",
            description="Encrypts the batch transform's execution logs and dead letters",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=cdk_values.days(7) if removal_policy == RemovalPolicy.DESTROY else None,
        )
        self.ops_key.grant_encrypt_decrypt(
            iam.ServicePrincipal(f"logs.{Stack.of(self).region}.amazonaws.com")
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=self.ops_key,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=removal_policy,
        )

        uses_local_storage = (
            dlc_image.instance_family(settings.instance_type) in LOCAL_STORAGE_FAMILIES
        )
        self.transform = tasks.SageMakerCreateTransformJob(
            self,
            "Transform",
            transform_job_name=sfn.JsonPath.format("summaries-{}", sfn.JsonPath.uuid()),
            model_name=model.model_name,
            transform_input=tasks.TransformInput(
                transform_data_source=tasks.TransformDataSource(
                    s3_data_source=tasks.TransformS3DataSource(
                        s3_uri=self.input_uri, s3_data_type=tasks.S3DataType.S3_PREFIX
                    )
                ),
                content_type=JSONLINES,
                split_type=tasks.SplitType.LINE,
            ),
            transform_output=tasks.TransformOutput(
                s3_output_path=self.output_uri,
                accept=JSONLINES,
                assemble_with=tasks.AssembleWith.LINE,
                encryption_key=storage.key,
            ),
            transform_resources=tasks.TransformResources(
                instance_count=settings.instance_count,
                instance_type=ec2.InstanceType(settings.instance_type.removeprefix("ml.")),
                volume_encryption_key=None if uses_local_storage else storage.key,
            ),
            batch_strategy=STRATEGY_ENUMS[settings.batch_strategy],
            environment=JOB_ENVIRONMENT,
            max_payload=Size.mebibytes(settings.max_payload_mb),
            max_concurrent_transforms=settings.max_concurrent_transforms,
            model_client_options=tasks.ModelClientOptions(
                invocations_timeout=cdk_values.seconds(settings.invocation_timeout_seconds),
                invocations_max_retries=settings.invocation_max_retries,
            ),
            # Only passed to SageMaker (iam:PassRole); without it the task would create a role
            # with AmazonSageMakerFullAccess.
            role=role,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            task_timeout=sfn.Timeout.duration(cdk_values.minutes(settings.job_timeout_minutes)),
            result_path="$.transform",
        )
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=self.failure_topic.topic,
            subject="Batch summarization failed",
            message=sfn.TaskInput.from_object(
                {
                    "execution": sfn.JsonPath.execution_id,
                    "error": sfn.JsonPath.string_at("$.failure.Error"),
                    "cause": sfn.JsonPath.string_at("$.failure.Cause"),
                    "input": self.input_uri,
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        failed = sfn.Fail(self, "Failed", error="BatchTransformFailed")
        self.transform.add_catch(
            notify.next(failed), errors=[sfn.Errors.ALL], result_path="$.failure"
        )
        definition = self.transform.next(sfn.Succeed(self, "Done"))
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL),
            tracing_enabled=True,
            timeout=cdk_values.minutes(settings.job_timeout_minutes + 15),
        )
        self.failure_topic.grant_publish(self.state_machine)
        # CDK makes the state machine both GetAtt its role and depend on it (cfn-lint W3005).
        cfn_state_machine = self.state_machine.node.default_child
        assert isinstance(cfn_state_machine, CfnResource)
        cfn_state_machine.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        if not uses_local_storage:
            storage.key.grant(self.state_machine, "kms:CreateGrant")
        self._acknowledge_generated_wildcards()

        self.schedule: scheduler.Schedule | None = None
        if settings.schedule is not None:
            self._add_schedule(settings)

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """``states:StartExecution`` of this state machine: run a job on demand."""
        return self.state_machine.grant_start_execution(grantee)

    def _add_schedule(self, settings: BatchTransformSettings) -> None:
        self.dead_letters = sqs.Queue(
            self,
            "ScheduleDeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.ops_key,
            enforce_ssl=True,
            retention_period=cdk_values.days(14),
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the schedule's target.",
        )
        target = scheduler_targets.StepFunctionsStartExecution(
            self.state_machine,
            dead_letter_queue=self.dead_letters,
            retry_attempts=2,
        )
        assert settings.schedule is not None
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.expression(
                settings.schedule, time_zone=TimeZone.of(settings.schedule_timezone)
            ),
            target=target,
            description="Runs the batch summarization state machine",
        )
        # The scheduler role writes dead letters encrypted with the ops key.
        self.ops_key.grant(iam.ServicePrincipal("scheduler.amazonaws.com"), "kms:GenerateDataKey")

    def _grant_job_logs(self, role: iam.IRole) -> None:
        # Transform jobs log to /aws/sagemaker/TransformJobs, not to the endpoint log groups a
        # HuggingFaceModel's role may write.
        log_group = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/TransformJobs",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resource_arns=[log_group, f"{log_group}:log-stream:*"],
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:/aws/sagemaker/TransformJobs:log-stream:*]",
            "Transform jobs name their log streams after the generated job name and instance; "
            "the grant is scoped to the one transform job log group.",
        )

    def _acknowledge_generated_wildcards(self) -> None:
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (PutTraceSegments, PutTelemetryRecords, GetSampling*) and the "
            "Logs delivery actions of Step Functions support no resource-level permissions.",
        )
        stack = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>"
        acknowledge(
            self.state_machine,
            f"AwsSolutions-IAM5[Resource::{stack}:transform-job/*]",
            "Each run names its transform job with a fresh UUID; the grant covers transform "
            "jobs only (create, describe, stop).",
        )
        events = "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>"
        acknowledge(
            self.state_machine,
            f"AwsSolutions-IAM5[Resource::{events}:rule/"
            "StepFunctionsGetEventsForSageMakerTransformJobsRule]",
            "The .sync integration's managed rule for transform job events (fixed name).",
        )
