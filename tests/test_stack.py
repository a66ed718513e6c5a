"""The composed stack: what each environment gets, and the outputs a client needs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.conftest import only


@pytest.mark.parametrize(("environment", "max_capacity"), [("dev", 2), ("prod", 5)])
def test_each_environment_scales_between_zero_and_its_maximum(
    environment: str, max_capacity: int, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(environment)
    endpoint_id, _ = only(template, "AWS::SageMaker::Endpoint")
    _, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["MinCapacity"] == 0
    assert target["Properties"]["MaxCapacity"] == max_capacity
    assert target["Properties"]["ResourceId"] == {
        "Fn::Join": [
            "",
            ["endpoint/", {"Fn::GetAtt": [endpoint_id, "EndpointName"]}, "/variant/AllTraffic"],
        ]
    }
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 2)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "HasBacklogWithoutCapacity", "Threshold": 1, "Period": 60},
    )


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_each_environment_has_its_dashboard_and_alarms(
    environment: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(environment)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    # Five operational alarms, the wake-up alarm of the scaling policy and the data path's
    # ten (DLQ depth and oldest message per queue, errors, throttles and access denied per
    # function).
    template.resource_count_is("AWS::CloudWatch::Alarm", 16)


def test_prod_is_protected_from_deletion(assembly: Any) -> None:
    prod = assembly.get_stack_by_name("PegasusSummarizer-prod")
    dev = assembly.get_stack_by_name("PegasusSummarizer-dev")
    assert prod.termination_protection is True
    assert dev.termination_protection is False


def test_stacks_stay_environment_agnostic(assembly: Any) -> None:
    for name in ("PegasusSummarizer-dev", "PegasusSummarizer-prod"):
        environment = assembly.get_stack_by_name(name).environment
        assert (environment.account, environment.region) == ("unknown-account", "unknown-region")


def test_outputs_give_a_client_everything_it_needs(dev: Any) -> None:
    outputs = dev.find_outputs("*")
    assert sorted(outputs) == [
        "AccessLogsBucketName",
        "AthenaWorkGroup",
        "DataBucketName",
        "DirectRequestPrefix",
        "DispatchQueueUrl",
        "EndpointName",
        "ErrorTopicArn",
        "FailureLocation",
        "GlueDatabase",
        "GlueTable",
        "InputLocation",
        "InputPrefix",
        "JobsTableName",
        "OutputLocation",
        "RequestPrefix",
        "SuccessTopicArn",
    ]
    endpoint_id, _ = only(dev, "AWS::SageMaker::Endpoint")
    assert outputs["EndpointName"]["Value"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
    for output, prefix in (
        ("InputLocation", "/inputs/"),
        ("OutputLocation", "/results/"),
        ("FailureLocation", "/failures/"),
    ):
        parts = outputs[output]["Value"]["Fn::Join"][1]
        assert parts[0] == "s3://" and parts[2] == prefix
    topics = dev.find_resources(
        "AWS::SNS::Topic", {"Properties": {"DisplayName": Match.string_like_regexp("^Summaries")}}
    )
    assert {
        outputs["SuccessTopicArn"]["Value"]["Ref"],
        outputs["ErrorTopicArn"]["Value"]["Ref"],
    } == (set(topics))


def test_stacks_are_tagged_with_project_and_environment(assembly: Any) -> None:
    # Stack tags: CloudFormation propagates them to every resource that supports tags.
    for environment in ("dev", "prod"):
        stack = assembly.get_stack_by_name(f"PegasusSummarizer-{environment}")
        assert stack.tags == {"environment": environment, "project": "pegasus-async-summarizer"}
