"""Storage and notification topics: customer keys, TLS only, no public access, retention."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.conftest import only


def data_bucket(template: Any) -> tuple[str, dict[str, Any]]:
    return only(
        template,
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
                    ]
                }
            }
        },
    )


def test_data_bucket_is_encrypted_with_the_storage_customer_key(dev: Any) -> None:
    _, bucket = data_bucket(dev)
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    key_ref = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    key_id = key_ref["Fn::GetAtt"][0]
    key = dev.to_json()["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert rule["BucketKeyEnabled"] is True


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_bucket_blocks_public_access_and_is_versioned(
    environment: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(environment)
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_every_bucket_policy_denies_plain_http(dev: Any) -> None:
    policies = dev.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        assert {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
        }.items() <= next(
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ).items()


def test_data_bucket_logs_access_to_the_log_bucket(dev: Any) -> None:
    _, bucket = data_bucket(dev)
    logging = bucket["Properties"]["LoggingConfiguration"]
    log_bucket_id = logging["DestinationBucketName"]["Ref"]
    log_bucket = dev.to_json()["Resources"][log_bucket_id]
    # S3 server access logs can only be delivered to an SSE-S3 bucket.
    assert log_bucket["Properties"]["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    assert logging["LogFilePrefix"] == "data-bucket/"


@pytest.mark.parametrize(
    ("environment", "input_days", "result_days"), [("dev", 3, 7), ("prod", 7, 30)]
)
def test_each_prefix_expires_after_its_configured_retention(
    environment: str, input_days: int, result_days: int, request: pytest.FixtureRequest
) -> None:
    _, bucket = data_bucket(request.getfixturevalue(environment))
    rules = {r["Prefix"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert {p: r["ExpirationInDays"] for p, r in rules.items()} == {
        "inputs/": input_days,
        "results/": result_days,
        "failures/": result_days,
        # The data path's prefixes: requests like inputs, the curated dataset as long as its
        # job records (job_ttl_days), Athena results a week.
        "requests/": input_days,
        "curated/": 90,
        "athena-results/": 7,
    }
    for rule in rules.values():
        assert rule["Status"] == "Enabled"
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


def test_prod_retains_buckets_and_keys(prod: Any) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        resources = prod.find_resources(resource_type)
        assert resources
        for resource in resources.values():
            assert resource["DeletionPolicy"] == "Retain"
            assert resource["UpdateReplacePolicy"] == "Retain"
    prod.resource_count_is("Custom::S3AutoDeleteObjects", 0)


def log_bucket(template: Any) -> tuple[str, dict[str, Any]]:
    _, bucket = data_bucket(template)
    log_bucket_id = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    return log_bucket_id, template.to_json()["Resources"][log_bucket_id]


def test_dev_destroys_and_empties_the_data_bucket(dev: Any) -> None:
    data_id, bucket = data_bucket(dev)
    assert bucket["DeletionPolicy"] == "Delete"
    (emptier,) = dev.find_resources("Custom::S3AutoDeleteObjects").values()
    assert emptier["Properties"]["BucketName"] == {"Ref": data_id}
    for key in dev.find_resources("AWS::KMS::Key").values():
        assert key["DeletionPolicy"] == "Delete"
        assert key["Properties"]["PendingWindowInDays"] == 7


def test_success_and_error_topics_use_one_customer_key_and_deny_plain_http(dev: Any) -> None:
    topics = dev.find_resources(
        "AWS::SNS::Topic", {"Properties": {"DisplayName": Match.string_like_regexp("^Summaries")}}
    )
    assert len(topics) == 2
    keys = {t["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0] for t in topics.values()}
    assert len(keys) == 1
    (key_id,) = keys
    assert dev.to_json()["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    for topic_id in topics:
        dev.has_resource_properties(
            "AWS::SNS::TopicPolicy",
            {
                "Topics": [{"Ref": topic_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sns:Publish",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_no_email_subscriptions_by_default(dev: Any) -> None:
    assert dev.find_resources("AWS::SNS::Subscription", {"Properties": {"Protocol": "email"}}) == {}
    # The data path's recorder queue is the only subscriber (to the success and error topics).
    assert {
        s["Properties"]["Protocol"] for s in dev.find_resources("AWS::SNS::Subscription").values()
    } == {"sqs"}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_access_logs_outlive_the_stack_and_expire_on_their_own(
    environment: str, request: pytest.FixtureRequest
) -> None:
    # Late log deliveries would fail an emptied log bucket's deletion (aws/aws-cdk#16332), so
    # the log bucket is never deleted with the stack, in any environment: its logs expire.
    template = request.getfixturevalue(environment)
    log_id, bucket = log_bucket(template)
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    assert not template.find_resources(
        "Custom::S3AutoDeleteObjects", {"Properties": {"BucketName": {"Ref": log_id}}}
    )
    # S3 cannot deliver access logs to a bucket with Object Lock, whatever the controls ask.
    assert "ObjectLockEnabled" not in bucket["Properties"]
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert "Prefix" not in rule
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] >= 90
    template.has_output("AccessLogsBucketName", {"Value": {"Ref": log_id}})
