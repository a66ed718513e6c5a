"""The model, the async endpoint config, the execution role and what callers are granted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match

from tests.conftest import construct_app, endpoint_in, only


def statements(template: Any, policy: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def execution_role_policy(template: Any) -> tuple[str, dict[str, Any]]:
    _, model = only(template, "AWS::SageMaker::Model")
    role_id = model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    return only(template, "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})


def allowed(policy: dict[str, Any]) -> dict[str, list[Any]]:
    """Action -> resources it is allowed on, across the policy's statements."""
    result: dict[str, list[Any]] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        for action in actions:
            result.setdefault(action, []).extend(resources)
    return result


def bucket_objects(template: Any, prefix: str) -> dict[str, Any]:
    (bucket_id,) = [
        logical_id
        for logical_id, bucket in template.find_resources("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    ]
    return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{prefix}*"]]}


def test_model_runs_the_hugging_face_gpu_dlc_with_hub_model_and_async_limits(dev: Any) -> None:
    dev.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "Image": {
                    "Fn::Join": [
                        "",
                        Match.array_with(
                            [
                                "/huggingface-pytorch-inference:"
                                "2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04"
                            ]
                        ),
                    ]
                },
                "Environment": {
                    "HF_MODEL_ID": "google/pegasus-large",
                    "HF_TASK": "summarization",
                    "MMS_MAX_REQUEST_SIZE": "2000000000",
                    "MMS_MAX_RESPONSE_SIZE": "2000000000",
                    # Seconds: the variable without _SECONDS counts minutes in MMS 1.1.11.
                    "MMS_DEFAULT_RESPONSE_TIMEOUT_SECONDS": "900",
                    "MMS_DEFAULT_RESPONSE_TIMEOUT": Match.absent(),
                    # One worker per GPU is the server's own default on GPU instances.
                    "SAGEMAKER_MODEL_SERVER_WORKERS": Match.absent(),
                },
                "ModelDataUrl": {"Fn::Sub": Match.string_like_regexp(r"^s3://cdk-.*\.gz$")},
            }
        },
    )


def test_the_whole_async_inference_config(dev: Any) -> None:
    _, config = only(dev, "AWS::SageMaker::EndpointConfig")
    storage_key, _ = only(
        dev, "AWS::KMS::Key", {"Properties": {"Description": Match.string_like_regexp("inputs")}}
    )
    (bucket_id,) = [
        i
        for i, b in dev.find_resources("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in b["Properties"]
    ]
    topics = dev.find_resources("AWS::SNS::Topic")
    success = next(
        i for i, t in topics.items() if t["Properties"]["DisplayName"] == "Summaries ready"
    )
    error = next(
        i for i, t in topics.items() if t["Properties"]["DisplayName"] == "Summaries failed"
    )
    assert config["Properties"]["AsyncInferenceConfig"] == {
        # One request at a time per GPU worker: a second would only wait in the container.
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
        "OutputConfig": {
            "S3OutputPath": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/results/"]]},
            "S3FailurePath": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/failures/"]]},
            "KmsKeyId": {"Fn::GetAtt": [storage_key, "Arn"]},
            "NotificationConfig": {
                "SuccessTopic": {"Ref": success},
                "ErrorTopic": {"Ref": error},
                # Not embedded by default: results stay in the encrypted bucket (issue 8, #9).
            },
        },
    }


def test_production_variant_follows_the_configuration(dev: Any) -> None:
    model_id, _ = only(dev, "AWS::SageMaker::Model")
    dev.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
                    "InstanceType": "ml.g5.xlarge",
                    "InitialInstanceCount": 1,
                    "InitialVariantWeight": 1,
                    "ContainerStartupHealthCheckTimeoutInSeconds": 600,
                    "ModelDataDownloadTimeoutInSeconds": 600,
                }
            ],
            # ml.g5 has NVMe instance storage, which rejects a volume KMS key.
            "KmsKeyId": Match.absent(),
        },
    )


def test_endpoint_waits_for_the_execution_role_policy(dev: Any) -> None:
    policy_id, _ = execution_role_policy(dev)
    config_id, _ = only(dev, "AWS::SageMaker::EndpointConfig")
    _, endpoint = only(dev, "AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointConfigName"] == {
        "Fn::GetAtt": [config_id, "EndpointConfigName"]
    }
    assert policy_id in endpoint["DependsOn"]


def test_endpoint_updates_keep_the_scaled_instance_count(dev: Any) -> None:
    dev.has_resource_properties("AWS::SageMaker::Endpoint", {"RetainAllVariantProperties": True})


def test_model_waits_for_the_execution_role_policy(dev: Any) -> None:
    policy_id, _ = execution_role_policy(dev)
    _, model = only(dev, "AWS::SageMaker::Model")
    assert policy_id in model["DependsOn"]


def test_execution_role_reads_inputs_and_writes_results_and_failures(dev: Any) -> None:
    _, policy = execution_role_policy(dev)
    grants = allowed(policy)
    assert grants["s3:GetObject"].count(bucket_objects(dev, "inputs/")) == 1
    for action in ("s3:PutObject", "s3:AbortMultipartUpload"):
        assert bucket_objects(dev, "results/") in grants[action]
        assert bucket_objects(dev, "failures/") in grants[action]
        assert bucket_objects(dev, "inputs/") not in grants[action]


def test_execution_role_publishes_to_both_topics_and_uses_their_key(dev: Any) -> None:
    _, policy = execution_role_policy(dev)
    grants = allowed(policy)
    topics = dev.find_resources(
        "AWS::SNS::Topic", {"Properties": {"DisplayName": Match.string_like_regexp("^Summaries")}}
    )
    assert sorted(r["Ref"] for r in grants["sns:Publish"]) == sorted(topics)
    (topic_key,) = {t["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0] for t in topics.values()}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert {"Fn::GetAtt": [topic_key, "Arn"]} in grants[action]


def test_execution_role_uses_the_storage_key(dev: Any) -> None:
    _, policy = execution_role_policy(dev)
    grants = allowed(policy)
    (storage_key,) = [
        i
        for i, k in dev.find_resources("AWS::KMS::Key").items()
        if "inputs" in k["Properties"]["Description"]
    ]
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert {"Fn::GetAtt": [storage_key, "Arn"]} in grants[action]


def test_execution_role_has_no_service_wide_wildcards(dev: Any) -> None:
    _, policy = execution_role_policy(dev)
    grants = allowed(policy)
    assert not [a for a in grants if a.endswith(":*") or a == "*"]
    # "*" only where the API has no resource-level permissions.
    assert sorted(a for a, resources in grants.items() if "*" in resources) == [
        "cloudwatch:PutMetricData",
        "ecr:GetAuthorizationToken",
    ]
    (metrics,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "cloudwatch:PutMetricData"
    ]
    assert metrics["Condition"] == {
        # Only the namespace the hosting agent writes: customers cannot publish into AWS/*.
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}
    }


def test_execution_role_pulls_only_the_dlc_repository_and_reads_only_the_archive(dev: Any) -> None:
    _, policy = execution_role_policy(dev)
    grants = allowed(policy)
    (repository,) = grants["ecr:BatchGetImage"]
    assert repository["Fn::Join"][1][-1] == ":repository/huggingface-pytorch-inference"
    _, model = only(dev, "AWS::SageMaker::Model")
    archive_key = model["Properties"]["PrimaryContainer"]["ModelDataUrl"]["Fn::Sub"].split("/")[-1]
    archive_reads = [r for r in grants["s3:GetObject"] if archive_key in str(r)]
    assert len(archive_reads) == 1


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_no_managed_policies_on_any_role(environment: str, request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue(environment)
    for role in template.find_resources("AWS::IAM::Role").values():
        arns = str(role["Properties"].get("ManagedPolicyArns", []))
        assert "FullAccess" not in arns


def test_execution_role_is_assumed_by_sagemaker_only(dev: Any) -> None:
    _, model = only(dev, "AWS::SageMaker::Model")
    role_id = model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    role = dev.to_json()["Resources"][role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
        }
    ]
    assert "ManagedPolicyArns" not in role["Properties"]


# --- the constructs on their own: grant_invoke_async, metrics, options -----------------------


@pytest.fixture(scope="module")
def construct_stack(code_dir: Path) -> Any:
    """A stack of the bare constructs with a CPU instance, e-mails and a caller role."""
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Template

    stack = cdk.Stack(construct_app(), "Constructs")
    endpoint = endpoint_in(
        stack,
        code_dir,
        instance_type="ml.m5.xlarge",
        emails=("ops@example.com",),
        model_id="google/pegasus-xsum",
        model_revision="abc123",
        include_response_in_notifications=False,
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke_async(caller)
    return endpoint, stack, Template.from_stack(stack)


def test_grant_invoke_async_gives_a_caller_all_a_submission_needs(construct_stack: Any) -> None:
    _, _, template = construct_stack
    caller_id, _ = only(
        template,
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [Match.object_like({"Principal": {"AWS": Match.any_value()}})]
                }
            }
        },
    )
    _, policy = only(template, "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": caller_id}]}})
    grants = allowed(policy)
    endpoint_id, _ = only(template, "AWS::SageMaker::Endpoint")
    assert grants["sagemaker:InvokeEndpointAsync"] == [{"Ref": endpoint_id}]
    assert "sagemaker:InvokeEndpoint" not in grants
    assert grants["s3:PutObject"] == [bucket_objects(template, "inputs/")]
    assert sorted(map(str, grants["s3:GetObject"])) == sorted(
        map(str, [bucket_objects(template, "results/"), bucket_objects(template, "failures/")])
    )
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(grants)


def test_cpu_instance_gets_the_cpu_image_a_volume_key_and_a_pinned_revision(
    construct_stack: Any,
) -> None:
    _, _, template = construct_stack
    image = Capture()
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "Image": image,
                "Environment": Match.object_like(
                    {"HF_MODEL_ID": "google/pegasus-xsum", "HF_MODEL_REVISION": "abc123"}
                ),
            }
        },
    )
    assert image.as_object()["Fn::Join"][1][-1].endswith(
        "2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04"
    )
    key = Capture()
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {"KmsKeyId": key})
    assert "Fn::GetAtt" in key.as_object()


def test_omitted_concurrency_and_responses_are_left_out(construct_stack: Any) -> None:
    _, _, template = construct_stack
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "AsyncInferenceConfig": {
                "ClientConfig": Match.absent(),
                "OutputConfig": Match.object_like(
                    {
                        "NotificationConfig": {
                            "SuccessTopic": Match.any_value(),
                            "ErrorTopic": Match.any_value(),
                            "IncludeInferenceResponseIn": Match.absent(),
                        }
                    }
                ),
            }
        },
    )


def test_email_subscriptions_on_both_topics(construct_stack: Any) -> None:
    _, _, template = construct_stack
    subscriptions = template.find_resources(
        "AWS::SNS::Subscription",
        {"Properties": {"Protocol": "email", "Endpoint": "ops@example.com"}},
    )
    assert len(subscriptions) == 2


@pytest.mark.parametrize(
    ("method", "metric_name", "dimensions", "statistic"),
    [
        ("metric_approximate_backlog_size", "ApproximateBacklogSize", ["EndpointName"], "Average"),
        (
            "metric_approximate_backlog_size_per_instance",
            "ApproximateBacklogSizePerInstance",
            ["EndpointName"],
            "Average",
        ),
        (
            "metric_approximate_age_of_oldest_request",
            "ApproximateAgeOfOldestRequest",
            ["EndpointName"],
            "Maximum",
        ),
        (
            "metric_has_backlog_without_capacity",
            "HasBacklogWithoutCapacity",
            ["EndpointName"],
            "Average",
        ),
        (
            "metric_invocations_processed",
            "InvocationsProcesssed",
            ["EndpointName", "VariantName"],
            "Sum",
        ),
        (
            "metric_invocation_failures",
            "InvocationFailures",
            ["EndpointName", "VariantName"],
            "Sum",
        ),
        (
            "metric_notification_failures",
            "NotificationFailures",
            ["EndpointName", "VariantName"],
            "Sum",
        ),
        (
            "metric_request_download_failures",
            "RequestDownloadFailures",
            ["EndpointName", "VariantName"],
            "Sum",
        ),
        (
            "metric_response_upload_failures",
            "ResponseUploadFailures",
            ["EndpointName", "VariantName"],
            "Sum",
        ),
        (
            "metric_total_processing_time",
            "TotalProcessingTime",
            ["EndpointName", "VariantName"],
            "Average",
        ),
        ("metric_time_in_backlog", "TimeInBacklog", ["EndpointName", "VariantName"], "Average"),
        ("metric_model_latency", "ModelLatency", ["EndpointName", "VariantName"], "Average"),
    ],
)
def test_metric_methods_use_the_published_namespace_and_dimensions(
    construct_stack: Any, method: str, metric_name: str, dimensions: list[str], statistic: str
) -> None:
    endpoint, stack, _ = construct_stack
    metric = getattr(endpoint, method)()
    assert metric.namespace == "AWS/SageMaker"
    assert metric.metric_name == metric_name
    assert sorted(metric.dimensions) == dimensions
    assert metric.statistic == statistic
    assert metric.period.to_seconds() == 60
    resolved = stack.resolve(metric.dimensions)
    endpoint_id = stack.resolve(endpoint.cfn_endpoint.logical_id)
    assert resolved["EndpointName"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
    if "VariantName" in dimensions:
        assert resolved["VariantName"] == "AllTraffic"


def test_instance_metrics_live_in_the_endpoints_namespace(construct_stack: Any) -> None:
    endpoint, _, _ = construct_stack
    for name in (
        "CPUUtilization",
        "MemoryUtilization",
        "GPUUtilization",
        "GPUMemoryUtilization",
        "DiskUtilization",
    ):
        metric = endpoint.metric(name)
        assert metric.namespace == "/aws/sagemaker/Endpoints"
        assert sorted(metric.dimensions) == ["EndpointName", "VariantName"]


def test_unknown_metric_is_refused_with_the_known_names(construct_stack: Any) -> None:
    endpoint, _, _ = construct_stack
    with pytest.raises(ValueError) as error:
        endpoint.metric("Invocations")
    assert str(error.value).startswith(
        "unknown async endpoint metric 'Invocations' (known: ApproximateBacklogSize, "
    )


def test_a_cpu_model_runs_one_model_server_worker(code_dir: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from constructs_lib import DlcVersion, HuggingFaceModel, ModelSource
    from tests.conftest import construct_app

    stack = cdk.Stack(construct_app(), "Cpu")
    HuggingFaceModel(
        stack,
        "Model",
        instance_type="ml.m5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )
    # Without it the server starts one worker, and one copy of the model, per vCPU.
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::Model",
        {"PrimaryContainer": {"Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}}},
    )


def test_the_model_server_timeout_follows_the_invocation_timeout(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    from tests.conftest import cdk_json_context, synthesize

    context = cdk_json_context()
    context["summarizer.environment"] = "dev"
    context["summarizer.data_path.invocation_timeout_seconds"] = "1800"
    (stack,) = synthesize(context, tmp_path).stacks
    Template.from_json(stack.template).has_resource_properties(
        "AWS::SageMaker::Model",
        {"PrimaryContainer": {"Environment": {"MMS_DEFAULT_RESPONSE_TIMEOUT_SECONDS": "1800"}}},
    )
