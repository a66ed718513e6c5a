"""Batch transform: the state machine, the job's JSON Lines shape, schedule, failures, IAM."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated
from tests.test_hosting_multi_model import policy_statements
from tests.test_hosting_realtime import hf_model


def definition_of(state_machine: dict[str, Any]) -> dict[str, Any]:
    """The state machine's definition, with every token replaced by ``<token>``."""
    body = state_machine["Properties"]["DefinitionString"]
    if isinstance(body, dict):
        parts = body["Fn::Join"][1]
        body = "".join(p if isinstance(p, str) else "<token>" for p in parts)
    return dict(json.loads(body))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, code_dir: Path) -> Any:
    import aws_cdk as cdk

    from constructs_lib import AsyncInferenceStorage, AsyncNotifications
    from constructs_lib.hosting import BatchTransform, BatchTransformSettings

    outdir = tmp_path_factory.mktemp("batch")
    app = app_in(outdir)
    stack = cdk.Stack(app, "Batch")
    storage = AsyncInferenceStorage(stack, "Storage")
    notifications = AsyncNotifications(stack, "Notifications")
    model = hf_model(stack, "Model", code_dir, "ml.g5.xlarge")
    batch = BatchTransform(
        stack,
        "Batch",
        model=model,
        storage=storage,
        failure_topic=notifications.error,
        settings=BatchTransformSettings(
            max_payload_mb=20, max_concurrent_transforms=2, schedule="cron(0 2 * * ? *)"
        ),
    )
    resolve = stack.resolve
    gated = synth_gated(app, outdir)
    template = gated.template()
    ((_, state_machine),) = template.find_resources("AWS::StepFunctions::StateMachine").items()
    return SimpleNamespace(
        gated=gated,
        template=template,
        state_machine=state_machine,
        definition=definition_of(state_machine),
        batch=batch,
        model_role=policy_statements(stack, model.role),
        machine_role=policy_statements(stack, batch.state_machine.role),
        ids=SimpleNamespace(
            bucket=resolve(storage.bucket.node.default_child.logical_id),
            model_role=resolve(model.role.node.default_child.logical_id),
            machine=resolve(batch.state_machine.node.default_child.logical_id),
            topic=resolve(notifications.error.topic.node.default_child.logical_id),
        ),
    )


def test_gates_are_clean(built: Any) -> None:
    assert_gates_clean(built.gated)


def test_the_job_splits_json_lines_and_assembles_them_by_line(built: Any) -> None:
    task = built.definition["States"]["Transform"]
    assert task["Resource"].endswith(":states:::sagemaker:createTransformJob.sync")
    parameters = task["Parameters"]
    assert parameters["TransformInput"] == {
        "ContentType": "application/jsonlines",
        "SplitType": "Line",
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://<token>/inputs/batch/"}
        },
    }
    assert parameters["TransformOutput"] == {
        "S3OutputPath": "s3://<token>/results/batch/",
        "Accept": "application/jsonlines",
        "AssembleWith": "Line",
        "KmsKeyId": "<token>",
    }
    assert parameters["BatchStrategy"] == "MultiRecord"
    # A MultiRecord mini-batch may hold more than the handler's default 256 articles.
    assert parameters["Environment"] == {"MAX_ARTICLES_PER_REQUEST": "100000"}
    assert parameters["MaxPayloadInMB"] == 20
    assert parameters["MaxConcurrentTransforms"] == 2
    assert parameters["TransformResources"]["InstanceType"] == "ml.g5.xlarge"
    # g5 has local NVMe storage, which refuses a volume key.
    assert "VolumeKmsKeyId" not in parameters["TransformResources"]
    assert parameters["ModelClientConfig"] == {
        "InvocationsMaxRetries": 1,
        "InvocationsTimeoutInSeconds": 600,
    }
    # A fresh name per run: CreateTransformJob refuses a name used before.
    assert parameters["TransformJobName.$"] == "States.Format('summaries-{}', States.UUID())"


def test_failures_are_published_to_the_encrypted_topic_then_fail(built: Any) -> None:
    states = built.definition["States"]
    (catch,) = states["Transform"]["Catch"]
    assert catch == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.failure",
        "Next": "NotifyFailure",
    }
    notify = states["NotifyFailure"]
    assert notify["Resource"].endswith(":states:::sns:publish")
    assert notify["Parameters"]["Message"]["error.$"] == "$.failure.Error"
    assert notify["Next"] == "Failed"
    assert states["Failed"] == {"Type": "Fail", "Error": "BatchTransformFailed"}


def test_logs_and_tracing_are_on_with_a_customer_managed_key(built: Any) -> None:
    properties = built.state_machine["Properties"]
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    ((_, log_group),) = built.template.find_resources("AWS::Logs::LogGroup").items()
    assert "KmsKeyId" in log_group["Properties"]


def test_the_schedule_starts_the_state_machine_with_a_dead_letter_queue(built: Any) -> None:
    from aws_cdk.assertions import Match

    built.template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(0 2 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "Target": Match.object_like(
                {
                    "Arn": {"Ref": built.ids.machine},
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                    "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 2}),
                }
            ),
        },
    )
    built.template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})


def test_the_model_role_lists_only_the_input_prefix(built: Any) -> None:
    assert {
        "Action": "s3:ListBucket",
        "Condition": {"StringLike": {"s3:prefix": ["inputs/batch/*"]}},
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [built.ids.bucket, "Arn"]},
    } in built.model_role


def test_the_model_role_may_write_transform_job_logs(built: Any) -> None:
    def tail(resource: Any) -> str:
        return str(resource["Fn::Join"][1][-1]) if isinstance(resource, dict) else str(resource)

    (logs,) = [s for s in built.model_role if "logs:PutLogEvents" in s["Action"]]
    assert "logs:CreateLogStream" in logs["Action"]
    tails = {tail(r) for r in logs["Resource"]}
    assert {
        ":log-group:/aws/sagemaker/TransformJobs",
        ":log-group:/aws/sagemaker/TransformJobs:log-stream:*",
    } <= tails


def test_the_state_machine_passes_only_the_model_role_and_runs_transform_jobs(built: Any) -> None:
    actions = {
        action
        for statement in built.machine_role
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {"sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob"} <= actions
    assert not any(a.endswith(":*") or a == "*" for a in actions), actions
    (pass_role,) = [s for s in built.machine_role if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": [built.ids.model_role, "Arn"]}
    publish = [s for s in built.machine_role if s["Action"] == "sns:Publish"]
    assert {"Ref": built.ids.topic} in [s["Resource"] for s in publish]
    # No role with AmazonSageMakerFullAccess (the task's default when no role is passed).
    for role in built.template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        (
            {"max_payload_mb": 60, "max_concurrent_transforms": 2},
            ["max_concurrent_transforms: times max_payload_mb 60 must be at most 100 MB (got 2)"],
        ),
        (
            {"batch_strategy": "Everything"},
            ["batch_strategy: must be one of MultiRecord, SingleRecord (got 'Everything')"],
        ),
        ({"max_payload_mb": 101}, ["max_payload_mb: must be at most 100 (got 101)"]),
        (
            {"schedule": "cron(0 2 * * *)"},
            [
                "schedule: cron expressions need 6 space-separated fields: minutes hours "
                "day-of-month month day-of-week year (found 5) (got 'cron(0 2 * * *)')"
            ],
        ),
        ({"invocation_max_retries": 4}, ["invocation_max_retries: must be at most 3 (got 4)"]),
    ],
)
def test_bad_settings_are_refused_with_the_field_value_and_limit(
    settings: dict[str, Any], problems: list[str]
) -> None:
    from constructs_lib.hosting import BatchTransformSettings

    assert BatchTransformSettings(**settings).problems() == problems


def test_prefixes_outside_the_storage_prefixes_are_refused(code_dir: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib import AsyncInferenceStorage, ConfigurationError
    from constructs_lib.hosting import BatchTransform

    stack = cdk.Stack(cdk.App(), "Bad")
    storage = AsyncInferenceStorage(stack, "Storage")
    model = hf_model(stack, "Model", code_dir, "ml.g5.xlarge")
    with pytest.raises(ConfigurationError) as raised:
        BatchTransform(stack, "Batch", model=model, storage=storage, input_prefix="elsewhere/")
    assert raised.value.problems == (
        "input_prefix: must end with '/' and start with the storage prefix 'inputs/' "
        "(got 'elsewhere/')",
    )
