"""The emulator's CloudFormation: nothing skipped silently, custom resources with their whole
lifecycle, failures as stack states with the reason."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from rehearsal.run import Rehearsal

FAILING_HANDLER = """
import json, urllib.request

def handler(event, context):
    body = {
        "Status": "FAILED",
        "Reason": "the handler refused: " + event["ResourceProperties"]["Flag"],
        "PhysicalResourceId": "nothing",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    request = urllib.request.Request(
        event["ResponseURL"], data=json.dumps(body).encode(), method="PUT"
    )
    urllib.request.urlopen(request).read()
"""


def _role(logical_id: str = "Role") -> dict[str, Any]:
    return {
        logical_id: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        }
    }


def _create(rehearsal: Rehearsal, resources: dict[str, Any]) -> dict[str, Any]:
    cloudformation = rehearsal.api.client("cloudformation")
    name = f"probe-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return {"stack": stack, "events": events}


def _failed_reasons(created: dict[str, Any]) -> list[str]:
    return [
        str(e.get("ResourceStatusReason"))
        for e in created["events"]
        if e["ResourceStatus"].endswith("FAILED")
    ]


def test_a_type_without_provider_fails_the_stack(rehearsal: Rehearsal) -> None:
    """moto logs a warning and skips such a resource; the stack would say CREATE_COMPLETE."""
    created = _create(rehearsal, {"Thing": {"Type": "AWS::Pipes::Pipe", "Properties": {}}})
    assert created["stack"]["StackStatus"] == "CREATE_FAILED"
    assert any(
        "Resource type AWS::Pipes::Pipe is not emulated" in reason
        for reason in _failed_reasons(created)
    )


def test_a_property_that_would_be_dropped_fails_the_stack(rehearsal: Rehearsal) -> None:
    created = _create(
        rehearsal,
        {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True,
                                                             "Bogus": 1}}},
    )  # fmt: skip
    assert created["stack"]["StackStatus"] == "CREATE_FAILED"
    assert any(
        "AWS::SQS::Queue: properties Bogus are not emulated" in reason
        for reason in _failed_reasons(created)
    )


def test_a_custom_resource_that_answers_failed_fails_the_stack(rehearsal: Rehearsal) -> None:
    """moto ignores FAILED responses (the stack would wait forever); its properties arrive as
    CloudFormation sends them, strings (the flag is a JSON boolean in the template)."""
    resources = {
        **_role(),
        "Handler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": FAILING_HANDLER},
                "Timeout": 30,
            },
        },
        "Custom": {
            "Type": "Custom::Probe",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}, "Flag": True},
        },
    }
    created = _create(rehearsal, resources)
    assert created["stack"]["StackStatus"] == "CREATE_FAILED"
    assert any(
        "Custom::Probe Custom Create FAILED: the handler refused: true" in reason
        for reason in _failed_reasons(created)
    ), _failed_reasons(created)


def test_deploying_a_stack_records_an_event_per_resource(rehearsal: Rehearsal) -> None:
    created = _create(rehearsal, {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}})
    assert created["stack"]["StackStatus"] == "CREATE_COMPLETE"
    statuses = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in created["events"]]
    assert ("Topic", "CREATE_COMPLETE") in statuses


@pytest.mark.parametrize("secure", ["true", "false"])
def test_the_tls_only_bucket_policy_refuses_only_plain_http(
    rehearsal: Rehearsal, secure: str
) -> None:
    """Requests to the emulator stand for TLS requests: CDK's TLS-only statement lets them
    through, and the same statement turned around (deny when secure) refuses them."""
    s3 = rehearsal.api.client("s3")
    bucket = f"probe-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    statement = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": secure}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [statement]}))
    if secure == "false":
        s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    else:
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError, match=r"403|AccessDenied"):
            s3.put_object(Bucket=bucket, Key="a", Body=b"x")


def test_s3_events_of_a_versioned_bucket_carry_the_version(rehearsal: Rehearsal) -> None:
    """The data path's job ids are made from versionId; moto's events leave it out."""
    s3, sqs = rehearsal.api.client("s3"), rehearsal.api.client("sqs")
    bucket = f"probe-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    url = sqs.create_queue(QueueName=bucket)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    version = s3.put_object(Bucket=bucket, Key="inputs/a.txt", Body=b"x")["VersionId"]
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    records = [r for body in bodies for r in body.get("Records", [])]
    assert [r["s3"]["object"]["versionId"] for r in records] == [version]


def _region_rule(*regions: str) -> dict[str, Any]:
    return {
        "Served": {
            "Assertions": [
                {
                    "Assert": {"Fn::Contains": [list(regions), {"Ref": "AWS::Region"}]},
                    "AssertDescription": "this region has no model image",
                }
            ]
        }
    }


def test_a_failed_rule_refuses_the_stack_before_anything_exists(rehearsal: Rehearsal) -> None:
    """moto ignores Rules (our templates refuse regions without a Hugging Face DLC there)."""
    from botocore.exceptions import ClientError

    cloudformation = rehearsal.api.client("cloudformation")
    name = f"probe-{uuid.uuid4().hex[:8]}"
    template = {
        "Rules": _region_rule("eu-west-1"),
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}},
    }
    with pytest.raises(ClientError, match="this region has no model image") as refused:
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError, match="does not exist"):
        cloudformation.describe_stacks(StackName=name)


def test_a_failed_rule_refuses_an_update(rehearsal: Rehearsal) -> None:
    from botocore.exceptions import ClientError

    cloudformation = rehearsal.api.client("cloudformation")
    resources = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}
    created = _create(rehearsal, resources)
    name = created["stack"]["StackName"]
    template = {
        "Rules": _region_rule("eu-west-1"),
        "Resources": {**resources, "Other": {"Type": "AWS::SNS::Topic", "Properties": {}}},
    }
    with pytest.raises(ClientError, match="this region has no model image"):
        cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(template))
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    logical = [
        r["LogicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    ]
    assert logical == ["Topic"]
    template["Rules"] = _region_rule("eu-west-1", "us-east-1")
    cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(template))
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"


def test_a_parameter_an_update_removes_is_gone_from_the_stack(rehearsal: Rehearsal) -> None:
    """moto kept listing it, and the CLI then sent UsePreviousValue for it when a later template
    declared it again (Powertools' layer parameter after ``powertools: bundled``)."""
    cloudformation = rehearsal.api.client("cloudformation")
    name = f"probe-{uuid.uuid4().hex[:8]}"
    topic = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}
    with_parameter = {
        "Parameters": {"Layer": {"Type": "String", "Default": "one"}},
        "Resources": topic,
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(with_parameter))
    cloudformation.update_stack(StackName=name, TemplateBody=json.dumps({"Resources": topic}))
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack.get("Parameters", []) == []
    cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(with_parameter))
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Parameters"] == [{"ParameterKey": "Layer", "ParameterValue": "one"}]
