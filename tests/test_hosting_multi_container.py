"""Multi-container endpoints (direct and serial) and the serial inference pipeline."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated
from tests.conftest import construct_app
from tests.test_hosting_multi_model import DLC, policy_statements


def spec(hostname: str, **options: Any) -> Any:
    from constructs_lib import DlcVersion, ModelSource
    from constructs_lib.hosting import ContainerSpec

    options.setdefault("source", ModelSource.from_hub(f"org/{hostname.lower()}"))
    return ContainerSpec(hostname=hostname, dlc_version=DlcVersion(**DLC), **options)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, code_dir: Path) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    from constructs_lib import ModelSource
    from constructs_lib.hosting import (
        InferencePipeline,
        MultiContainerEndpoint,
        MultiContainerModel,
        RealtimeEndpoint,
    )

    outdir = tmp_path_factory.mktemp("mce")
    app = app_in(outdir)
    stack = cdk.Stack(app, "MultiContainer")
    direct_model = MultiContainerModel(
        stack,
        "DirectModel",
        instance_type="ml.m5.xlarge",
        containers=[spec("englishModel"), spec("germanModel"), spec("commonTools")],
    )
    direct = MultiContainerEndpoint(
        stack, "Direct", model=direct_model, instance_type="ml.m5.xlarge"
    )
    english_only = iam.Role(stack, "EnglishCaller", assumed_by=iam.AccountRootPrincipal())
    direct.grant_invoke(english_only, container_hostnames=["english*", "common*"])
    everyone = iam.Role(stack, "AnyCaller", assumed_by=iam.AccountRootPrincipal())
    direct.grant_invoke(everyone)
    pipeline = InferencePipeline(
        stack,
        "Pipeline",
        instance_type="ml.m5.xlarge",
        pre_processing=[spec("clean", source=ModelSource.from_local(code_dir), task=None)],
        model=spec("summarize"),
        post_processing=[spec("redact", source=ModelSource.from_local(code_dir), task=None)],
    )
    RealtimeEndpoint(stack, "PipelineEndpoint", model=pipeline, instance_type="ml.m5.xlarge")
    resolve = stack.resolve
    gated = synth_gated(app, outdir)
    return SimpleNamespace(
        gated=gated,
        template=gated.template(),
        stack=stack,
        direct=direct,
        pipeline=pipeline,
        endpoint_id=resolve(direct.cfn_endpoint.logical_id),
        english_only=policy_statements(stack, english_only),
        everyone=policy_statements(stack, everyone),
        direct_role=policy_statements(stack, direct_model.role),
        pipeline_role=policy_statements(stack, pipeline.role),
    )


def test_gates_are_clean(built: Any) -> None:
    assert_gates_clean(built.gated)


def test_direct_model_lists_every_container_with_its_hostname(built: Any) -> None:
    from aws_cdk.assertions import Match

    built.template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "InferenceExecutionConfig": {"Mode": "Direct"},
            "Containers": [
                Match.object_like(
                    {
                        "ContainerHostname": name,
                        "Environment": Match.object_like({"HF_MODEL_ID": f"org/{name.lower()}"}),
                    }
                )
                for name in ("englishModel", "germanModel", "commonTools")
            ],
        },
    )


def test_per_hostname_grant_has_the_articles_condition_shape(built: Any) -> None:
    assert built.english_only == [
        {
            "Action": "sagemaker:InvokeEndpoint",
            "Condition": {
                "StringLike": {"sagemaker:TargetContainerHostname": ["english*", "common*"]}
            },
            "Effect": "Allow",
            "Resource": {"Ref": built.endpoint_id},
        }
    ]


def test_a_grant_without_hostnames_reaches_every_container(built: Any) -> None:
    assert built.everyone == [
        {
            "Action": "sagemaker:InvokeEndpoint",
            "Effect": "Allow",
            "Resource": {"Ref": built.endpoint_id},
        }
    ]


def test_the_role_pulls_the_one_dlc_repository_once(built: Any) -> None:
    pulls = [
        s
        for s in built.direct_role
        if s["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    ]
    assert len(pulls) == 1
    assert "huggingface-pytorch-inference" in str(pulls[0]["Resource"])


def test_per_container_metrics_carry_the_container_name(built: Any) -> None:
    latency = built.stack.resolve(
        built.direct.metric_container_latency("germanModel").to_metric_config().metric_stat
    )
    assert latency["namespace"] == "AWS/SageMaker"
    assert latency["metricName"] == "ContainerLatency"
    assert {d["name"]: d["value"] for d in latency["dimensions"]} == {
        "EndpointName": {"Fn::GetAtt": [built.endpoint_id, "EndpointName"]},
        "VariantName": "AllTraffic",
        "ContainerName": "germanModel",
    }
    invocations = built.stack.resolve(
        built.direct.metric_container_invocations("englishModel").to_metric_config().metric_stat
    )
    assert (invocations["metricName"], invocations["statistic"]) == ("Invocations", "Sum")
    assert len(built.direct.container_widgets()) == 3


def test_an_unknown_container_metric_is_refused(built: Any) -> None:
    with pytest.raises(ValueError, match="'frenchModel' is not a container of this endpoint"):
        built.direct.metric_container_latency("frenchModel")


def test_the_pipeline_runs_pre_model_post_in_series(built: Any) -> None:
    from aws_cdk.assertions import Match

    built.template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "InferenceExecutionConfig": {"Mode": "Serial"},
            "Containers": [
                Match.object_like(
                    {"ContainerHostname": "clean", "ModelDataUrl": Match.any_value()}
                ),
                Match.object_like({"ContainerHostname": "summarize"}),
                Match.object_like(
                    {"ContainerHostname": "redact", "ModelDataUrl": Match.any_value()}
                ),
            ],
        },
    )
    assert built.pipeline.model_hostname == "summarize"
    # Each processing container's code archive is readable, and only those two objects.
    reads = [s for s in built.pipeline_role if s["Action"] == "s3:GetObject"]
    assert len(reads) == 1 and len(reads[0]["Resource"]) == 2


def test_a_serial_endpoint_refuses_a_hostname_restriction(built: Any, tmp_path: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    from constructs_lib import ConfigurationError
    from constructs_lib.hosting import MultiContainerEndpoint, MultiContainerModel

    stack = cdk.Stack(cdk.App(), "Serial")
    model = MultiContainerModel(
        stack,
        "Model",
        instance_type="ml.m5.xlarge",
        mode="Serial",
        containers=[spec("first"), spec("second")],
    )
    endpoint = MultiContainerEndpoint(stack, "Endpoint", model=model, instance_type="ml.m5.xlarge")
    with pytest.raises(ConfigurationError) as raised:
        endpoint.grant_invoke(iam.AccountRootPrincipal(), container_hostnames=["first"])
    assert raised.value.problems == (
        "container_hostnames: only apply to Direct invocation; a Serial endpoint runs every "
        "container (got ['first'])",
    )


def test_a_pattern_that_matches_no_container_is_refused(built: Any) -> None:
    from aws_cdk import aws_iam as iam

    from constructs_lib import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        built.direct.grant_invoke(iam.AccountRootPrincipal(), container_hostnames=["French*"])
    assert raised.value.problems == (
        "container_hostnames: 'French*' matches no container "
        "(containers: englishModel, germanModel, commonTools)",
    )


def test_bad_container_lists_are_refused_with_every_problem() -> None:
    import aws_cdk as cdk

    from constructs_lib import ConfigurationError
    from constructs_lib.hosting import MultiContainerModel

    stack = cdk.Stack(cdk.App(), "Bad")
    containers = [spec(f"model{i}") for i in range(15)] + [spec("model3"), spec("bad_name")]
    with pytest.raises(ConfigurationError) as raised:
        MultiContainerModel(stack, "Model", instance_type="ml.m5.xlarge", containers=containers)
    assert raised.value.problems == (
        "containers: Direct mode takes 1 to 15 containers (got 17)",
        "containers[15].hostname: must be unique (got 'model3' twice)",
        "containers[16].hostname: must be 1-63 letters, digits or inner hyphens (got 'bad_name')",
    )


def test_serial_mode_needs_two_containers_and_a_known_mode() -> None:
    from constructs_lib.hosting.containers import containers_problems

    assert containers_problems([spec("only")], "Serial") == [
        "containers: Serial mode takes 2 to 15 containers (got 1)"
    ]
    assert containers_problems([spec("a"), spec("b")], "Parallel")[0] == (
        "mode: must be one of Direct, Serial (got 'Parallel')"
    )


def test_a_container_needs_exactly_one_image_and_a_model_source() -> None:
    from constructs_lib import ModelSource
    from constructs_lib.hosting import ContainerSpec

    unpulled = ContainerSpec(hostname="x", image_uri="123.dkr.ecr/x:1", source="org/x")  # type: ignore[arg-type]
    assert unpulled.problems("containers[0]") == [
        "containers[0].image_repository_arn: required with image_uri, to grant the pull of that "
        "one repository",
        "containers[0].source: must be a ModelSource (ModelSource.from_hub, from_s3 or "
        "from_local) (got 'org/x')",
    ]
    uncompressed = ModelSource.from_s3("s3://models-bucket/x/", compression="none")
    assert spec("y", source=uncompressed).problems("containers[1]") == [
        "containers[1].source: a multi-container model takes a model.tar.gz, not uncompressed "
        "model data (got ModelSource.from_s3('s3://models-bucket/x/', compression='none'))"
    ]


def test_a_staged_container_archive_is_read_and_decrypted_with_its_key() -> None:
    import aws_cdk as cdk

    from constructs_lib import ModelSource
    from constructs_lib.hosting import MultiContainerModel

    key = "arn:aws:kms:eu-west-1:123456789012:key/0b7c1e2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"
    stack = cdk.Stack(construct_app(), "Staged")
    staged = ModelSource.from_s3("s3://models-bucket/x/model.tar.gz", key_arn=key)
    model = MultiContainerModel(
        stack, "Model", instance_type="ml.m5.xlarge", containers=[spec("x", source=staged)]
    )
    statements = policy_statements(stack, model.role)
    assert {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": key} in statements
