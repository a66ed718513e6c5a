"""Bring your own resources: existing topics and keys, with the grants still exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SUCCESS = "arn:aws:sns:eu-west-1:123456789012:org-summaries-ready"
ERROR = "arn:aws:sns:eu-west-1:123456789012:org-summaries-failed"
ORG_KEY = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.fixture(scope="module")
def byo_topics(code_dir: Path) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns
    from aws_cdk.assertions import Template

    from constructs_lib import (
        AsyncEndpoint,
        AsyncInferenceStorage,
        AsyncNotifications,
        DlcVersion,
        HuggingFaceModel,
    )
    from tests.conftest import construct_app

    app = construct_app()
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    stack = cdk.Stack(app, "ByoTopics", env=env)
    notifications = AsyncNotifications(
        stack,
        "Notifications",
        existing_success_topic=sns.Topic.from_topic_arn(stack, "Ready", SUCCESS),
        existing_error_topic=sns.Topic.from_topic_arn(stack, "Failed", ERROR),
        key=kms.Key.from_key_arn(stack, "OrgKey", ORG_KEY),
    )
    model = HuggingFaceModel(
        stack,
        "Model",
        code_dir=code_dir,
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        model_id="google/pegasus-large",
    )
    AsyncEndpoint(
        stack,
        "Endpoint",
        model=model,
        storage=AsyncInferenceStorage(stack, "Storage"),
        notifications=notifications,
        instance_type="ml.g5.xlarge",
    )
    return Template.from_stack(stack)


def test_no_topic_or_topic_key_is_created(byo_topics: Any) -> None:
    byo_topics.resource_count_is("AWS::SNS::Topic", 0)
    # Only the storage key remains.
    assert len(byo_topics.find_resources("AWS::KMS::Key")) == 1


def test_the_endpoint_notifies_the_existing_topics(byo_topics: Any) -> None:
    byo_topics.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "AsyncInferenceConfig": {
                "OutputConfig": {
                    "NotificationConfig": {"SuccessTopic": SUCCESS, "ErrorTopic": ERROR}
                }
            }
        },
    )


def test_the_execution_role_publishes_to_exactly_those_topics_with_the_org_key(
    byo_topics: Any,
) -> None:
    statements = [
        statement
        for policy in byo_topics.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (publish,) = [s for s in statements if s["Action"] == "sns:Publish"]
    assert sorted(publish["Resource"]) == sorted([SUCCESS, ERROR])
    # The storage key and the org key need the same actions, so one statement names both.
    assert any(
        ORG_KEY in s["Resource"] and sorted(s["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
        for s in statements
    )


def test_one_existing_topic_alone_is_refused() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_sns as sns

    from constructs_lib import AsyncNotifications, ConfigurationError

    stack = cdk.Stack()
    with pytest.raises(ConfigurationError) as raised:
        AsyncNotifications(
            stack,
            "N",
            existing_success_topic=sns.Topic.from_topic_arn(stack, "T", SUCCESS),
        )
    assert raised.value.problems == (
        "existing_success_topic / existing_error_topic: give both topics or neither",
    )
