"""Every example app synthesizes, passes cfn-lint and cdk-nag, and makes what it promises."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
STACKS = {
    "existing_endpoint": "ExistingEndpointOperations",
    "multi_container": "MultiContainerSentiment",
    "multi_model": "MultiModelSummarizers",
    "inference_pipeline": "SummarizationPipeline",
    "vpc_byo": "PrivateSummarizer",
}


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """All example stacks in one app, synthesized once under cdk-nag."""
    outdir = tmp_path_factory.mktemp("examples")
    app = app_in(outdir)
    stacks = {
        name: load(EXAMPLES / name / "app.py", f"example_{name}").build(app) for name in STACKS
    }
    gated = synth_gated(app, outdir)
    return SimpleNamespace(gated=gated, stacks=stacks, outdir=outdir)


def test_every_example_directory_is_covered() -> None:
    assert sorted(p.parent.name for p in EXAMPLES.glob("*/app.py")) == sorted(STACKS)


def test_every_example_passes_cfn_lint_and_cdk_nag(examples: Any) -> None:
    assert sorted(examples.gated.templates) == sorted(STACKS.values())
    assert_gates_clean(examples.gated)


def test_multi_container_gives_each_language_its_own_container(examples: Any) -> None:
    template = examples.gated.template(STACKS["multi_container"])
    stack = examples.stacks["multi_container"]
    endpoint_ref = {"Ref": stack.resolve(stack.endpoint.cfn_endpoint.logical_id)}
    conditions = {}
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Action") == "sagemaker:InvokeEndpoint":
                assert statement["Resource"] == endpoint_ref
                (hostname,) = statement["Condition"]["StringLike"][
                    "sagemaker:TargetContainerHostname"
                ]
                conditions[hostname] = statement
    assert sorted(conditions) == ["englishModel", "germanModel"]
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"InferenceExecutionConfig": {"Mode": "Direct"}}
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "TargetValue": 70,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            }
        },
    )
    ((_, dashboard),) = template.find_resources("AWS::CloudWatch::Dashboard").items()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "ContainerLatency" in body and "ContainerName" in body


def test_multi_model_has_a_publisher_and_a_target_model_caller(examples: Any) -> None:
    template = examples.gated.template(STACKS["multi_model"])
    from aws_cdk.assertions import Match

    template.has_resource_properties(
        "AWS::SageMaker::Model", {"PrimaryContainer": Match.object_like({"Mode": "MultiModel"})}
    )
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    invoke = [s for s in statements if s.get("Action") == "sagemaker:InvokeEndpoint"]
    assert [s["Condition"] for s in invoke] == [
        {"StringLike": {"sagemaker:TargetModel": ["summarizer/*"]}}
    ]
    uploads = [
        s for s in statements if s.get("Action") == ["s3:AbortMultipartUpload", "s3:PutObject"]
    ]
    assert len(uploads) == 1 and "/models/*" in json.dumps(uploads[0]["Resource"])


def test_inference_pipeline_chains_three_containers(examples: Any) -> None:
    template = examples.gated.template(STACKS["inference_pipeline"])
    ((_, model),) = template.find_resources("AWS::SageMaker::Model").items()
    properties = model["Properties"]
    assert properties["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert [c["ContainerHostname"] for c in properties["Containers"]] == [
        "clean",
        "summarize",
        "redact",
    ]


# --- the pipeline's processing handlers (plain Python, no model) ---------------------------------


@pytest.fixture(scope="module")
def pre() -> ModuleType:
    return load(EXAMPLES / "inference_pipeline" / "pre_processing" / "inference.py", "pre_step")


@pytest.fixture(scope="module")
def post() -> ModuleType:
    return load(EXAMPLES / "inference_pipeline" / "post_processing" / "inference.py", "post_step")


def test_pre_processing_strips_markup_and_answers_json(pre: ModuleType) -> None:
    body = pre.transform_fn(None, b"<p>Hello&nbsp;<b>world</b></p>\n\n", "text/plain", "*/*")
    assert json.loads(body) == {"inputs": "Hello world"}
    body = pre.transform_fn(
        None,
        json.dumps({"inputs": ["<i>a</i>  b"], "parameters": {"num_beams": 2}}),
        "application/json; charset=utf-8",
        "application/json",
    )
    assert json.loads(body) == {"inputs": ["a b"], "parameters": {"num_beams": 2}}


def test_pre_processing_refuses_other_content_types(pre: ModuleType) -> None:
    with pytest.raises(ValueError, match="unsupported content type 'text/csv': use text/plain"):
        pre.transform_fn(None, b"a,b", "text/csv", "*/*")


def test_post_processing_redacts_emails_in_both_formats(post: ModuleType) -> None:
    summary = {"summary_text": "Write to jane.doe@example.com today.", "chunks": 1}
    array = post.transform_fn(None, json.dumps([summary]), "application/json", "application/json")
    assert json.loads(array) == [{"summary_text": "Write to [email] today.", "chunks": 1}]
    lines = post.transform_fn(None, json.dumps(summary) + "\n", "application/jsonlines", "")
    assert lines.decode().splitlines() == [
        json.dumps({"summary_text": "Write to [email] today.", "chunks": 1})
    ]


def test_existing_endpoint_governs_every_role_and_creates_no_endpoint(examples: Any) -> None:
    template = examples.gated.template(STACKS["existing_endpoint"])
    template.resource_count_is("AWS::SageMaker::Endpoint", 0)
    roles = template.find_resources("AWS::IAM::Role")
    assert roles
    boundary = load(EXAMPLES / "existing_endpoint" / "app.py", "example_boundary").BOUNDARY
    for role in roles.values():
        assert role["Properties"]["PermissionsBoundary"] == boundary
        assert role["Properties"]["Path"] == "/workloads/"
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"ResourceId": "endpoint/research-summarizer/variant/AllTraffic"},
    )


def test_vpc_byo_runs_in_private_subnets_on_the_lake_with_every_role_governed(
    examples: Any,
) -> None:
    template = examples.gated.template(STACKS["vpc_byo"])
    app = load(EXAMPLES / "vpc_byo" / "app.py", "example_vpc_byo")
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {"VpcConfig": {"Subnets": [subnet for subnet, _ in app.PRIVATE_SUBNETS.values()]}},
    )
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "AsyncInferenceConfig": {
                "OutputConfig": {
                    "KmsKeyId": app.DEFAULTS["key_arn"],
                    "S3OutputPath": "s3://research-data-lake/summarizer/out/",
                }
            }
        },
    )
    ((_, endpoint),) = template.find_resources("AWS::EC2::VPCEndpoint").items()
    statements = endpoint["Properties"]["PolicyDocument"]["Statement"]
    resources = [json.dumps(s["Resource"]) for s in statements]
    assert len(resources) == 2
    assert ":s3:::research-data-lake/models/pegasus-large/model.tar.gz" in resources[0]
    assert ":s3:::research-data-lake/*" in resources[1]
    assert all("aws:PrincipalArn" in s["Condition"]["ArnEquals"] for s in statements)
    roles = template.find_resources("AWS::IAM::Role")
    assert roles
    for role in roles.values():
        assert role["Properties"]["PermissionsBoundary"] == app.BOUNDARY
        assert role["Properties"]["Path"] == "/workloads/"


def test_vpc_byo_passes_checkov(examples: Any) -> None:
    """A governed account runs checkov too: the VPC example is clean, every skip with a reason."""
    from tests.test_gates import checkov_findings

    template = examples.outdir / f"{STACKS['vpc_byo']}.template.json"
    failed, unexplained = checkov_findings([template])
    assert failed == []
    assert unexplained == []
