"""Data capture of a real-time endpoint into the data bucket, and where it is refused.

Shapes are checked against the CloudFormation schema cfn-lint 1.58 ships
(AWS::SageMaker::EndpointConfig 3529e18613d41f86).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.hosting.data_capture_settings import DataCaptureSettings
from stacks.config import load_configs
from tests._schemas import schema_errors
from tests._variants import variants
from tests.conftest import cdk_json_context, construct_app, only
from tests.test_model_and_endpoint import allowed, bucket_objects


def data_bucket(template: Any) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, bucket)
        for logical_id, bucket in template.find_resources("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    ]
    return found


def storage_key_id(template: Any) -> str:
    _, bucket = data_bucket(template)
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    key_id: str = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    return key_id


def role_grants(template: Any, role_arn: dict[str, Any]) -> dict[str, list[Any]]:
    role_id = role_arn["Fn::GetAtt"][0]
    _, policy = only(template, "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    return allowed(policy)


# --- the app with hosting: realtime and data_capture (tests/_variants.py) -------------------


def test_a_real_time_endpoint_captures_a_sample_to_the_data_bucket_under_its_key() -> None:
    template = variants().template("capture")
    bucket_id, _ = data_bucket(template)
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    properties = config["Properties"]
    assert properties["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/captures/"]]},
        "KmsKeyId": {"Fn::GetAtt": [storage_key_id(template), "Arn"]},
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "JsonContentTypes": ["application/json", "application/jsonlines"]
        },
    }
    assert schema_errors("AWS::SageMaker::EndpointConfig", properties) == []


def test_captures_expire_after_their_retention() -> None:
    template = variants().template("capture")
    _, bucket = data_bucket(template)
    (rule,) = [
        r
        for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        if r.get("Prefix") == "captures/"
    ]
    assert rule == {
        "Id": "expire-captures",
        "Prefix": "captures/",
        "Status": "Enabled",
        "ExpirationInDays": 14,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


def test_the_execution_role_writes_captures_with_the_bucket_key_and_nothing_more() -> None:
    template = variants().template("capture")
    _, model = only(template, "AWS::SageMaker::Model")
    grants = role_grants(template, model["Properties"]["ExecutionRoleArn"])
    captures = bucket_objects(template, "captures/")
    assert grants["s3:PutObject"] == [captures]
    assert grants["s3:AbortMultipartUpload"] == [captures]
    key = {"Fn::GetAtt": [storage_key_id(template), "Arn"]}
    assert key in grants["kms:GenerateDataKey"] and key in grants["kms:Decrypt"]
    assert "s3:GetObject" not in grants or captures not in grants["s3:GetObject"]


def test_the_stack_says_where_the_captures_are() -> None:
    template = variants().template("capture")
    bucket_id, _ = data_bucket(template)
    output = template.find_outputs("CaptureLocation")["CaptureLocation"]
    assert output["Value"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/captures/"]]}
    assert "customer content" in output["Description"]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_nothing_is_captured_by_default(environment: str, request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue(environment)
    for config in template.find_resources("AWS::SageMaker::EndpointConfig").values():
        assert "DataCaptureConfig" not in config["Properties"]
    _, bucket = data_bucket(template)
    prefixes = [r.get("Prefix") for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]]
    assert "captures/" not in prefixes
    assert "CaptureLocation" not in template.find_outputs("*")


# --- the construct on its own -----------------------------------------------------------------


@pytest.fixture(scope="module")
def realtime(code_dir: Path) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Template

    from constructs_lib import AsyncInferenceStorage, DlcVersion, HuggingFaceModel, ModelSource
    from constructs_lib.hosting import RealtimeEndpoint
    from constructs_lib.hosting.data_capture import EndpointDataCapture

    stack = cdk.Stack(construct_app(), "Captured")
    storage = AsyncInferenceStorage(stack, "Storage")
    model = HuggingFaceModel(
        stack,
        "Model",
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )
    endpoint = RealtimeEndpoint(stack, "Endpoint", model=model, instance_type="ml.g5.xlarge")
    capture = EndpointDataCapture(
        stack,
        "Capture",
        endpoint=endpoint,
        storage=storage,
        settings=DataCaptureSettings(
            enabled=True,
            capture_modes=("InputAndOutput",),
            json_content_types=(),
            csv_content_types=("text/plain",),
        ),
    )
    analyst = iam.Role(stack, "Analyst", assumed_by=iam.AccountRootPrincipal())
    capture.grant_read(analyst)
    return stack, storage, Template.from_stack(stack)


def test_modes_and_csv_content_types_are_given_as_configured(realtime: Any) -> None:
    _, _, template = realtime
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    capture = config["Properties"]["DataCaptureConfig"]
    assert capture["CaptureOptions"] == [{"CaptureMode": "InputAndOutput"}]
    assert capture["CaptureContentTypeHeader"] == {"CsvContentTypes": ["text/plain"]}
    assert capture["InitialSamplingPercentage"] == 10


def test_grant_read_lists_and_reads_the_captures_only(realtime: Any) -> None:
    from aws_cdk.assertions import Match

    _, _, template = realtime
    analyst_id, _ = only(
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
    _, policy = only(template, "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": analyst_id}]}})
    bucket_id, _ = data_bucket(template)
    (listing,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:ListBucket"
    ]
    assert listing["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["captures/*"]}}
    grants = allowed(policy)
    assert grants["s3:GetObject"] == [bucket_objects(template, "captures/")]
    assert grants["kms:Decrypt"] == [{"Fn::GetAtt": [storage_key_id(template), "Arn"]}]
    assert sorted(grants) == ["kms:Decrypt", "s3:GetObject", "s3:ListBucket"]


def test_an_async_endpoint_is_refused_with_the_reason(code_dir: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib.hosting.data_capture import EndpointDataCapture
    from tests.conftest import endpoint_in

    stack = cdk.Stack(construct_app(), "AsyncCapture")
    endpoint = endpoint_in(stack, code_dir)
    with pytest.raises(ConfigurationError) as error:
        EndpointDataCapture(
            stack,
            "Capture",
            endpoint=endpoint,
            storage=endpoint.storage,
            settings=DataCaptureSettings(enabled=False),
        )
    assert error.value.problems == (
        "settings.enabled: is false; leave EndpointDataCapture out to capture nothing (got False)",
        "endpoint: data capture is documented for real-time endpoints only; for asynchronous "
        "endpoints AWS does not document it, and their requests and results are S3 objects "
        "already (inputs/, requests/, results/, failures/, each with its retention)",
    )


def test_a_serverless_endpoint_is_refused(code_dir: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib import AsyncInferenceStorage, DlcVersion, HuggingFaceModel, ModelSource
    from constructs_lib.hosting import ServerlessEndpoint
    from constructs_lib.hosting.data_capture import EndpointDataCapture

    stack = cdk.Stack(construct_app(), "ServerlessCapture")
    model = HuggingFaceModel(
        stack,
        "Model",
        instance_type="ml.m5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )
    endpoint = ServerlessEndpoint(stack, "Endpoint", model=model)
    with pytest.raises(ConfigurationError) as error:
        EndpointDataCapture(
            stack,
            "Capture",
            endpoint=endpoint,
            storage=AsyncInferenceStorage(stack, "Storage"),
            settings=DataCaptureSettings(enabled=True),
        )
    assert error.value.problems == (
        "endpoint: serverless endpoints do not support data capture (SageMaker developer "
        "guide, Serverless Inference, feature exclusions)",
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


def test_the_async_endpoint_refuses_capture_and_says_where_its_data_is() -> None:
    assert problems_of(dev_with(data_capture={"enabled": True})) == (
        "[dev] data_capture.enabled: SageMaker documents data capture for real-time endpoints "
        "only, not for hosting 'async': an async endpoint's requests and results are S3 objects "
        "already (inputs/, requests/, results/, failures/, kept input_retention_days and "
        "result_retention_days) (got true)",
    )


def test_serverless_refuses_capture() -> None:
    ctx = dev_with(hosting="serverless", data_capture={"enabled": True})
    del ctx["summarizer"]["environments"]["dev"]["scaling"]
    del ctx["summarizer"]["environments"]["dev"]["deployment"]
    assert problems_of(ctx) == (
        "[dev] data_capture.enabled: SageMaker documents data capture for real-time endpoints "
        "only, not for hosting 'serverless' (got true)",
    )


@pytest.mark.parametrize(
    ("capture", "problem"),
    [
        (
            {"sampling_percentage": 101},
            "data_capture.sampling_percentage: must be at most 100 (got 101)",
        ),
        (
            {"capture_modes": ["Request"]},
            "data_capture.capture_modes: each must be one of Input, Output, InputAndOutput "
            "(got 'Request')",
        ),
        (
            {"capture_modes": []},
            "data_capture.capture_modes: must name at least one of Input, Output, "
            "InputAndOutput (got [])",
        ),
        (
            {"capture_modes": ["Input", "Input"]},
            "data_capture.capture_modes: each mode at most once (got ['Input', 'Input'])",
        ),
        (
            {"capture_modes": ["InputAndOutput", "Output"]},
            "data_capture.capture_modes: InputAndOutput already captures both; give it alone "
            "(got ['InputAndOutput', 'Output'])",
        ),
        (
            {"json_content_types": ["application json"]},
            "data_capture.json_content_types: each must be a content type 'type/subtype' of "
            "letters, digits, '-' and '.', at most 256 characters (got 'application json')",
        ),
        (
            {"csv_content_types": ["application/json"]},
            "data_capture.csv_content_types: a content type is stored as JSON or as CSV, not "
            "both (got ['application/json'] in both lists)",
        ),
        (
            {"json_content_types": [f"a/{i}" for i in range(11)]},
            "data_capture.json_content_types: at most 10 content types, SageMaker's limit (got 11)",
        ),
        ({"retention_days": 0}, "data_capture.retention_days: must be at least 1 (got 0)"),
    ],
)
def test_each_bad_capture_setting_is_named_with_its_value(
    capture: dict[str, Any], problem: str
) -> None:
    ctx = dev_with(hosting="realtime", data_capture={"enabled": True, **capture})
    del ctx["summarizer"]["environments"]["dev"]["scaling"]
    del ctx["summarizer"]["environments"]["dev"]["deployment"]
    assert problems_of(ctx) == (f"[dev] {problem}",)
