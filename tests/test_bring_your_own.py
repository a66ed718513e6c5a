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
        ModelSource,
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
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
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


# --- an existing bucket and key -------------------------------------------------------------------

LAKE = "research-data-lake"
LAKE_KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _byo_bucket_stack(code_dir: Path, *, with_key: bool) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from constructs_lib import (
        AsyncEndpoint,
        AsyncInferenceStorage,
        AsyncNotifications,
        DlcVersion,
        HuggingFaceModel,
        ModelSource,
    )
    from tests.conftest import construct_app

    app = construct_app()
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    stack = cdk.Stack(app, "ByoBucket" if with_key else "ByoSseS3Bucket", env=env)
    storage = AsyncInferenceStorage(
        stack,
        "Storage",
        existing_bucket=s3.Bucket.from_bucket_name(stack, "Lake", LAKE),
        existing_key=kms.Key.from_key_arn(stack, "LakeKey", LAKE_KEY) if with_key else None,
    )
    storage.add_prefix("request", "requests/", retention_days=3)
    model = HuggingFaceModel(
        stack,
        "Model",
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )
    AsyncEndpoint(
        stack,
        "Endpoint",
        model=model,
        storage=storage,
        notifications=AsyncNotifications(stack, "Notifications"),
        instance_type="ml.g5.xlarge",
    )
    return stack, storage


@pytest.fixture(scope="module")
def byo_bucket(code_dir: Path) -> Any:
    from aws_cdk.assertions import Template

    stack, storage = _byo_bucket_stack(code_dir, with_key=True)
    return Template.from_stack(stack), storage


def _statements(template: Any) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _lake_objects(prefix: str) -> str:
    # The stack is pinned to an account and region, so the partition resolves to "aws".
    return f"arn:aws:s3:::{LAKE}/{prefix}*"


def test_an_existing_bucket_creates_no_bucket_log_bucket_or_storage_key(byo_bucket: Any) -> None:
    template, storage = byo_bucket
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.resource_count_is("AWS::S3::BucketPolicy", 0)
    # The one key left encrypts the created topics.
    assert len(template.find_resources("AWS::KMS::Key")) == 1
    assert storage.access_logs_bucket is None
    assert storage.prefixes == ["inputs/", "results/", "failures/", "requests/"]


def test_grants_on_an_existing_bucket_stay_per_prefix_and_include_its_key(
    byo_bucket: Any,
) -> None:
    template, _ = byo_bucket
    statements = _statements(template)
    lake = [
        (s["Action"], resource)
        for s in statements
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        if LAKE in str(resource)
    ]
    assert sorted(lake, key=str) == sorted(
        [
            ("s3:GetObject", _lake_objects("inputs/")),
            (["s3:AbortMultipartUpload", "s3:PutObject"], _lake_objects("results/")),
            (["s3:AbortMultipartUpload", "s3:PutObject"], _lake_objects("failures/")),
        ],
        key=str,
    ), "no grant on the whole bucket, nor on the registered requests/ prefix unasked"
    # The lake key shares a statement with the topic key: both need the same two actions.
    assert any(
        LAKE_KEY in s["Resource"] and sorted(s["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
        for s in statements
    )


def test_the_endpoint_writes_with_the_existing_key(byo_bucket: Any) -> None:
    template, _ = byo_bucket
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            # g5 instances have NVMe instance storage: no volume key there, only the output key.
            "AsyncInferenceConfig": {
                "OutputConfig": {
                    "KmsKeyId": LAKE_KEY,
                    "S3OutputPath": f"s3://{LAKE}/results/",
                    "S3FailurePath": f"s3://{LAKE}/failures/",
                }
            },
        },
    )


def test_an_sse_s3_bucket_without_key_omits_kms_and_refuses_key_users(code_dir: Path) -> None:
    from aws_cdk.assertions import Match, Template

    from constructs_lib import ConfigurationError

    stack, storage = _byo_bucket_stack(code_dir, with_key=False)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"AsyncInferenceConfig": {"OutputConfig": {"KmsKeyId": Match.absent()}}},
    )
    assert not any(LAKE_KEY in str(s["Resource"]) for s in _statements(template))
    with pytest.raises(ConfigurationError) as raised:
        _ = storage.key
    assert raised.value.problems == (
        "existing_key: ByoSseS3Bucket/Storage was given existing_bucket without existing_key, "
        "and a construct using it needs the customer-managed KMS key that encrypts the bucket: "
        "pass it as existing_key",
    )


def test_settings_an_existing_bucket_cannot_take_are_refused_together() -> None:
    import aws_cdk as cdk
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_s3 as s3

    from constructs_lib import AsyncInferenceStorage, ConfigurationError

    stack = cdk.Stack()
    with pytest.raises(ConfigurationError) as raised:
        AsyncInferenceStorage(
            stack,
            "Storage",
            existing_bucket=s3.Bucket.from_bucket_name(stack, "Lake", LAKE),
            input_retention_days=7,
            removal_policy=RemovalPolicy.DESTROY,
        )
    assert raised.value.problems == (
        "input_retention_days: cannot apply to existing_bucket, whose lifecycle and deletion are "
        "its owner's; leave it unset (got 7)",
        "removal_policy: cannot apply to existing_bucket, whose lifecycle and deletion are its "
        "owner's; leave it unset (got RemovalPolicy.DESTROY)",
    )


def test_an_existing_key_without_an_existing_bucket_is_refused() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms

    from constructs_lib import AsyncInferenceStorage, ConfigurationError

    stack = cdk.Stack()
    with pytest.raises(ConfigurationError) as raised:
        AsyncInferenceStorage(
            stack, "Storage", existing_key=kms.Key.from_key_arn(stack, "K", LAKE_KEY)
        )
    assert raised.value.problems == (
        "existing_key: only applies with existing_bucket (the key that encrypts it); a created "
        "bucket gets its own key",
    )


def test_add_prefix_on_an_existing_bucket_still_refuses_overlaps(byo_bucket: Any) -> None:
    from constructs_lib import ConfigurationError

    _, storage = byo_bucket
    with pytest.raises(ConfigurationError) as raised:
        storage.add_prefix("more_requests", "requests/more/", retention_days=3)
    assert raised.value.problems == (
        "more_requests: 'requests/more/' overlaps the prefix 'requests/' already in the bucket",
    )


@pytest.fixture(scope="module")
def byo_data_path(code_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The data path on an existing bucket and key, synthesized once under cdk-nag."""
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from constructs_lib import (
        AsyncEndpoint,
        AsyncInferenceStorage,
        AsyncNotifications,
        DlcVersion,
        HuggingFaceModel,
        ModelSource,
    )
    from constructs_lib.data_path import DataPath, DataPathSettings
    from tests._hosting_gates import app_in, synth_gated

    outdir = tmp_path_factory.mktemp("byo_data_path")
    app = app_in(outdir)
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    stack = cdk.Stack(app, "ByoDataPath", env=env)
    storage = AsyncInferenceStorage(
        stack,
        "Storage",
        existing_bucket=s3.Bucket.from_bucket_name(stack, "Lake", LAKE),
        existing_key=kms.Key.from_key_arn(stack, "LakeKey", LAKE_KEY),
    )
    model = HuggingFaceModel(
        stack,
        "Model",
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )
    endpoint = AsyncEndpoint(
        stack,
        "Endpoint",
        model=model,
        storage=storage,
        notifications=AsyncNotifications(stack, "Notifications"),
        instance_type="ml.g5.xlarge",
    )
    DataPath(
        stack,
        "DataPath",
        endpoint=endpoint,
        settings=DataPathSettings(),
        model_id="google/pegasus-large",
    )
    return synth_gated(app, outdir), storage


def test_the_data_path_on_an_existing_bucket_passes_cfn_lint_and_cdk_nag(
    byo_data_path: Any,
) -> None:
    from tests._hosting_gates import assert_gates_clean

    gated, _ = byo_data_path
    assert_gates_clean(gated)
    # The per-prefix object wildcards on the imported bucket are acknowledged by their ARN.
    findings = {v["ruleName"] + str(v["violatingConstructs"]) for v in gated.acknowledged()}
    assert any(f"arn:aws:s3:::{LAKE}/inputs/*" in f for f in findings), sorted(findings)


def test_the_data_path_runs_on_an_existing_bucket_and_its_prefixes_expire_nowhere(
    byo_data_path: Any,
) -> None:
    from aws_cdk.assertions import Match

    gated, storage = byo_data_path
    template = gated.template("ByoDataPath")
    template.resource_count_is("AWS::S3::Bucket", 0)
    assert storage.prefixes[3:] == ["requests/", "curated/", "athena-results/"]
    # S3 notifications of a bucket this stack does not own go through CDK's custom resource,
    # which leaves the bucket's other notifications in place (Managed: false).
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {"BucketName": LAKE, "Managed": False, "NotificationConfiguration": Match.any_value()},
    )
    # The jobs table is encrypted with the lake key the storage was given.
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"SSESpecification": Match.object_like({"KMSMasterKeyId": LAKE_KEY})},
    )


def test_on_an_existing_bucket_dead_letters_keep_the_longest_sqs_allows(
    byo_data_path: Any,
) -> None:
    """The bucket's lifecycle is its owner's, unknown here: the DLQs keep 14 days, and
    docs/library.md asks the owner to keep inputs/, requests/ and results/ 15 days or more."""
    gated, _ = byo_data_path
    queues = gated.template("ByoDataPath").find_resources("AWS::SQS::Queue").values()
    retention = sorted(q["Properties"]["MessageRetentionPeriod"] for q in queues)
    assert retention == [4 * 86_400, 4 * 86_400, 14 * 86_400, 14 * 86_400]
