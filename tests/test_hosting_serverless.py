"""Serverless endpoint: memory, max and provisioned concurrency, and their limits."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated
from tests.test_hosting_realtime import hf_model


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, code_dir: Path) -> Any:
    import aws_cdk as cdk

    from constructs_lib.hosting import ServerlessEndpoint

    outdir = tmp_path_factory.mktemp("serverless")
    app = app_in(outdir)
    stack = cdk.Stack(app, "Serverless")
    endpoint = ServerlessEndpoint(
        stack,
        "Endpoint",
        model=hf_model(stack, "Model", code_dir, "ml.m5.xlarge"),
        memory_size_mb=4096,
        max_concurrency=20,
        provisioned_concurrency=2,
    )
    gated = synth_gated(app, outdir)
    return SimpleNamespace(gated=gated, template=gated.template(), endpoint=endpoint)


def test_gates_are_clean(built: Any) -> None:
    assert_gates_clean(built.gated)


def test_the_variant_is_serverless_without_instances(built: Any) -> None:
    built.template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": _model_name_ref(built.template),
                    "ServerlessConfig": {
                        "MemorySizeInMB": 4096,
                        "MaxConcurrency": 20,
                        "ProvisionedConcurrency": 2,
                    },
                }
            ]
        },
    )


def _model_name_ref(template: Any) -> dict[str, Any]:
    (model_id,) = template.find_resources("AWS::SageMaker::Model")
    return {"Fn::GetAtt": [model_id, "ModelName"]}


def test_the_model_runs_the_cpu_image(built: Any) -> None:
    (model,) = built.template.find_resources("AWS::SageMaker::Model").values()
    image = model["Properties"]["PrimaryContainer"]["Image"]
    assert "-cpu-" in str(image) and "-gpu-" not in str(image)


def test_cold_start_and_memory_metrics_have_endpoint_and_variant(built: Any) -> None:
    import aws_cdk as cdk

    stack = cdk.Stack.of(built.endpoint)
    setup = stack.resolve(built.endpoint.metric_model_setup_time().to_metric_config().metric_stat)
    assert setup["namespace"] == "AWS/SageMaker"
    assert setup["metricName"] == "ModelSetupTime"
    assert [d["name"] for d in setup["dimensions"]] == ["EndpointName", "VariantName"]
    memory = stack.resolve(
        built.endpoint.metric_memory_utilization().to_metric_config().metric_stat
    )
    assert memory["namespace"] == "/aws/sagemaker/Endpoints"


@pytest.mark.parametrize(
    ("options", "problems"),
    [
        (
            {"memory_size_mb": 1500},
            [
                "memory_size_mb: must be one of 1024, 2048, 3072, 4096, 5120, 6144 (1 GB steps) "
                "(got 1500)"
            ],
        ),
        (
            {"memory_size_mb": 8192, "max_concurrency": 0},
            [
                "memory_size_mb: must be one of 1024, 2048, 3072, 4096, 5120, 6144 (1 GB steps) "
                "(got 8192)",
                "max_concurrency: must be at least 1 (got 0)",
            ],
        ),
        ({"max_concurrency": 201}, ["max_concurrency: must be at most 200 (got 201)"]),
        (
            {"max_concurrency": 5, "provisioned_concurrency": 6},
            ["provisioned_concurrency: must not exceed max_concurrency 5 (got 6)"],
        ),
        ({"provisioned_concurrency": 0}, ["provisioned_concurrency: must be at least 1 (got 0)"]),
    ],
)
def test_limits_are_validated_with_the_allowed_values(
    code_dir: Path, options: dict[str, Any], problems: list[str]
) -> None:
    import aws_cdk as cdk

    from constructs_lib import ConfigurationError
    from constructs_lib.hosting import ServerlessEndpoint

    stack = cdk.Stack(cdk.App(), "Bad")
    model = hf_model(stack, "Model", code_dir, "ml.m5.xlarge")
    with pytest.raises(ConfigurationError) as raised:
        ServerlessEndpoint(stack, "Endpoint", model=model, **options)
    assert list(raised.value.problems) == problems
