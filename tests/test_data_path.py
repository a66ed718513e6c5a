"""The data path's resources: queues, functions, grants, table, catalog, alarms, outputs.

Resources are found through what links them (the function's handler, its event source, the
queue it reads), never through logical ids.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from constructs_lib._validation import ConfigurationError
from constructs_lib.data_path.settings import DataPathSettings
from tests.conftest import (
    Governed,
    cdk_json_context,
    construct_app,
    endpoint_in,
    only,
    synthesize,
)

DISPATCHER = "runtime.dispatcher.handler"
RECORDER = "runtime.recorder.handler"
POWERTOOLS_PARAMETER = "/aws/service/powertools/python/arm64/python3.12/3.37.0"


def resources(template: Any) -> dict[str, Any]:
    found: dict[str, Any] = template.to_json()["Resources"]
    return found


def function(template: Any, handler: str) -> tuple[str, dict[str, Any]]:
    return only(template, "AWS::Lambda::Function", {"Properties": {"Handler": handler}})


def event_source(template: Any, handler: str) -> dict[str, Any]:
    function_id, _ = function(template, handler)
    _, mapping = only(
        template,
        "AWS::Lambda::EventSourceMapping",
        {"Properties": {"FunctionName": {"Ref": function_id}}},
    )
    return mapping["Properties"]


def queue_of(template: Any, handler: str) -> tuple[str, dict[str, Any]]:
    """The queue a function consumes: (logical id, definition)."""
    queue_id = event_source(template, handler)["EventSourceArn"]["Fn::GetAtt"][0]
    return queue_id, resources(template)[queue_id]


def statements_of(template: Any, handler: str) -> list[dict[str, Any]]:
    """Every statement of the function's role policies."""
    _, fn = function(template, handler)
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def s3_paths(statement: dict[str, Any]) -> set[str]:
    """``/inputs/*``-style suffixes of the statement's data-bucket object ARNs."""
    found = statement["Resource"]
    found = found if isinstance(found, list) else [found]
    return {
        r["Fn::Join"][1][1]
        for r in found
        if isinstance(r, dict) and "Fn::Join" in r and isinstance(r["Fn::Join"][1][1], str)
    }


def grants(template: Any, handler: str) -> dict[str, set[str]]:
    """S3 action -> object paths it is granted on, for the function's role."""
    found: dict[str, set[str]] = {}
    for statement in statements_of(template, handler):
        for action in actions(statement):
            if action.startswith("s3:"):
                found.setdefault(action, set()).update(s3_paths(statement))
    return found


def data_key_id(template: Any) -> str:
    _, queue = queue_of(template, DISPATCHER)
    key_id: str = queue["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    return key_id


def storage_key_id(template: Any) -> str:
    _, bucket = only(template, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    key_id: str = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    return key_id


# --- queues ------------------------------------------------------------------------------------


DAY = 86_400


@pytest.mark.parametrize(
    ("handler", "visibility"),
    # 6 x the function timeout (+ the batching window): 6 x 120 + 20 and 6 x 60.
    [(DISPATCHER, 740), (RECORDER, 360)],
)
def test_each_work_queue_is_encrypted_and_redrives_to_its_own_dlq(
    prod: Any, handler: str, visibility: int
) -> None:
    _, queue = queue_of(prod, handler)
    props = queue["Properties"]
    assert props["VisibilityTimeout"] == visibility
    assert props["MessageRetentionPeriod"] == 4 * DAY
    assert props["RedrivePolicy"]["maxReceiveCount"] == 5
    assert props["KmsMasterKeyId"] == {"Fn::GetAtt": [data_key_id(prod), "Arn"]}
    dlq = dead_letter_queue(prod, handler)["Properties"]
    # prod keeps inputs and requests 7 days: its dead letters 6, at least as long as the
    # source queue (a dead letter's expiry counts from its first enqueue).
    assert dlq["MessageRetentionPeriod"] == 6 * DAY
    assert dlq["KmsMasterKeyId"] == props["KmsMasterKeyId"]


def dead_letter_queue(template: Any, handler: str) -> dict[str, Any]:
    _, queue = queue_of(template, handler)
    dlq_id = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    found: dict[str, Any] = resources(template)[dlq_id]
    return found


def test_a_dead_letter_queue_keeping_less_than_its_source_is_refused() -> None:
    import aws_cdk as cdk

    from constructs_lib.data_path import WorkQueue

    stack = cdk.Stack(construct_app(), "Queues")
    with pytest.raises(ConfigurationError) as error:
        WorkQueue(
            stack,
            "Queue",
            key=cdk.aws_kms.Key(stack, "Key"),
            visibility_timeout=cdk.Duration.minutes(1),
            max_receive_count=3,
            retention=cdk.Duration.days(4),
            dead_letter_retention=cdk.Duration.days(2),
        )
    assert error.value.problems == (
        "dead_letter_retention: must be 60 s to 14 days (SQS's limits) and at least retention "
        "(345600 s), since a dead letter's expiry counts from its first enqueue (got 172800 s)",
    )


def lifecycle_days(template: Any) -> dict[str, int]:
    """Prefix -> days before its objects expire, from the data bucket's lifecycle rules."""
    _, bucket = only(template, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    return {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules}


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("handler", [DISPATCHER, RECORDER])
def test_a_dead_letter_never_outlives_what_it_names(
    dev: Any, prod: Any, environment: str, handler: str
) -> None:
    """A dispatch dead letter names a document (inputs/), a record dead letter a request body
    (requests/) and an output (results/): each is kept a day less than those, so a redrive
    within the DLQ's retention finds them, with a day to spare for processing."""
    template = {"dev": dev, "prod": prod}[environment]
    days = lifecycle_days(template)
    named = min(days["inputs/"], days["requests/"], days["results/"])
    dlq = dead_letter_queue(template, handler)["Properties"]
    assert dlq["MessageRetentionPeriod"] == min(14, named - 1) * DAY
    _, queue = queue_of(template, handler)
    assert queue["Properties"]["MessageRetentionPeriod"] <= dlq["MessageRetentionPeriod"]
    # dev keeps inputs and requests 3 days: dead letters 2.
    if environment == "dev":
        assert dlq["MessageRetentionPeriod"] == 2 * DAY


def test_the_data_path_key_rotates(dev: Any) -> None:
    key = resources(dev)[data_key_id(dev)]
    assert key["Properties"]["EnableKeyRotation"] is True


def test_every_queue_refuses_plain_http(dev: Any) -> None:
    queues = dev.find_resources("AWS::SQS::Queue")
    assert len(queues) == 4
    for queue_id in queues:
        dev.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Action": "sqs:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                            }
                        ]
                    )
                },
            },
        )


def data_bucket(template: Any) -> tuple[str, dict[str, Any]]:
    return only(template, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})


def test_uploads_under_inputs_notify_the_dispatch_queue_from_the_bucket_itself(dev: Any) -> None:
    """The notification is the bucket's own configuration, which AWS Control Tower's
    CT.S3.PR.4 reads, not aws-cdk-lib's custom resource (and its Lambda outside any VPC)."""
    queue_id, _ = queue_of(dev, DISPATCHER)
    _, bucket = data_bucket(dev)
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True},
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "inputs/"}]}},
                "Queue": {"Fn::GetAtt": [queue_id, "Arn"]},
            }
        ],
    }
    # S3 validates the destination with a test event: the queue policy must exist first.
    (policy_id,) = dev.find_resources(
        "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": queue_id}]}}
    )
    assert policy_id in bucket["DependsOn"]
    assert not dev.find_resources("Custom::S3BucketNotifications")
    handlers = dev.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.handler"}}
    )
    assert not [h for h in handlers if h.startswith("BucketNotificationsHandler")]


# The stack id's uuid (arn:...:stack/<name>/<uuid>): new on every create of the stack.
STACK_UUID = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}


def test_the_data_bucket_name_fits_s3s_63_characters_whatever_the_stack_name() -> None:
    import aws_cdk as cdk

    from constructs_lib.data_path.delivery import stack_scoped_bucket_name

    stack = cdk.Stack(construct_app(), "A-Very-Long-Stack-Name-For-A-Team-With-Many-Words")
    name = stack.resolve(stack_scoped_bucket_name(stack))
    # 26 characters of the stack name (lower case, no trailing '-'), '-', the 36-char uuid.
    assert name == {"Fn::Join": ["", ["a-very-long-stack-name-for-", STACK_UUID]]}


def test_only_this_bucket_in_this_account_may_send_to_the_dispatch_queue(dev: Any) -> None:
    """The bucket's name is known before it exists (the stack's name and id), so the queue
    policy can name it without waiting for the bucket, which waits for the policy."""
    queue_id, _ = queue_of(dev, DISPATCHER)
    _, bucket = data_bucket(dev)
    assert bucket["Properties"]["BucketName"] == {
        "Fn::Join": ["", ["pegasussummarizer-dev-", STACK_UUID]]
    }
    _, policy = only(dev, "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": queue_id}]}})
    allows = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert allows == [
        {
            "Action": "sqs:SendMessage",
            "Condition": {
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":s3:::pegasussummarizer-dev-",
                                STACK_UUID,
                            ],
                        ]
                    }
                },
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        }
    ]


def test_only_the_result_topics_may_send_to_the_recorder_queue(dev: Any) -> None:
    queue_id, _ = queue_of(dev, RECORDER)
    topics = dev.find_resources(
        "AWS::SNS::Topic", {"Properties": {"DisplayName": Match.string_like_regexp("^Summaries")}}
    )
    _, policy = only(dev, "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": queue_id}]}})
    (allow,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    source_arns = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert {ref["Ref"] for ref in source_arns} == set(topics)


def test_recorder_queue_gets_both_topics_raw(dev: Any) -> None:
    queue_id, _ = queue_of(dev, RECORDER)
    subscriptions = dev.find_resources(
        "AWS::SNS::Subscription",
        {
            "Properties": {
                "Protocol": "sqs",
                "RawMessageDelivery": True,
                "Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]},
            }
        },
    )
    topics = dev.find_resources(
        "AWS::SNS::Topic", {"Properties": {"DisplayName": Match.string_like_regexp("^Summaries")}}
    )
    assert {s["Properties"]["TopicArn"]["Ref"] for s in subscriptions.values()} == set(topics)


def test_a_notification_sns_cannot_deliver_lands_in_the_alarmed_record_dlq(dev: Any) -> None:
    """SNS gives up on an SQS endpoint after its retries; without a redrive policy the
    notification, and its job's outcome, would be dropped."""
    queue_id, queue = queue_of(dev, RECORDER)
    dlq_id = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    dlq = resources(dev)[dlq_id]
    subscriptions = dev.find_resources(
        "AWS::SNS::Subscription", {"Properties": {"Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]}}}
    )
    assert len(subscriptions) == 2
    for subscription in subscriptions.values():
        assert subscription["Properties"]["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}
        }
    # The DLQ admits SNS for the two result topics only; it shares the record queue's key,
    # whose policy already lets SNS encrypt for those topics.
    (policy_id, policy) = only(
        dev, "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": dlq_id}]}}
    )
    (allow,) = [
        st for st in policy["Properties"]["PolicyDocument"]["Statement"] if st["Effect"] == "Allow"
    ]
    topics = dev.find_resources(
        "AWS::SNS::Topic", {"Properties": {"DisplayName": Match.string_like_regexp("^Summaries")}}
    )
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert {t["Ref"] for t in allow["Condition"]["ArnEquals"]["aws:SourceArn"]} == set(topics)
    assert dlq["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [data_key_id(dev), "Arn"]}
    for subscription in subscriptions.values():
        assert policy_id in subscription["DependsOn"]
    # The record dead-letter alarm watches this very queue.
    (alarm,) = [
        a
        for a in _data_path_alarms(dev).values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert alarm["Properties"]["Threshold"] == 1


def test_services_may_use_the_data_path_key_for_exactly_what_they_deliver(dev: Any) -> None:
    statements = resources(dev)[data_key_id(dev)]["Properties"]["KeyPolicy"]["Statement"]
    services = {
        str(s["Principal"].get("Service")): s for s in statements if "Service" in s["Principal"]
    }
    s3 = services["s3.amazonaws.com"]
    assert sorted(actions(s3)) == ["kms:Decrypt", "kms:GenerateDataKey"]
    # S3 is not documented to send aws:SourceArn on its KMS calls: no condition.
    assert "Condition" not in s3
    sns = services["sns.amazonaws.com"]
    assert sorted(actions(sns)) == ["kms:Decrypt", "kms:GenerateDataKey"]
    topics = dev.find_resources(
        "AWS::SNS::Topic", {"Properties": {"DisplayName": Match.string_like_regexp("^Summaries")}}
    )
    # SNS is: only the two result topics may use the key.
    assert {t["Ref"] for t in sns["Condition"]["ArnEquals"]["aws:SourceArn"]} == set(topics)
    (logs,) = [s for name, s in services.items() if "logs." in name]
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context["Fn::Join"][1][-1] == ":log-group:*"
    assert not [a for a in actions(logs) if "*" in a]


# --- functions ---------------------------------------------------------------------------------


DISPATCHER_ENV = {
    "ENDPOINT_NAME",
    "DATA_BUCKET",
    "INPUT_PREFIX",
    "REQUEST_PREFIX",
    "JOBS_TABLE",
    "MAX_DOCUMENTS_PER_REQUEST",
    "MAX_REQUEST_BYTES",
    "LARGE_DOCUMENT_BYTES",
    "INVOCATION_TIMEOUT_SECONDS",
    "REQUEST_TTL_SECONDS",
    "JOB_TTL_DAYS",
    "MAX_RECEIVE_COUNT",
    "MODEL_ID",
    "MODEL_REVISION",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_TRACE_DISABLED",
}
RECORDER_ENV = {
    "JOBS_TABLE",
    "DATA_BUCKET",
    "CURATED_PREFIX",
    "DISPATCH_QUEUE_URL",
    "REQUEST_PREFIX",
    "JOB_TTL_DAYS",
    "MODEL_ID",
    "MODEL_REVISION",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_TRACE_DISABLED",
}


@pytest.mark.parametrize(
    ("handler", "names"), [(DISPATCHER, DISPATCHER_ENV), (RECORDER, RECORDER_ENV)]
)
def test_functions_follow_the_contract(dev: Any, handler: str, names: set[str]) -> None:
    _, fn = function(dev, handler)
    props = fn["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert set(props["Environment"]["Variables"]) == names
    # X-Ray is off unless data_path.tracing says otherwise.
    assert "TracingConfig" not in props
    assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_dispatcher_environment_carries_the_settings(dev: Any) -> None:
    _, fn = function(dev, DISPATCHER)
    env = fn["Properties"]["Environment"]["Variables"]
    endpoint_id, _ = only(dev, "AWS::SageMaker::Endpoint")
    assert env["ENDPOINT_NAME"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
    assert {k: env[k] for k in env if isinstance(env[k], str)} == {
        "INPUT_PREFIX": "inputs/",
        "REQUEST_PREFIX": "requests/",
        "MAX_DOCUMENTS_PER_REQUEST": "32",
        "MAX_REQUEST_BYTES": "4000000",
        "LARGE_DOCUMENT_BYTES": "500000",
        "INVOCATION_TIMEOUT_SECONDS": "900",
        "REQUEST_TTL_SECONDS": "21600",
        "JOB_TTL_DAYS": "90",
        "MAX_RECEIVE_COUNT": "5",
        "MODEL_ID": "google/pegasus-large",
        "MODEL_REVISION": "",
        "POWERTOOLS_SERVICE_NAME": "dispatcher",
        "POWERTOOLS_METRICS_NAMESPACE": "PegasusSummarizer-dev",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def test_recorder_writes_the_curated_dataset_and_redispatches_to_the_dispatch_queue(
    dev: Any,
) -> None:
    _, fn = function(dev, RECORDER)
    env = fn["Properties"]["Environment"]["Variables"]
    queue_id, _ = queue_of(dev, DISPATCHER)
    assert env["CURATED_PREFIX"] == "curated/summaries/"
    # Only bodies at requests/<inference id>.jsonl (the dispatcher's) name trusted job ids.
    assert env["REQUEST_PREFIX"] == "requests/"
    assert env["DISPATCH_QUEUE_URL"] == {"Ref": queue_id}


def test_functions_load_the_public_powertools_layer_of_the_pinned_version(dev: Any) -> None:
    import aws_lambda_powertools.shared.version as powertools

    # The layer the functions run is the library version the runtime tests import.
    assert POWERTOOLS_PARAMETER.endswith(f"/{powertools.VERSION}")
    parameters = dev.to_json()["Parameters"]
    (name,) = [n for n, p in parameters.items() if p.get("Default") == POWERTOOLS_PARAMETER]
    assert parameters[name]["Type"] == "AWS::SSM::Parameter::Value<String>"
    for handler in (DISPATCHER, RECORDER):
        _, fn = function(dev, handler)
        assert fn["Properties"]["Layers"] == [{"Ref": name}]


@pytest.mark.parametrize(("handler", "cap"), [(DISPATCHER, 2), (RECORDER, 5)])
def test_by_default_nothing_is_reserved_and_each_poller_is_capped(
    dev: Any, prod: Any, handler: str, cap: int
) -> None:
    """A new account's concurrency limit is 10 and Lambda keeps 100 (or all of it) unreserved:
    any reservation would roll the stack back there. The event sources' maximum concurrency
    reserves nothing and still bounds the dispatchers and recorders."""
    for template in (dev, prod):
        _, fn = function(template, handler)
        assert "ReservedConcurrentExecutions" not in fn["Properties"]
        assert event_source(template, handler)["ScalingConfig"] == {"MaximumConcurrency": cap}


def test_dispatcher_batches_documents_with_partial_batch_responses(dev: Any) -> None:
    assert event_source(dev, DISPATCHER) | {"EventSourceArn": None, "FunctionName": None} == {
        "BatchSize": 32,
        "MaximumBatchingWindowInSeconds": 20,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        # At most two dispatchers at once: fewer, larger groups for the endpoint.
        "ScalingConfig": {"MaximumConcurrency": 2},
        "EventSourceArn": None,
        "FunctionName": None,
    }


def test_recorder_reports_batch_item_failures(dev: Any) -> None:
    mapping = event_source(dev, RECORDER)
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}
    assert "MaximumBatchingWindowInSeconds" not in mapping


@pytest.mark.parametrize("handler", [DISPATCHER, RECORDER])
def test_each_function_logs_to_its_own_encrypted_log_group(dev: Any, handler: str) -> None:
    _, fn = function(dev, handler)
    group_id = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = resources(dev)[group_id]["Properties"]
    # A year: AWS Control Tower's CT.CLOUDWATCH.PR.2.
    assert group["RetentionInDays"] == 365
    assert group["KmsKeyId"] == {"Fn::GetAtt": [data_key_id(dev), "Arn"]}
    logs = [s for s in statements_of(dev, handler) if actions(s)[0].startswith("logs:")]
    assert logs == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    ]
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in resources(dev)[role_id]["Properties"]


def test_no_data_path_grant_uses_an_action_wildcard(dev: Any) -> None:
    for handler in (DISPATCHER, RECORDER):
        for statement in statements_of(dev, handler):
            assert not [a for a in actions(statement) if "*" in a], statement


def test_dispatcher_reads_inputs_writes_requests_and_invokes_this_endpoint(dev: Any) -> None:
    assert grants(dev, DISPATCHER) == {
        "s3:GetObject": {"/inputs/*"},
        # An S3 event names the version it is about; reading that version is its own action.
        "s3:GetObjectVersion": {"/inputs/*"},
        # One PutObject per request body: no multipart upload to abort.
        "s3:PutObject": {"/requests/*"},
        # On the bucket, not on objects (see the listing test below).
        "s3:ListBucket": set(),
    }
    endpoint_id, _ = only(dev, "AWS::SageMaker::Endpoint")
    (invoke,) = [s for s in statements_of(dev, DISPATCHER) if "sagemaker" in str(s["Action"])]
    assert invoke["Action"] == "sagemaker:InvokeEndpointAsync"
    assert invoke["Resource"] == {"Ref": endpoint_id}


def test_recorder_reads_outcomes_and_requests_and_writes_the_dataset(dev: Any) -> None:
    # The failure location is recorded from the notification, never read: no failures/.
    assert grants(dev, RECORDER) == {
        "s3:GetObject": {"/results/*", "/requests/*"},
        "s3:PutObject": {"/curated/summaries/*"},
        "s3:ListBucket": set(),
    }


@pytest.mark.parametrize(
    ("handler", "table_actions", "sends"),
    [
        (DISPATCHER, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], False),
        # The recorder reads a request's jobs in batches and re-dispatches failed groups.
        (
            RECORDER,
            [
                "dynamodb:BatchGetItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ],
            True,
        ),
    ],
)
def test_both_functions_record_jobs_and_only_the_recorder_sends_to_the_dispatch_queue(
    dev: Any, handler: str, table_actions: list[str], sends: bool
) -> None:
    table_id, _ = only(dev, "AWS::DynamoDB::Table")
    queue_id, _ = queue_of(dev, DISPATCHER)
    statements = statements_of(dev, handler)
    (table,) = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}]
    assert sorted(actions(table)) == table_actions
    on_dispatch_queue = {
        a
        for s in statements
        if s["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        for a in actions(s)
    }
    consumes = {"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}
    assert on_dispatch_queue == ({"sqs:SendMessage"} if sends else consumes)
    keys: dict[str, set[str]] = {}
    for s in statements:
        if actions(s)[0].startswith("kms:"):
            keys.setdefault(s["Resource"]["Fn::GetAtt"][0], set()).update(actions(s))
    assert keys == {
        # The table and the documents are on the storage key, messages on the data path key:
        # the dispatcher only reads its queue (Decrypt), the recorder also sends.
        storage_key_id(dev): {
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey",
        },
        data_key_id(dev): {"kms:Decrypt", "kms:GenerateDataKey"} if sends else {"kms:Decrypt"},
    }


@pytest.mark.parametrize(
    ("handler", "prefixes"),
    [(DISPATCHER, ["inputs/*"]), (RECORDER, ["requests/*", "results/*"])],
)
def test_each_function_may_list_exactly_the_prefixes_it_reads(
    dev: Any, handler: str, prefixes: list[str]
) -> None:
    """Without s3:ListBucket S3 answers a missing object with 403, so an expired object would
    read as a permission mistake; the listing stays within what the function reads."""
    bucket_id, _ = only(dev, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    (listing,) = [s for s in statements_of(dev, handler) if "s3:ListBucket" in actions(s)]
    assert listing == {
        "Action": "s3:ListBucket",
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
        "Condition": {"StringLike": {"s3:prefix": prefixes}},
    }


def test_only_the_recorder_queries_and_only_the_status_index(dev: Any) -> None:
    table_id, _ = only(dev, "AWS::DynamoDB::Table")
    (query,) = [s for s in statements_of(dev, RECORDER) if "dynamodb:Query" in actions(s)]
    assert query["Action"] == "dynamodb:Query"
    assert query["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, "/index/by-status"]]
    }
    assert not [s for s in statements_of(dev, DISPATCHER) if "dynamodb:Query" in actions(s)]


def test_access_denied_alarms_watch_each_functions_own_metric(dev: Any) -> None:
    denied = [
        alarm["Properties"]
        for alarm in _data_path_alarms(dev).values()
        if alarm["Properties"]["MetricName"] == "AccessDenied"
    ]
    assert sorted(
        (p["Namespace"], p["Dimensions"][0]["Value"], p["ComparisonOperator"]) for p in denied
    ) == [
        ("PegasusSummarizer-dev", "dispatcher", "GreaterThanOrEqualToThreshold"),
        ("PegasusSummarizer-dev", "recorder", "GreaterThanOrEqualToThreshold"),
    ]
    assert {p["Dimensions"][0]["Name"] for p in denied} == {"service"}
    assert {p["Period"] for p in denied} == {300}


def test_the_endpoint_reads_requests_as_well_as_inputs(dev: Any) -> None:
    _, model = only(dev, "AWS::SageMaker::Model")
    role_id = model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    (policy,) = dev.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    ).values()
    reads = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:GetObject"
    ]
    paths = set().union(*(s3_paths(s) for s in reads))
    assert {"/inputs/*", "/requests/*"} <= paths


def test_lambda_asset_holds_only_the_runtime_package(assembly: Any) -> None:
    stack = assembly.get_stack_by_name("PegasusSummarizer-dev")
    _, fn = function(_template_of(stack), DISPATCHER)
    key = fn["Properties"]["Code"]["S3Key"]
    folder = Path(assembly.directory) / f"asset.{key.removesuffix('.zip')}"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files and all(f.startswith("runtime/") for f in files), files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def _template_of(stack: Any) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(stack.template)


# --- jobs table --------------------------------------------------------------------------------


def test_jobs_table_is_on_demand_recoverable_and_on_the_storage_key(dev: Any) -> None:
    _, table = only(dev, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {
        "KMSMasterKeyId": {"Fn::GetAtt": [storage_key_id(dev), "Arn"]},
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    indexes = {
        i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by-status": (
            [
                {"AttributeName": "status", "KeyType": "HASH"},
                {"AttributeName": "updated_at", "KeyType": "RANGE"},
            ],
            {"ProjectionType": "ALL"},
        ),
        "by-submission": (
            [
                {"AttributeName": "submission", "KeyType": "HASH"},
                {"AttributeName": "job_id", "KeyType": "RANGE"},
            ],
            {"ProjectionType": "ALL"},
        ),
    }


def test_prod_retains_the_jobs_table_with_deletion_protection(prod: Any, dev: Any) -> None:
    _, table = only(prod, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    _, table = only(dev, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["DeletionProtectionEnabled"] is False


# --- catalog -----------------------------------------------------------------------------------


def test_glue_table_reads_curated_json_lines_by_projected_date(dev: Any) -> None:
    bucket_id, _ = only(dev, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    _, database = only(dev, "AWS::Glue::Database")
    assert database["Properties"]["DatabaseInput"]["Name"] == "pegasussummarizer_dev"
    _, table = only(dev, "AWS::Glue::Table")
    table_input = table["Properties"]["TableInput"]
    assert table["Properties"]["DatabaseName"] == "pegasussummarizer_dev"
    assert table_input["Name"] == "summaries"
    assert table_input["PartitionKeys"] == [
        {"Name": "dt", "Type": "string", "Comment": "Finished date, yyyy-MM-dd (UTC)"}
    ]
    location = {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/curated/summaries/"]]}
    assert table_input["Parameters"] | {"storage.location.template": None} == {
        "classification": "json",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2026-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": None,
    }
    assert table_input["Parameters"]["storage.location.template"] == {
        "Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/curated/summaries/dt=${dt}/"]]
    }
    descriptor = table_input["StorageDescriptor"]
    assert descriptor["Location"] == location
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [c["Name"] for c in descriptor["Columns"]] == [
        "job_id",
        "submission",
        "source_bucket",
        "source_key",
        "summary",
        "input_tokens",
        "chunks",
        "rounds",
        "model_id",
        "model_revision",
        "submitted_at",
        "finished_at",
    ]


# The first 8 hex of the stack id's uuid (arn:...:stack/<name>/<uuid>): new on every create.
STACK_ID_PREFIX = {
    "Fn::Select": [
        0,
        {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]},
    ]
}


def workgroup_name(stack_name: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [f"{stack_name}-summaries-", STACK_ID_PREFIX]]}


def test_athena_workgroup_enforces_encrypted_results_and_a_scan_cutoff(dev: Any) -> None:
    bucket_id, _ = only(dev, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    _, workgroup = only(dev, "AWS::Athena::WorkGroup")
    assert workgroup["Properties"]["Name"] == workgroup_name("PegasusSummarizer-dev")
    assert workgroup["Properties"]["WorkGroupConfiguration"] == {
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": 10 * 1024**3,
        "ResultConfiguration": {
            "OutputLocation": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/athena-results/"]]},
            "EncryptionConfiguration": {
                "EncryptionOption": "SSE_KMS",
                "KmsKey": {"Fn::GetAtt": [storage_key_id(dev), "Arn"]},
            },
        },
    }


def test_a_stack_deleted_and_created_again_collides_with_nothing_it_left(
    prod: Any, dev: Any
) -> None:
    """Disaster recovery, or a first create rolled back: the prod workgroup survives its stack
    (with its saved queries) and the next create names its own after the new stack id; the
    Glue definitions hold no data and are deleted with the stack, freeing their names."""
    _, workgroup = only(prod, "AWS::Athena::WorkGroup")
    assert workgroup["DeletionPolicy"] == "Retain"
    assert workgroup["Properties"]["Name"] == workgroup_name("PegasusSummarizer-prod")
    for kind in ("AWS::Glue::Database", "AWS::Glue::Table"):
        _, definition = only(prod, kind)
        assert definition.get("DeletionPolicy", "Delete") == "Delete", kind
    # dev deletes its workgroup, saved queries included, with the stack.
    _, workgroup = only(dev, "AWS::Athena::WorkGroup")
    assert workgroup["DeletionPolicy"] == "Delete"
    assert workgroup["Properties"]["RecursiveDeleteOption"] is True


# --- operations and outputs --------------------------------------------------------------------


def _data_path_alarms(template: Any) -> dict[str, Any]:
    return template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"AlarmDescription": Match.string_like_regexp("^Data path: ")}},
    )


def test_dead_letters_stuck_queues_errors_and_throttles_page_the_operations_topic(
    dev: Any,
) -> None:
    alarms = _data_path_alarms(dev)
    assert len(alarms) == 10
    ops_topic, _ = only(
        dev, "AWS::SNS::Topic", {"Properties": {"DisplayName": "Summarization endpoint alarms"}}
    )
    kinds = Counter()
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": ops_topic}]
        assert props["OKActions"] == [{"Ref": ops_topic}]
        dead_letters = props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        # A DLQ nobody reads stops reporting: its alarm must not resolve on silence.
        assert props["TreatMissingData"] == ("ignore" if dead_letters else "notBreaching")
        kinds[
            (props["Namespace"], props["MetricName"], props["Statistic"], props["Threshold"])
        ] += 1
    assert kinds == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 1): 2,
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", 900): 2,
        ("AWS/Lambda", "Errors", "Sum", 1): 2,
        ("AWS/Lambda", "Throttles", "Sum", 1): 2,
        ("PegasusSummarizer-dev", "AccessDenied", "Sum", 1): 2,
    }


def test_dlq_alarms_watch_the_dead_letter_queues(dev: Any) -> None:
    dlqs = set()
    for handler in (DISPATCHER, RECORDER):
        _, queue = queue_of(dev, handler)
        dlqs.add(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for alarm in _data_path_alarms(dev).values()
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        for d in alarm["Properties"]["Dimensions"]
    }
    assert watched == dlqs


def _dashboard_widgets(template: Any) -> list[dict[str, Any]]:
    """The dashboard's widgets, with the stack's tokens in the body replaced by placeholders."""
    import json

    _, dashboard = only(template, "AWS::CloudWatch::Dashboard")
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    widgets: list[dict[str, Any]] = json.loads(body)["widgets"]
    return widgets


def test_dashboard_shows_the_data_path_with_the_functions_own_metrics(dev: Any) -> None:
    widgets = {
        w["properties"].get("title") or w["properties"].get("markdown", "")[:12]: w
        for w in _dashboard_widgets(dev)
    }
    assert "## Data path" in widgets
    assert "Data path: alarm status" in widgets
    assert len(widgets["Data path: alarm status"]["properties"]["alarms"]) == 10
    for title in ("Queued messages", "Oldest message", "Dead letters"):
        assert {m[0] for m in widgets[title]["properties"]["metrics"]} == {"AWS/SQS"}
    grouping = widgets["Documents per request (grouping)"]["properties"]
    # Published by the dispatcher through Powertools, in the stack's namespace.
    assert grouping["metrics"] == [
        [
            "PegasusSummarizer-dev",
            "DocumentsPerRequest",
            "service",
            "dispatcher",
            {"label": "DocumentsPerRequest"},
        ]
    ]
    # Average over 5 minutes is CloudWatch's default, so CDK leaves stat and period out.
    assert "stat" not in grouping and "period" not in grouping
    counts = widgets["Dispatcher: documents and requests (per 5 min)"]["properties"]
    assert [m[1] for m in counts["metrics"]] == [
        "DocumentsDispatched",
        "RequestsSent",
        "DocumentsUnreadable",
    ]
    assert {m[-1]["stat"] for m in counts["metrics"]} == {"Sum"}
    jobs = widgets["Recorder: jobs (per 5 min)"]["properties"]["metrics"]
    assert [m[1] for m in jobs] == ["JobsSucceeded", "JobsFailed", "Redispatches"]


def test_outputs_name_the_data_path_resources(dev: Any) -> None:
    outputs = dev.find_outputs("*")
    table_id, _ = only(dev, "AWS::DynamoDB::Table")
    queue_id, _ = queue_of(dev, DISPATCHER)
    bucket_id, _ = only(dev, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    values = {name: output["Value"] for name, output in outputs.items()}
    assert {k: values[k] for k in values if k not in _ENDPOINT_OUTPUTS} == {
        "DataBucketName": {"Ref": bucket_id},
        "InputPrefix": "inputs/",
        "RequestPrefix": "requests/",
        "DirectRequestPrefix": "requests/direct/",
        "JobsTableName": {"Ref": table_id},
        "DispatchQueueUrl": {"Ref": queue_id},
        "AthenaWorkGroup": workgroup_name("PegasusSummarizer-dev"),
        "GlueDatabase": "pegasussummarizer_dev",
        "GlueTable": "summaries",
    }


_ENDPOINT_OUTPUTS = {
    "AccessLogsBucketName",
    "EndpointName",
    "InputLocation",
    "OutputLocation",
    "FailureLocation",
    "SuccessTopicArn",
    "ErrorTopicArn",
}


# --- turned off --------------------------------------------------------------------------------

# The dev stack's resources before the data path existed.
WITHOUT_DATA_PATH = {
    "AWS::ApplicationAutoScaling::ScalableTarget": 1,
    "AWS::ApplicationAutoScaling::ScalingPolicy": 2,
    "AWS::CloudWatch::Alarm": 6,
    "AWS::CloudWatch::Dashboard": 1,
    "AWS::IAM::Policy": 1,
    "AWS::IAM::Role": 2,
    "AWS::KMS::Key": 3,
    "AWS::Lambda::Function": 1,
    "AWS::S3::Bucket": 2,
    "AWS::S3::BucketPolicy": 2,
    "AWS::SNS::Topic": 3,
    "AWS::SNS::TopicPolicy": 3,
    "AWS::SageMaker::Endpoint": 1,
    "AWS::SageMaker::EndpointConfig": 1,
    "AWS::SageMaker::Model": 1,
    "Custom::S3AutoDeleteObjects": 1,
}


@pytest.fixture(scope="module")
def disabled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The dev stack with ``-c summarizer.data_path.enabled=false``."""
    context = {
        **cdk_json_context(),
        "summarizer.environment": "dev",
        "summarizer.data_path.enabled": "false",
    }
    assembly = synthesize(context, tmp_path_factory.mktemp("no-data-path"))
    return _template_of(assembly.get_stack_by_name("PegasusSummarizer-dev"))


def test_turned_off_the_stack_is_what_it_was_before(disabled: Any, dev: Any) -> None:
    template = disabled.to_json()
    assert Counter(r["Type"] for r in template["Resources"].values()) == WITHOUT_DATA_PATH
    assert "Parameters" not in template or not [
        p for p in template["Parameters"].values() if "powertools" in str(p.get("Default"))
    ]
    assert set(disabled.find_outputs("*")) == _ENDPOINT_OUTPUTS
    # Logical ids of everything that was there stay the same when the path is turned on.
    assert set(template["Resources"]) <= set(resources(dev))
    _, bucket = only(disabled, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    prefixes = [r["Prefix"] for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]]
    assert prefixes == ["inputs/", "results/", "failures/"]
    assert "requests/" not in str(template)


# --- bad input ---------------------------------------------------------------------------------


def _endpoint(code_dir: Path) -> Any:
    import aws_cdk as cdk

    stack = cdk.Stack(construct_app(), "Bare")
    return endpoint_in(stack, code_dir)


def test_bad_data_path_properties_are_reported_together(code_dir: Path) -> None:
    from aws_cdk import Duration

    from constructs_lib.data_path import DataPath, DataPathSettings

    endpoint = _endpoint(code_dir)
    with pytest.raises(ConfigurationError) as error:
        DataPath(
            endpoint,
            "DataPath",
            endpoint=endpoint,
            settings=DataPathSettings(batching_window_seconds=0, max_receive_count=0),
            model_id="google/pegasus-large",
            memory_size=64,
            recorder_batch_size=11,
            dispatcher_timeout=Duration.minutes(16),
            recorder_timeout=Duration.hours(12),
        )
    assert error.value.problems == (
        "settings.max_receive_count: must be at least 1 (got 0)",
        "memory_size: must be at least 128 (got 64)",
        "recorder_batch_size: must be at most 10 (got 11)",
        "settings.batching_window_seconds: must be at least 1 when max_documents_per_request "
        "is above 10; Lambda only gathers larger batches over a window (got 0)",
        "dispatcher_timeout: must be at most 900 s, Lambda's limit (got 960)",
        "recorder_timeout: must be at most 900 s, Lambda's limit (got 43200)",
    )


def test_a_disabled_settings_object_is_refused(code_dir: Path) -> None:
    from constructs_lib.data_path import DataPath, DataPathSettings

    endpoint = _endpoint(code_dir)
    with pytest.raises(ConfigurationError) as error:
        DataPath(
            endpoint,
            "DataPath",
            endpoint=endpoint,
            settings=DataPathSettings(enabled=False),
            model_id="google/pegasus-large",
        )
    assert error.value.problems == ("settings.enabled: is false; leave the DataPath out instead",)


def test_an_overlapping_prefix_is_refused(code_dir: Path) -> None:
    endpoint = _endpoint(code_dir)
    with pytest.raises(ConfigurationError) as error:
        endpoint.storage.add_prefix("nested", "inputs/nested/", retention_days=0)
    assert error.value.problems == (
        "nested_retention_days: must be at least 1 (got 0)",
        "nested: 'inputs/nested/' overlaps the prefix 'inputs/' already in the bucket",
    )


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        (
            "max_documents_per_request",
            "0",
            "[dev] data_path.max_documents_per_request: must be at least 1 (got 0)",
        ),
        ("enabled", '"no"', "[dev] data_path.enabled: must be bool (got 'no')"),
        (
            "batchng_window_seconds",
            "5",
            "[dev] data_path.batchng_window_seconds: unknown key (known: "
            f"{', '.join(sorted(f.name for f in dataclasses.fields(DataPathSettings)))})",
        ),
    ],
)
def test_data_path_configuration_errors_name_the_section(
    key: str, value: str, problem: str
) -> None:
    from stacks.config import load_configs

    context = {
        **cdk_json_context(),
        "summarizer.environment": "dev",
        f"summarizer.data_path.{key}": value,
    }
    with pytest.raises(ConfigurationError) as error:
        load_configs(context)
    assert error.value.problems == (problem,)


# --- the construct on its own: tracing, x86_64, a given layer, client and analyst grants -------

LAYER_ARN = (
    "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:1"
)


@pytest.fixture(scope="module")
def bare(code_dir: Path) -> Any:
    """A stack of bare constructs: a traced x86_64 data path, a client role and an analyst role."""
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from constructs_lib.data_path import DataPath, DataPathSettings

    stack = cdk.Stack(construct_app(), "Bare")
    endpoint = endpoint_in(stack, code_dir)
    path = DataPath(
        stack,
        "DataPath",
        endpoint=endpoint,
        settings=DataPathSettings(
            tracing=True,
            dispatcher_reserved_concurrency=1,
            dispatcher_max_concurrency=None,
            recorder_reserved_concurrency=5,
        ),
        model_id="google/pegasus-xsum",
        model_revision="abc123",
        architecture=lambda_.Architecture.X86_64,
        powertools_layer_arn=LAYER_ARN,
    )
    for name, grant in (("Client", path.grant_client), ("Analyst", path.grant_query)):
        grant(iam.Role(stack, name, assumed_by=iam.AccountRootPrincipal()))
    return Template.from_stack(stack)


def role_statements(template: Any, role_prefix: str) -> list[dict[str, Any]]:
    (role_id,) = [r for r in template.find_resources("AWS::IAM::Role") if r.startswith(role_prefix)]
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_tracing_turns_on_xray_for_both_functions(bare: Any) -> None:
    for handler in (DISPATCHER, RECORDER):
        _, fn = function(bare, handler)
        props = fn["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
        assert props["Architectures"] == ["x86_64"]
        assert props["Layers"] == [LAYER_ARN]
        assert props["Environment"]["Variables"]["MODEL_REVISION"] == "abc123"
        xray = [s for s in statements_of(bare, handler) if "xray:" in str(s["Action"])]
        assert xray and all(s["Resource"] == "*" for s in xray)


@pytest.mark.parametrize(("handler", "reserved", "cap"), [(DISPATCHER, 1, None), (RECORDER, 5, 5)])
def test_a_large_account_reserves_concurrency_up_to_the_pollers_cap(
    bare: Any, handler: str, reserved: int, cap: int | None
) -> None:
    # Lambda's MaximumConcurrency accepts 2 to 1,000; with 1 the reservation alone limits it.
    _, fn = function(bare, handler)
    assert fn["Properties"]["ReservedConcurrentExecutions"] == reserved
    mapping = event_source(bare, handler)
    if cap is None:
        assert "ScalingConfig" not in mapping
    else:
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": cap}


@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        (
            {"dispatcher_reserved_concurrency": 0, "recorder_max_concurrency": 1},
            [
                "dispatcher_reserved_concurrency: must be at least 1 (got 0)",
                "recorder_max_concurrency: must be at least 2 (got 1)",
            ],
        ),
        (
            {"dispatcher_reserved_concurrency": 1},
            [
                "dispatcher_max_concurrency: must be null when dispatcher_reserved_concurrency "
                "is 1: an SQS event source's maximum concurrency is at least 2, so the "
                "reservation alone limits the poller (got 2)"
            ],
        ),
        (
            {"recorder_reserved_concurrency": 3, "recorder_max_concurrency": 10},
            [
                "recorder_max_concurrency: must be at most recorder_reserved_concurrency (3): "
                "Lambda throttles what the poller invokes beyond the reservation (got 10)"
            ],
        ),
        (
            {"dispatcher_max_concurrency": 1_001},
            ["dispatcher_max_concurrency: must be at most 1000 (got 1001)"],
        ),
    ],
)
def test_bad_concurrency_settings_name_the_key_the_value_and_what_is_allowed(
    settings: dict[str, Any], problems: list[str]
) -> None:
    from stacks.config import load_configs

    context = {
        **cdk_json_context(),
        "summarizer.environment": "dev",
        **{f"summarizer.data_path.{k}": str(v) for k, v in settings.items()},
    }
    with pytest.raises(ConfigurationError) as error:
        load_configs(context)
    assert error.value.problems == tuple(f"[dev] data_path.{p}" for p in problems)


def test_null_concurrency_settings_are_accepted() -> None:
    from stacks.config import load_configs

    context = {
        **cdk_json_context(),
        "summarizer.environment": "prod",
        "summarizer.data_path.dispatcher_max_concurrency": "null",
        "summarizer.data_path.recorder_reserved_concurrency": "5",
    }
    (config,) = load_configs(context)
    assert config.data_path.dispatcher_max_concurrency is None
    assert config.data_path.dispatcher_reserved_concurrency is None
    assert config.data_path.recorder_reserved_concurrency == 5


def test_client_grant_covers_the_cli_and_nothing_more(bare: Any) -> None:
    statements = role_statements(bare, "Client")
    by_action: dict[str, set[str]] = {}
    for statement in statements:
        for action in actions(statement):
            by_action.setdefault(action, set()).update(s3_paths(statement))
    assert sorted(by_action) == [
        "cloudformation:DescribeStacks",
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKey",
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:PutObject",
        "sagemaker:InvokeEndpointAsync",
        "sqs:SendMessage",
    ]
    # Direct requests go to requests/direct/; the rest of requests/ is the dispatcher's.
    assert by_action["s3:PutObject"] == {"/inputs/*", "/requests/direct/*"}
    assert by_action["s3:GetObject"] == {"/results/*", "/failures/*", "/curated/summaries/*"}
    (query,) = [s for s in statements if "dynamodb:Query" in actions(s)]
    indexes = [
        r["Fn::Join"][1][-1] for r in query["Resource"] if isinstance(r, dict) and "Fn::Join" in r
    ]
    assert sorted(indexes) == ["/index/by-status", "/index/by-submission"]
    (describe,) = [s for s in statements if s["Action"] == "cloudformation:DescribeStacks"]
    assert describe["Resource"] == {"Ref": "AWS::StackId"}


def test_analyst_grant_runs_queries_in_the_workgroup_only(bare: Any) -> None:
    statements = role_statements(bare, "Analyst")
    (athena,) = [s for s in statements if str(s["Action"]).count("athena:")]
    assert athena["Resource"]["Fn::Join"][1][-2:] == [":workgroup/Bare-summaries-", STACK_ID_PREFIX]
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["curated/summaries/*", "athena-results/*"]}
    }
    (glue,) = [s for s in statements if "glue:GetTable" in actions(s)]
    suffixes = sorted(r["Fn::Join"][1][-1] for r in glue["Resource"])
    assert suffixes == [":catalog", ":database/bare", ":table/bare/summaries"]
    writes = [s for s in statements if "s3:PutObject" in actions(s)]
    assert set().union(*(s3_paths(s) for s in writes)) == {"/athena-results/*"}


def test_cdk_nag_finds_nothing_unacknowledged_in_a_traced_data_path_with_grants(
    code_dir: Path, tmp_path: Path
) -> None:
    """The library's own acknowledgements cover what the app's default configuration does not
    exercise: X-Ray's and the VPC's wildcards, the client's and the analyst's grants."""
    import json

    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from cdk_nag import AwsSolutionsChecks

    from constructs_lib.data_path import DataPath, DataPathSettings, DataPathVpc

    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Nagged")
    endpoint = endpoint_in(stack, code_dir)
    path = DataPath(
        stack,
        "DataPath",
        endpoint=endpoint,
        settings=DataPathSettings(
            tracing=True,
            vpc=DataPathVpc(
                subnet_ids=("subnet-0123456789abcdef0",), security_group_ids=("sg-01234567",)
            ),
        ),
        model_id="google/pegasus-large",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    path.grant_client(iam.Role(stack, "Client", assumed_by=iam.AccountRootPrincipal()))
    path.grant_query(iam.Role(stack, "Analyst", assumed_by=iam.AccountRootPrincipal()))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with contextlib.suppress(Exception):
        app.synth()
    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    unacknowledged = [
        (v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
        for v in report["violations"]
    ]
    assert unacknowledged == []
    # X-Ray's Resource::* is acknowledged on each function's role, with its reason.
    xray = {
        c["constructPath"]: v["reason"]
        for v in report["suppressedViolations"]
        if v["ruleName"] == "AwsSolutions-IAM5[Resource::*]"
        for c in v["violatingConstructs"]
        if "/DataPath/" in c["constructPath"]
    }
    assert sorted(xray) == [
        "Nagged/DataPath/Dispatcher/Role/DefaultPolicy/Resource",
        "Nagged/DataPath/Recorder/Role/DefaultPolicy/Resource",
    ]
    assert all("xray:PutTraceSegments" in reason for reason in xray.values())
    assert all("ec2:DescribeNetworkInterfaces" in reason for reason in xray.values())


def test_a_bad_retention_names_the_argument(code_dir: Path) -> None:
    from constructs_lib.data_path import DataPath, DataPathSettings

    endpoint = _endpoint(code_dir)
    with pytest.raises(ConfigurationError) as error:
        DataPath(
            endpoint,
            "DataPath",
            endpoint=endpoint,
            settings=DataPathSettings(),
            model_id="google/pegasus-large",
            request_retention_days=0,
            athena_results_retention_days=-1,
            memory_size=64,
        )
    # Reported together with the other arguments' problems, before anything is built.
    assert error.value.problems == (
        "memory_size: must be at least 128 (got 64)",
        "request_retention_days: must be at least 1 (got 0)",
        "retention: the data path needs requests, inputs and results kept at least 2 days, so "
        "that its dead-letter queues (which keep messages a day less than the objects they "
        "name) can hold a message at all (got request_retention_days=0, the storage's "
        "input_retention_days=7 and result_retention_days=30)",
        "athena_results_retention_days: must be at least 1 (got -1)",
    )


@pytest.mark.parametrize("field", ["input_retention_days", "result_retention_days"])
def test_a_one_day_retention_is_refused_with_the_data_path_on(field: str) -> None:
    from stacks.config import load_configs

    context = {**cdk_json_context(), "summarizer.environment": "dev", f"summarizer.{field}": "1"}
    with pytest.raises(ConfigurationError) as error:
        load_configs(context)
    assert error.value.problems == (
        f"[dev] {field}: must be at least 2 with the data path on: its dead-letter queues keep "
        "messages a day less than the documents, request bodies and results they name, so "
        "that a redrive still finds them (got 1)",
    )
    # Without the data path there are no dead letters to keep.
    (config,) = load_configs({**context, "summarizer.data_path.enabled": "false"})
    assert getattr(config, field) == 1


# --- in a VPC (data_path.vpc) ------------------------------------------------------------------


def ec2_arn(resource: str) -> dict[str, Any]:
    """``arn:<partition>:ec2:<region>:<account>:<resource>`` as the template joins it."""
    prefix = ["arn:", {"Ref": "AWS::Partition"}, ":ec2:", {"Ref": "AWS::Region"}, ":"]
    return {"Fn::Join": ["", [*prefix, {"Ref": "AWS::AccountId"}, f":{resource}"]]}


def test_in_a_vpc_both_functions_use_the_given_subnets_and_security_groups(
    governed: Governed,
) -> None:
    from tests.conftest import GOVERNED_VPC

    template = governed.template
    for handler in (DISPATCHER, RECORDER):
        _, fn = function(template, handler)
        assert fn["Properties"]["VpcConfig"] == {
            "SubnetIds": GOVERNED_VPC["subnet_ids"],
            "SecurityGroupIds": GOVERNED_VPC["security_group_ids"],
        }
        ec2 = {
            tuple(sorted(actions(s))): (
                sorted(s["Resource"], key=str) if isinstance(s["Resource"], list) else s["Resource"]
            )
            for s in statements_of(template, handler)
            if actions(s)[0].startswith("ec2:")
        }
        # Lambda's guide for VPC functions: AWSLambdaVPCAccessExecutionRole's actions, scoped.
        assert ec2 == {
            ("ec2:CreateNetworkInterface",): sorted(
                [
                    ec2_arn("network-interface/*"),
                    ec2_arn("subnet/subnet-0123456789abcdef0"),
                    ec2_arn("subnet/subnet-0fedcba9876543210"),
                    ec2_arn("security-group/sg-0123456789abcdef0"),
                ],
                key=str,
            ),
            (
                "ec2:AssignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ): ec2_arn("network-interface/*"),
            # These two support no resource-level permissions.
            ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"): "*",
        }
        # Without a managed policy (AWSLambdaVPCAccessExecutionRole grants these on "*").
        role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        assert "ManagedPolicyArns" not in resources(template)[role_id]["Properties"]


def test_outside_a_vpc_the_roles_get_no_ec2_permission(dev: Any) -> None:
    for handler in (DISPATCHER, RECORDER):
        _, fn = function(dev, handler)
        assert "VpcConfig" not in fn["Properties"]
        assert not [s for s in statements_of(dev, handler) if "ec2:" in str(s["Action"])]


@pytest.mark.parametrize(
    ("vpc", "problems"),
    [
        (
            {},
            [
                "subnet_ids: must list 1 to 16 distinct ids, Lambda's limits (got [])",
                "security_group_ids: must list 1 to 5 distinct ids, Lambda's limits (got [])",
            ],
        ),
        (
            {"subnet_ids": ["subnet-12345678", "vpc-12345678"], "security_group_ids": ["sg-1"]},
            [
                "subnet_ids: 'vpc-12345678' is not an id like 'subnet-0123456789abcdef0'",
                "security_group_ids: 'sg-1' is not an id like 'sg-0123456789abcdef0'",
            ],
        ),
        (
            {
                "subnet_ids": ["subnet-12345678", "subnet-12345678"],
                "security_group_ids": [f"sg-1234567{i}" for i in range(6)],
            },
            [
                "subnet_ids: must list 1 to 16 distinct ids, Lambda's limits (got "
                "['subnet-12345678', 'subnet-12345678'])",
                "security_group_ids: must list 1 to 5 distinct ids, Lambda's limits (got "
                "['sg-12345670', 'sg-12345671', 'sg-12345672', 'sg-12345673', 'sg-12345674', "
                "'sg-12345675'])",
            ],
        ),
        ({"subnets": []}, ["subnets: unknown key (known: security_group_ids, subnet_ids)"]),
    ],
)
def test_bad_vpc_settings_name_the_key_the_value_and_what_is_allowed(
    vpc: dict[str, Any], problems: list[str]
) -> None:
    import json

    from stacks.config import load_configs

    context = {
        **cdk_json_context(),
        "summarizer.environment": "dev",
        "summarizer.data_path.vpc": json.dumps(vpc),
    }
    with pytest.raises(ConfigurationError) as error:
        load_configs(context)
    assert error.value.problems == tuple(f"[dev] data_path.vpc.{p}" for p in problems)


# --- Powertools: the public layer by SSM parameter, a given layer, or bundled -----------------

CHINA_LAYER = (
    "arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:37"
)


def _stack_template(context: dict[str, Any], outdir: Path, environment: str) -> Any:
    assembly = synthesize(context, outdir)
    return assembly, _template_of(assembly.get_stack_by_name(f"PegasusSummarizer-{environment}"))


@pytest.fixture(scope="module")
def china(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """prod pinned to cn-north-1 with Powertools' China layer (no SSM parameter there)."""
    context = {
        **cdk_json_context(),
        "summarizer.environment": "prod",
        "summarizer.region": "cn-north-1",
        "summarizer.data_path.powertools_layer_arn": CHINA_LAYER,
    }
    _, template = _stack_template(context, tmp_path_factory.mktemp("china"), "prod")
    return template


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """dev with ``data_path.powertools: bundled``: (assembly, template)."""
    context = {
        **cdk_json_context(),
        "summarizer.environment": "dev",
        "summarizer.data_path.powertools": "bundled",
    }
    return _stack_template(context, tmp_path_factory.mktemp("bundled"), "dev")


def test_a_given_layer_arn_replaces_the_ssm_parameter(china: Any) -> None:
    for handler in (DISPATCHER, RECORDER):
        _, fn = function(china, handler)
        assert fn["Properties"]["Layers"] == [CHINA_LAYER]
    parameters = china.to_json().get("Parameters", {})
    assert not [p for p in parameters.values() if "powertools" in str(p.get("Default"))]


def test_bundled_powertools_ships_in_the_code_instead_of_a_layer(bundled: tuple[Any, Any]) -> None:
    import aws_lambda_powertools.shared.version as powertools

    assembly, template = bundled
    for handler in (DISPATCHER, RECORDER):
        _, fn = function(template, handler)
        assert "Layers" not in fn["Properties"]
    _, fn = function(template, DISPATCHER)
    key = fn["Properties"]["Code"]["S3Key"]
    folder = Path(assembly.directory) / f"asset.{key.removesuffix('.zip')}"
    top = sorted({p.relative_to(folder).parts[0] for p in folder.rglob("*") if p.is_file()})
    # Powertools and what it requires without extras, as installed (pure Python), and the
    # runtime package; no caches.
    assert top == [
        "aws_lambda_powertools",
        f"aws_lambda_powertools-{powertools.VERSION}.dist-info",
        "jmespath",
        *[t for t in top if t.startswith("jmespath-")],
        "runtime",
        *[t for t in top if t.startswith("typing_extensions-")],
        "typing_extensions.py",
    ]
    assert (folder / "aws_lambda_powertools" / "shared" / "version.py").is_file()
    assert not [p for p in folder.rglob("*") if "__pycache__" in p.parts or p.suffix == ".pyc"]
    parameters = template.to_json().get("Parameters", {})
    assert not [p for p in parameters.values() if "powertools" in str(p.get("Default"))]


def test_bundling_refuses_another_installed_powertools(monkeypatch: pytest.MonkeyPatch) -> None:
    from constructs_lib.data_path import functions

    monkeypatch.setattr(functions, "POWERTOOLS_VERSION", "9.9.9")
    functions.bundled_files.cache_clear()
    try:
        with pytest.raises(ConfigurationError) as error:
            functions.bundled_files()
    finally:
        functions.bundled_files.cache_clear()
    (problem,) = error.value.problems
    assert problem.startswith(
        "powertools: 'bundled' packages the installed aws-lambda-powertools, which must be "
        "9.9.9, the version the runtime is tested with (installed: "
    )


@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        (
            {"powertools": "docker"},
            ["data_path.powertools: must be one of layer, bundled (got 'docker')"],
        ),
        (
            {"powertools_layer_arn": "arn:aws:lambda:eu-west-1:017000801446:layer:Powertools"},
            [
                "data_path.powertools_layer_arn: must be a Lambda layer version ARN like "
                "'arn:aws:lambda:eu-west-1:017000801446:layer:"
                "AWSLambdaPowertoolsPythonV3-python312-arm64:27' (got "
                "'arn:aws:lambda:eu-west-1:017000801446:layer:Powertools')"
            ],
        ),
        (
            {"powertools_layer_arn": CHINA_LAYER.replace("arn:aws-cn:", "arn:aws:")},
            [
                "data_path.powertools_layer_arn: region cn-north-1 is in partition aws-cn, not "
                f"aws (got {CHINA_LAYER.replace('arn:aws-cn:', 'arn:aws:')!r})"
            ],
        ),
        (
            {"powertools": "bundled", "powertools_layer_arn": CHINA_LAYER},
            [
                "data_path.powertools_layer_arn: only applies with powertools 'layer'; 'bundled' "
                f"puts Powertools in the functions' code (got {CHINA_LAYER!r})"
            ],
        ),
        (
            {"powertools_layer_arn": CHINA_LAYER.replace("arm64", "x86_64")},
            [
                "data_path.powertools_layer_arn: the functions run Python 3.12 on arm64; use "
                "Powertools' ...-python312-arm64 layer (got "
                f"{CHINA_LAYER.replace('arm64', 'x86_64')!r})"
            ],
        ),
        (
            {"region": "eu-west-1", "powertools_layer_arn": CHINA_LAYER},
            [
                "data_path.powertools_layer_arn: must be a layer in the stack's region "
                f"eu-west-1, as Lambda requires (got {CHINA_LAYER!r})"
            ],
        ),
        (
            {"region": "us-gov-west-1"},
            [
                "data_path.powertools_layer_arn: required in us-gov-west-1 (partition "
                "aws-us-gov): Powertools publishes its public SSM parameter in commercial "
                "regions only; give the ARN of its layer in that region (its documentation "
                "lists those of cn-north-1 and the GovCloud regions) or set "
                "data_path.powertools to 'bundled' (got null)"
            ],
        ),
    ],
)
def test_bad_powertools_settings_name_the_key_the_value_and_what_is_allowed(
    settings: dict[str, str], problems: list[str]
) -> None:
    from stacks.config import load_configs

    context: dict[str, Any] = {**cdk_json_context(), "summarizer.environment": "dev"}
    for key, value in settings.items():
        prefix = "summarizer." if key == "region" else "summarizer.data_path."
        context[prefix + key] = value
    with pytest.raises(ConfigurationError) as error:
        load_configs(context)
    assert error.value.problems == tuple(f"[dev] {p}" for p in problems)


def test_bundled_or_an_arn_is_all_a_region_without_the_parameter_needs() -> None:
    from stacks.config import load_configs

    base = {**cdk_json_context(), "summarizer.environment": "dev"}
    (gov,) = load_configs(
        {**base, "summarizer.region": "us-gov-west-1", "summarizer.data_path.powertools": "bundled"}
    )
    assert gov.warnings() == []
    # A commercial region Powertools' SSM workflow does not list: a warning, not an error (the
    # parameter may have been added since), naming the two ways out.
    (bahrain,) = load_configs({**base, "summarizer.region": "me-south-1"})
    (warning,) = bahrain.warnings()
    assert warning.startswith(
        "data_path: Powertools is not known to publish its public SSM parameter in me-south-1"
    )
    assert "data_path.powertools_layer_arn" in warning and "'bundled'" in warning
    (ireland,) = load_configs({**base, "summarizer.region": "eu-west-1"})
    assert ireland.warnings() == []


def test_the_construct_checks_a_layer_against_its_architecture(code_dir: Path) -> None:
    from constructs_lib.data_path import DataPath, DataPathSettings

    endpoint = _endpoint(code_dir)
    with pytest.raises(ConfigurationError) as error:
        DataPath(
            endpoint,
            "DataPath",
            endpoint=endpoint,
            settings=DataPathSettings(powertools="bundled"),
            model_id="google/pegasus-large",
            powertools_layer_arn=LAYER_ARN,
        )
    assert error.value.problems == (
        f"powertools_layer_arn: only applies with settings.powertools 'layer' (got {LAYER_ARN!r})",
        "powertools_layer_arn: the functions run Python 3.12 on arm64; use Powertools' "
        f"...-python312-arm64 layer (got {LAYER_ARN!r})",
    )
