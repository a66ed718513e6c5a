"""Uncompressed model data (``ModelDataSource``, ``CompressionType: None``) and the variant's
startup and download timeouts: the shapes, the grants, and every setting refused by name.

Shapes are checked against the CloudFormation schemas cfn-lint 1.58 ships
(AWS::SageMaker::Model f713429cd3f0c181, AWS::SageMaker::EndpointConfig 3529e18613d41f86).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from stacks.config import load_configs
from tests._schemas import schema_errors
from tests._variants import KEY_ARN, STAGED_PREFIX, variants
from tests.conftest import cdk_json_context, construct_app, only
from tests.test_model_and_endpoint import allowed, execution_role_policy

BUCKET_ARN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::example-models"]]}
PREFIX_KEY = STAGED_PREFIX.removeprefix("s3://example-models/")


def test_staged_uncompressed_files_are_the_models_data_source() -> None:
    template = variants().template("staged")
    _, model = only(template, "AWS::SageMaker::Model")
    container = model["Properties"]["PrimaryContainer"]
    assert container["ModelDataSource"] == {
        "S3DataSource": {
            "S3Uri": STAGED_PREFIX,
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
    }
    # The archive URL is the other way to give model data: never both.
    assert "ModelDataUrl" not in container
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert schema_errors("AWS::SageMaker::Model", model["Properties"]) == []


def test_the_role_lists_and_reads_only_the_staged_prefix() -> None:
    template = variants().template("staged")
    _, policy = execution_role_policy(template)
    grants = allowed(policy)
    objects = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":s3:::example-models/{PREFIX_KEY}*"],
        ]
    }
    assert objects in grants["s3:GetObject"]
    (listing,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:ListBucket"
    ]
    assert listing["Resource"] == BUCKET_ARN
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX_KEY}*"]}}
    assert KEY_ARN in grants["kms:Decrypt"]


def test_the_download_timeout_is_its_own_setting() -> None:
    template = variants().template("staged")
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 900
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 600
    assert schema_errors("AWS::SageMaker::EndpointConfig", config["Properties"]) == []


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_by_default_both_timeouts_stay_600_and_the_archive_stays(
    environment: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(environment)
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 600
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 600
    _, model = only(template, "AWS::SageMaker::Model")
    assert "ModelDataSource" not in model["Properties"]["PrimaryContainer"]


# --- the options that cannot load it ----------------------------------------------------------


@pytest.fixture(scope="module")
def staged_model(code_dir: Path) -> Any:
    import aws_cdk as cdk

    from constructs_lib import DlcVersion, HuggingFaceModel, ModelSource

    stack = cdk.Stack(construct_app(), "Staged")
    model = HuggingFaceModel(
        stack,
        "Model",
        source=ModelSource.from_s3(STAGED_PREFIX, compression="none"),
        instance_type="ml.m5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
    )
    return stack, model


def test_a_serverless_endpoint_refuses_uncompressed_model_data(staged_model: Any) -> None:
    from constructs_lib.hosting import ServerlessEndpoint

    stack, model = staged_model
    with pytest.raises(ConfigurationError) as error:
        ServerlessEndpoint(stack, "Serverless", model=model)
    assert error.value.problems == (
        "model: serverless endpoints cannot load uncompressed model data (ModelDataSource); "
        "stage a model.tar.gz (model_data_compression 'gzip') for them (got a model with "
        "model_data_compression 'none')",
    )


def test_batch_transform_refuses_uncompressed_model_data(staged_model: Any) -> None:
    from constructs_lib import AsyncInferenceStorage
    from constructs_lib.hosting.batch_transform import BatchTransform

    stack, model = staged_model
    with pytest.raises(ConfigurationError) as error:
        BatchTransform(
            stack, "Batch", model=model, storage=AsyncInferenceStorage(stack, "BatchStorage")
        )
    assert error.value.problems == (
        "model: batch transform jobs cannot load uncompressed model data (ModelDataSource); "
        "stage a model.tar.gz (model_data_compression 'gzip') for them (got a model with "
        "model_data_compression 'none')",
    )


# --- configuration ----------------------------------------------------------------------------


def dev_with(**fields: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {"summarizer": copy.deepcopy(cdk_json_context()["summarizer"])}
    ctx["summarizer"]["environments"]["dev"].update(fields)
    ctx["summarizer.environment"] = "dev"
    return ctx


def problems_of(ctx: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigurationError) as error:
        load_configs(ctx)
    return error.value.problems


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"model_data_compression": "zip"},
            "model_data_compression: must be one of gzip, none (got 'zip')",
        ),
        (
            {"model_data_compression": "none"},
            "model_data_compression: 'none' needs model_data_uri, the S3 prefix of the staged, "
            "uncompressed model files (`make stage-model UNCOMPRESSED=1` prints it) (got 'none' "
            "without model_data_uri)",
        ),
        (
            {
                "model_data_compression": "none",
                "model_data_uri": "s3://example-models/pegasus/model.tar.gz",
            },
            "model_data_uri: must be 's3://<bucket>/<prefix>/', a key prefix ending with '/', "
            "with uncompressed model data (got 's3://example-models/pegasus/model.tar.gz')",
        ),
        (
            {"model_data_uri": STAGED_PREFIX},
            f"model_data_uri: must be 's3://<bucket>/<key>.tar.gz' (got '{STAGED_PREFIX}')",
        ),
        (
            {"model_data_download_timeout_seconds": 59},
            "model_data_download_timeout_seconds: must be at least 60 (got 59)",
        ),
        (
            {"model_data_download_timeout_seconds": 3601},
            "model_data_download_timeout_seconds: must be at most 3600 (got 3601)",
        ),
    ],
)
def test_each_bad_model_data_setting_is_named_with_its_value(
    fields: dict[str, Any], problem: str
) -> None:
    assert problems_of(dev_with(**fields)) == (f"[dev] {problem}",)


def test_batch_hosting_refuses_uncompressed_model_data() -> None:
    ctx = dev_with(hosting="batch", model_data_uri=STAGED_PREFIX, model_data_compression="none")
    for key in ("scaling", "deployment"):
        del ctx["summarizer"]["environments"]["dev"][key]
    assert problems_of(ctx) == (
        "[dev] model_data_compression: SageMaker cannot load uncompressed model data "
        "(ModelDataSource) for hosting 'batch' (batch transform and serverless endpoints take a "
        "model.tar.gz); use 'gzip' (got 'none')",
    )


def test_the_download_timeout_is_refused_where_nothing_reads_it() -> None:
    ctx = dev_with(hosting="realtime", model_data_download_timeout_seconds=900)
    for key in ("scaling", "deployment"):
        del ctx["summarizer"]["environments"]["dev"][key]
    assert problems_of(ctx) == (
        "[dev] model_data_download_timeout_seconds: a setting of the async endpoint's variant, "
        "not hosting 'realtime' (got 900)",
    )
