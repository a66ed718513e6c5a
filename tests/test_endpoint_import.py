"""The endpoint as the seam: scaling, monitoring and grants attach to an endpoint made elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

EXISTING = "research-summarizer"
BUCKET = "research-data-lake"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def imported() -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3
    from aws_cdk.assertions import Template

    from constructs_lib import (
        AsyncEndpoint,
        AsyncEndpointMonitoring,
        AsyncEndpointScaling,
        MonitoringSettings,
        ScalingSettings,
    )
    from tests.conftest import construct_app

    app = construct_app()
    stack = cdk.Stack(
        app, "Existing", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    endpoint = AsyncEndpoint.from_endpoint_attributes(
        stack,
        "Endpoint",
        endpoint_name=EXISTING,
        bucket=s3.Bucket.from_bucket_name(stack, "Lake", BUCKET),
        key=kms.Key.from_key_arn(stack, "LakeKey", KEY_ARN),
        input_prefix="summarizer/in/",
        output_prefixes=("summarizer/out/",),
    )
    AsyncEndpointScaling(stack, "Scaling", endpoint=endpoint, settings=ScalingSettings())
    AsyncEndpointMonitoring(stack, "Monitoring", endpoint=endpoint, settings=MonitoringSettings())
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke_async(caller)
    return Template.from_stack(stack)


def test_nothing_of_the_endpoint_itself_is_created(imported: Any) -> None:
    for resource_type in ("AWS::SageMaker::Endpoint", "AWS::SageMaker::EndpointConfig"):
        imported.resource_count_is(resource_type, 0)


def test_alarms_and_scaling_name_the_existing_endpoint(imported: Any) -> None:
    alarms = imported.find_resources("AWS::CloudWatch::Alarm")
    assert alarms
    dimension = {"Name": "EndpointName", "Value": EXISTING}
    for alarm in alarms.values():
        # Plain alarms carry dimensions; metric-math alarms carry them per metric.
        properties = alarm["Properties"]
        metrics = [
            m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m
        ]
        dimensions = [d for m in metrics for d in m["Dimensions"]] + properties.get(
            "Dimensions", []
        )
        assert dimension in dimensions, alarm
    imported.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"ResourceId": f"endpoint/{EXISTING}/variant/AllTraffic"},
    )
    (dashboard,) = imported.find_resources("AWS::CloudWatch::Dashboard").values()
    assert EXISTING in str(dashboard["Properties"]["DashboardBody"])


def test_the_caller_gets_exactly_invoke_upload_read_and_the_key(imported: Any) -> None:
    (policy,) = imported.find_resources("AWS::IAM::Policy").values()
    statements = {
        (s["Action"] if isinstance(s["Action"], str) else tuple(sorted(s["Action"]))): s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert statements["sagemaker:InvokeEndpointAsync"] == (
        f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{EXISTING}"
    )
    assert statements[("s3:AbortMultipartUpload", "s3:PutObject")] == (
        f"arn:aws:s3:::{BUCKET}/summarizer/in/*"
    )
    assert statements["s3:GetObject"] == f"arn:aws:s3:::{BUCKET}/summarizer/out/*"
    assert statements[("kms:Decrypt", "kms:GenerateDataKey")] == KEY_ARN
    assert len(statements) == 4


def test_the_arn_of_a_mixed_case_name_is_lower_case() -> None:
    import aws_cdk as cdk

    from constructs_lib import AsyncEndpoint

    stack = cdk.Stack(env=cdk.Environment(account="123456789012", region="us-east-1"))
    endpoint = AsyncEndpoint.from_endpoint_name(stack, "E", "Summarizer-Prod")
    assert stack.resolve(endpoint.endpoint_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sagemaker:us-east-1:123456789012:endpoint/summarizer-prod",
            ],
        ]
    }
    assert endpoint.endpoint_name == "Summarizer-Prod"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"endpoint_name": "bad_name"},
            "endpoint_name: must be 1 to 63 letters, digits or '-', not starting or ending with "
            "'-' (got 'bad_name')",
        ),
        (
            {"endpoint_name": "ok", "variant_name": "-x"},
            "variant_name: must be 1 to 63 letters, digits or '-', not starting or ending with "
            "'-' (got '-x')",
        ),
    ],
)
def test_bad_names_are_refused(kwargs: dict[str, Any], message: str) -> None:
    import aws_cdk as cdk

    from constructs_lib import AsyncEndpoint, ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        AsyncEndpoint.from_endpoint_attributes(cdk.Stack(), "E", **kwargs)
    assert raised.value.problems == (message,)
