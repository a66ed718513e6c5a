"""Multi-model endpoint: an S3 prefix of archives, TargetModel grants, adding models by upload."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated

DLC = {"transformers": "4.51.3", "pytorch": "2.6.0"}


def policy_statements(stack: Any, role: Any) -> list[dict[str, Any]]:
    """The resolved statements of ``role``'s default policy."""
    document = role.node.find_child("DefaultPolicy").document
    return list(stack.resolve(document.to_json())["Statement"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    from constructs_lib import AsyncInferenceStorage, DlcVersion
    from constructs_lib.hosting import MultiModelEndpoint

    outdir = tmp_path_factory.mktemp("mme")
    app = app_in(outdir)
    stack = cdk.Stack(app, "MultiModel")
    storage = AsyncInferenceStorage(stack, "Storage")
    endpoint = MultiModelEndpoint(
        stack,
        "Endpoint",
        artifacts_bucket=storage.bucket,
        artifacts_key=storage.key,
        dlc_version=DlcVersion(**DLC),
        instance_type="ml.c5.2xlarge",
        volume_key=storage.key,
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller, target_models=["en/*", "summarizer-v2.tar.gz"])
    publisher = iam.Role(stack, "Publisher", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_add_models(publisher)
    resolve = stack.resolve
    ids = SimpleNamespace(
        bucket=resolve(storage.bucket.node.default_child.logical_id),
        key=resolve(storage.key.node.default_child.logical_id),
        endpoint=resolve(endpoint.cfn_endpoint.logical_id),
    )
    gated = synth_gated(app, outdir)
    return SimpleNamespace(
        gated=gated,
        template=gated.template(),
        endpoint=endpoint,
        ids=ids,
        caller=policy_statements(stack, caller),
        publisher=policy_statements(stack, publisher),
        role=policy_statements(stack, endpoint.role),
        stack=stack,
    )


def test_gates_are_clean(built: Any) -> None:
    assert_gates_clean(built.gated)


def test_the_container_serves_the_prefix_in_multi_model_mode(built: Any) -> None:
    from aws_cdk.assertions import Match

    built.template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": Match.object_like(
                {
                    "Mode": "MultiModel",
                    "ModelDataUrl": {
                        "Fn::Join": ["", ["s3://", {"Ref": built.ids.bucket}, "/models/"]]
                    },
                    "MultiModelConfig": {"ModelCacheSetting": "Enabled"},
                    "Environment": Match.object_like({"HF_TASK": "summarization"}),
                }
            )
        },
    )


def test_the_execution_role_reads_only_the_prefix(built: Any) -> None:
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": [built.ids.bucket, "Arn"]}, "/models/*"]]}
    reads = [s for s in built.role if s.get("Action") == "s3:GetObject"]
    assert reads == [{"Action": "s3:GetObject", "Effect": "Allow", "Resource": objects}]
    key_actions = [
        s["Action"] for s in built.role if s["Resource"] == {"Fn::GetAtt": [built.ids.key, "Arn"]}
    ]
    assert key_actions and "kms:Decrypt" in key_actions[0]


def test_the_model_cache_volume_is_encrypted_with_the_given_key(built: Any) -> None:
    built.template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig", {"KmsKeyId": {"Fn::GetAtt": [built.ids.key, "Arn"]}}
    )
    assert any(
        s.get("Action")
        == [
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
        ]
        for s in built.role
    )


def test_grant_invoke_emits_the_target_model_condition(built: Any) -> None:
    assert built.caller == [
        {
            "Action": "sagemaker:InvokeEndpoint",
            "Condition": {
                "StringLike": {"sagemaker:TargetModel": ["en/*", "summarizer-v2.tar.gz"]}
            },
            "Effect": "Allow",
            "Resource": {"Ref": built.ids.endpoint},
        }
    ]


def test_grant_add_models_uploads_under_the_prefix_and_encrypts(built: Any) -> None:
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": [built.ids.bucket, "Arn"]}, "/models/*"]]}
    assert built.publisher == [
        {
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Effect": "Allow",
            "Resource": objects,
        },
        {
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [built.ids.key, "Arn"]},
        },
    ]


def test_cache_metrics_have_endpoint_and_variant(built: Any) -> None:
    stat = built.stack.resolve(
        built.endpoint.metric_model_cache_hit().to_metric_config().metric_stat
    )
    assert (stat["namespace"], stat["metricName"], stat["statistic"]) == (
        "AWS/SageMaker",
        "ModelCacheHit",
        "Average",
    )
    assert [d["name"] for d in stat["dimensions"]] == ["EndpointName", "VariantName"]


def test_gpu_instances_and_bad_prefixes_are_refused() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from constructs_lib import ConfigurationError, DlcVersion
    from constructs_lib.hosting import MultiModelEndpoint

    stack = cdk.Stack(cdk.App(), "Bad")
    bucket = s3.Bucket(stack, "Bucket")
    with pytest.raises(ConfigurationError) as raised:
        MultiModelEndpoint(
            stack,
            "Endpoint",
            artifacts_bucket=bucket,
            artifacts_prefix="/models",
            dlc_version=DlcVersion(**DLC),
            instance_type="ml.g5.xlarge",
        )
    assert raised.value.problems == (
        "instance_type: multi-model endpoints on GPU need a Triton container; the Hugging Face "
        "DLC serves them on CPU instances only (got 'ml.g5.xlarge')",
        "artifacts_prefix: must end with '/' and not start with one (got '/models')",
    )


def test_an_empty_target_model_list_is_refused(built: Any) -> None:
    from aws_cdk import aws_iam as iam

    from constructs_lib import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        built.endpoint.grant_invoke(iam.AccountRootPrincipal(), target_models=[])
    assert raised.value.problems == (
        "target_models: must be a non-empty list of patterns (got [])",
    )
