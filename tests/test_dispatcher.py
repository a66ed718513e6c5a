"""The dispatcher against moto: grouping, idempotency, unreadable documents, retries, messages."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from constructs_lib.data_path.runtime import dispatcher as dispatcher_module
from constructs_lib.data_path.runtime import jobs, observability
from constructs_lib.data_path.runtime.dispatcher import DispatcherConfig
from constructs_lib.data_path.runtime.environment import SettingsError
from tests.datapath_support import (
    BUCKET,
    CREDENTIALS,
    ENDPOINT,
    NOW,
    REGION,
    World,
    mocked_world,
    s3_event,
    sqs_record,
)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws(), mocked_world() as mocked:
        yield mocked


class Recording:
    """A sagemaker-runtime client that records each InvokeEndpointAsync call (moto answers)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint_async(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.client.invoke_endpoint_async(**kwargs)


def upload_batch(world: World, names: list[str], body: str = "An article about {}.") -> tuple:
    ids, records = [], []
    for index, name in enumerate(names):
        job, event = world.upload(f"inputs/20261201T182900Z-abcdef/{name}", body.format(name))
        ids.append(job)
        records.append(sqs_record(event, f"m{index}"))
    return ids, records


def lines_of(world: World, input_location: str) -> list[dict[str, Any]]:
    _, key = jobs.parse_s3_uri(input_location)
    return [json.loads(line) for line in world.text(key).splitlines()]


def test_one_batch_of_documents_becomes_one_jsonlines_request(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    ids, records = upload_batch(world, ["a.txt", "b.txt", "c.txt"])

    outcome = world.dispatcher(endpoint).process(records)

    assert outcome.failed_messages == []
    (call,) = endpoint.calls
    inference = jobs.inference_id(ids, 1)
    assert call == {
        "EndpointName": ENDPOINT,
        "InputLocation": f"s3://{BUCKET}/requests/{inference}.jsonl",
        "ContentType": "application/jsonlines",
        "InferenceId": inference,
        "InvocationTimeoutSeconds": 900,
        "RequestTTLSeconds": 21_600,
    }
    assert lines_of(world, call["InputLocation"]) == [
        {"id": ids[0], "inputs": "An article about a.txt."},
        {"id": ids[1], "inputs": "An article about b.txt."},
        {"id": ids[2], "inputs": "An article about c.txt."},
    ]
    record = world.job(ids[0])
    assert record["status"] == "queued"
    assert record["attempt"] == 1
    assert record["inference_id"] == inference
    assert record["submission"] == "20261201T182900Z-abcdef"
    assert record["source_key"] == "inputs/20261201T182900Z-abcdef/a.txt"
    assert record["submitted_at"] == "2026-12-01T18:29:00.000Z"
    assert record["started_at"] == "2026-12-01T18:30:00.000Z"
    assert record["expires_at"] == int(world.now().timestamp()) + 90 * 86_400
    assert world.metrics.values["DocumentsPerRequest"] == [3]
    assert world.metrics.total("DocumentsDispatched") == 3
    assert world.metrics.total("RequestsSent") == 1


def test_groups_respect_the_document_and_byte_limits_and_large_documents_go_alone(
    world: World,
) -> None:
    dispatcher = world.dispatcher(
        max_documents_per_request=2, max_request_bytes=1_000, large_document_bytes=600
    )
    ids, records = upload_batch(world, ["1.txt", "2.txt", "3.txt"])
    big, big_event = world.upload("inputs/x/big.txt", "word " * 150)
    mid1, mid1_event = world.upload("inputs/x/mid1.txt", "m" * 450)
    mid2, mid2_event = world.upload("inputs/x/mid2.txt", "n" * 450)
    records += [sqs_record(big_event, "big"), sqs_record(mid1_event, "mid1")]
    records.append(sqs_record(mid2_event, "mid2"))

    outcome = dispatcher.process(records)

    assert [request["job_ids"] for request in outcome.requests] == [
        ids[:2],
        [big],
        [ids[2], mid1],
        [mid2],
    ]


def test_json_documents_carry_their_parameters(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    job, event = world.upload(
        "inputs/s/a.json", json.dumps({"inputs": "Text é", "parameters": {"max_length": 40}})
    )
    world.dispatcher(endpoint).process([sqs_record(event, "m")])
    assert lines_of(world, endpoint.calls[0]["InputLocation"]) == [
        {"id": job, "inputs": "Text é", "parameters": {"max_length": 40}}
    ]


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        (
            "bad.txt",
            b"caf\xe9 au lait",
            "document is not UTF-8 text: invalid byte 0xe9 at offset 3",
        ),
        ("blank.txt", b"  \n ", "document is empty or whitespace-only: nothing to summarize"),
        (
            "broken.json",
            b'{"inputs": ',
            "document is not valid JSON: Expecting value at line 1 column 12",
        ),
        (
            "list.json",
            b'["a"]',
            "a .json document must be an object with 'inputs' (a string) and optional "
            "'parameters' (an object), got array",
        ),
        (
            "number.json",
            b'{"inputs": 3}',
            "a .json document's 'inputs' must be a string, got number",
        ),
        (
            "extra.json",
            b'{"inputs": "x", "params": {}}',
            "unknown field 'params' in a .json document: expected 'inputs' and optional "
            "'parameters'",
        ),
        (
            "params.json",
            b'{"inputs": "x", "parameters": [1]}',
            "a .json document's 'parameters' must be an object, got array",
        ),
    ],
)
def test_an_unreadable_document_fails_alone_and_its_neighbours_go_on(
    world: World, name: str, body: bytes, reason: str
) -> None:
    endpoint = Recording(world.sagemaker)
    ids, records = upload_batch(world, ["good1.txt", "good2.txt"])
    bad, event = world.upload(f"inputs/s/{name}", body)

    outcome = world.dispatcher(endpoint).process([*records, sqs_record(event, "bad")])

    assert outcome.failed_messages == []
    assert outcome.unreadable == [bad]
    record = world.job(bad)
    assert (record["status"], record["failure_reason"]) == ("failed", reason)
    assert record["finished_at"] == "2026-12-01T18:30:00.000Z"
    (call,) = endpoint.calls
    assert [line["id"] for line in lines_of(world, call["InputLocation"])] == ids
    assert world.metrics.total("DocumentsUnreadable") == 1


def test_a_redriven_event_whose_document_expired_records_the_job_failed_with_the_reason(
    world: World,
) -> None:
    """A DLQ redrive after the inputs/ lifecycle rule removed the object: the job must say so,
    not stay unexplained (nor read as a summary failure)."""
    endpoint = Recording(world.sagemaker)
    job, event = world.upload("inputs/s/gone.txt", "text")
    world.s3.delete_object(Bucket=BUCKET, Key="inputs/s/gone.txt")
    world.clock[0] = NOW + dt.timedelta(days=9)

    outcome = world.dispatcher(endpoint).process([sqs_record(event, "m", receive_count=2)])

    assert outcome.failed_messages == []
    assert outcome.unreadable == [job]
    assert endpoint.calls == []
    record = world.job(job)
    assert record["status"] == "failed"
    assert record["failure_reason"] == (
        f"input object s3://{BUCKET}/inputs/s/gone.txt no longer exists (NoSuchKey: The "
        "specified key does not exist.): it was deleted, or it expired under the bucket's "
        "lifecycle rule for inputs/ (uploaded at 2026-12-01T18:29:00.000Z, 9.0 days before "
        "this attempt: a late or redriven message?); upload it again to summarize it"
    )
    assert world.metrics.total("DocumentsGone") == 1


def test_a_redispatched_job_whose_document_expired_is_recorded_failed(world: World) -> None:
    ids, records = upload_batch(world, ["a.txt"])
    dispatcher = world.dispatcher()
    dispatcher.process(records)
    world.dynamodb.update_item(
        TableName="pegasus-jobs",
        Key={"job_id": {"S": ids[0]}},
        UpdateExpression="SET #s = :f",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":f": {"S": "failed"}},
    )
    world.s3.delete_object(Bucket=BUCKET, Key="inputs/20261201T182900Z-abcdef/a.txt")
    (message,) = jobs.dispatch_messages(ids)

    outcome = dispatcher.process([sqs_record(message, "retry")])

    assert (outcome.failed_messages, outcome.requests) == ([], [])
    record = world.job(ids[0])
    assert (record["status"], record["attempt"]) == ("failed", 2)
    assert record["failure_reason"].startswith(
        f"input object s3://{BUCKET}/inputs/20261201T182900Z-abcdef/a.txt no longer exists"
    )


def test_a_redelivered_batch_sends_nothing_twice(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    ids, records = upload_batch(world, ["a.txt", "b.txt"])
    dispatcher = world.dispatcher(endpoint)
    dispatcher.process(records)
    first = world.job(ids[0])

    again = dispatcher.process([sqs_record(r["body"], r["messageId"], 2) for r in records])

    assert len(endpoint.calls) == 1
    assert again.failed_messages == []
    assert sorted(again.skipped) == sorted(ids)
    assert world.job(ids[0]) == first
    assert world.metrics.total("DuplicatesSkipped") == 2


def test_a_job_claimed_but_never_sent_is_sent_on_redelivery(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    ids, records = upload_batch(world, ["a.txt"])
    # What a dispatcher that died after claiming the job left behind.
    world.dynamodb.put_item(
        TableName="pegasus-jobs",
        Item=jobs.to_item(
            {"job_id": ids[0], "status": "queued", "attempt": 1, "inference_id": "old"}
        ),
    )
    world.dispatcher(endpoint).process(records)
    assert len(endpoint.calls) == 1
    assert world.job(ids[0])["started_at"] == "2026-12-01T18:30:00.000Z"


def test_keys_are_url_decoded_and_objects_outside_inputs_are_ignored(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    job, event = world.upload("inputs/s/my report é+1.txt", "text")
    loose, loose_event = world.upload("inputs/loose.txt", "text")
    _, elsewhere = world.upload("results/x.out", "text")
    records = [sqs_record(event, "a"), sqs_record(loose_event, "b"), sqs_record(elsewhere, "c")]

    outcome = world.dispatcher(endpoint).process(records)

    assert outcome.failed_messages == []
    assert outcome.requests[0]["job_ids"] == [job, loose]
    assert world.job(job)["source_key"] == "inputs/s/my report é+1.txt"
    assert world.job(loose)["submission"] == "-"


def test_the_s3_test_event_and_other_event_types_are_acknowledged(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}
    removed = s3_event("inputs/s/a.txt", etag="e", event_name="ObjectRemoved:Delete")
    outcome = world.dispatcher(endpoint).process(
        [sqs_record(test_event, "t"), sqs_record(removed, "r")]
    )
    assert outcome.failed_messages == []
    assert endpoint.calls == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "message body is not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[1]", "message body must be a JSON object"),
        (
            {"hello": 1},
            "message is neither an S3 event notification ('Records'), an s3:TestEvent nor a "
            "re-dispatch message ('action'); its fields are ['hello']",
        ),
        ({"Records": {}}, "'Records' of an S3 event must be an array"),
        (
            {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}}}]},
            "Records[0].s3.object.key is missing",
        ),
        (
            {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "k"}}}]},
            "Records[0].s3.bucket.name is missing",
        ),
        (
            s3_event("inputs/s/a.txt", etag="e", bucket="other"),
            f"Records[0] is about bucket 'other', not the data bucket '{BUCKET}'",
        ),
        (s3_event("inputs/s/a.txt"), "Records[0].s3.object has neither versionId nor eTag"),
        ({"action": "delete"}, "unknown action 'delete': the only action is 'dispatch'"),
        (
            {"action": "dispatch", "job_ids": []},
            "'job_ids' must be a non-empty array of job id strings, got []",
        ),
        (
            {"action": "dispatch", "job_ids": ["a"], "single": "yes"},
            "'single' must be true or false, got \"yes\"",
        ),
        (
            {"action": "dispatch", "job_ids": ["a"], "when": 1},
            "unknown field(s) when: expected action, job_ids and single",
        ),
        (
            {"action": "dispatch", "job_ids": ["0" * 32]},
            f"re-dispatch of unknown job(s) {'0' * 32}: no dispatched document has these ids",
        ),
    ],
)
def test_bad_messages_are_reported_back_with_their_reason(
    world: World, body: Any, reason: str
) -> None:
    endpoint = Recording(world.sagemaker)
    _, records = upload_batch(world, ["good.txt"])
    outcome = world.dispatcher(endpoint).process([sqs_record(body, "bad"), *records])
    assert outcome.failed_messages == ["bad"]
    assert outcome.bad_messages == {"bad": reason}
    assert len(endpoint.calls) == 1  # the good neighbour still went
    assert world.metrics.total("BadMessages") == 1


def stubbed_endpoint(
    errors: list[tuple[str, int]], succeed: bool = True, failure_location: str | None = None
) -> tuple[Any, Stubber]:
    client = boto3.client("sagemaker-runtime", region_name=REGION)
    stubber = Stubber(client)
    for code, status in errors:
        stubber.add_client_error(
            "invoke_endpoint_async",
            service_error_code=code,
            service_message="Rate exceeded",
            http_status_code=status,
        )
    if succeed:
        response = {"InferenceId": "x", "OutputLocation": "s3://b/results/x.out"}
        if failure_location:
            response["FailureLocation"] = failure_location
        stubber.add_response(
            "invoke_endpoint_async",
            response,
            {
                "EndpointName": ENDPOINT,
                "InputLocation": ANY,
                "ContentType": "application/jsonlines",
                "InferenceId": ANY,
                "InvocationTimeoutSeconds": 900,
                "RequestTTLSeconds": 21_600,
            },
        )
    stubber.activate()
    return client, stubber


def test_throttling_and_5xx_are_retried_with_exponential_backoff(world: World) -> None:
    client, stubber = stubbed_endpoint([("ThrottlingException", 400), ("ServiceUnavailable", 503)])
    ids, records = upload_batch(world, ["a.txt"])

    outcome = world.dispatcher(client).process(records)

    stubber.assert_no_pending_responses()
    assert outcome.failed_messages == []
    assert world.sleeps == [0.5, 1.0]
    assert world.metrics.total("InvokeRetries") == 2
    assert "started_at" in world.job(ids[0])


def test_a_client_error_is_not_retried_and_the_message_comes_back(world: World) -> None:
    client, _ = stubbed_endpoint([("ValidationError", 400)], succeed=False)
    ids, records = upload_batch(world, ["a.txt"])

    outcome = world.dispatcher(client).process(records)

    assert outcome.failed_messages == ["m0"]
    assert world.sleeps == []
    record = world.job(ids[0])
    assert (record["status"], "started_at" in record) == ("queued", False)


def test_on_the_last_receive_the_jobs_are_recorded_failed_with_the_reason(world: World) -> None:
    client, _ = stubbed_endpoint([("ThrottlingException", 400)] * 4, succeed=False)
    job, event = world.upload("inputs/s/a.txt", "text")

    outcome = world.dispatcher(client).process([sqs_record(event, "m", receive_count=5)])

    assert outcome.failed_messages == ["m"]
    assert world.sleeps == [0.5, 1.0, 2.0]
    record = world.job(job)
    assert record["status"] == "failed"
    assert record["failure_reason"] == (
        "could not send the request to the endpoint after 5 tries: ThrottlingException: "
        "Rate exceeded"
    )


def test_one_failed_request_does_not_fail_the_messages_of_another(world: World) -> None:
    client, _ = stubbed_endpoint([("ValidationError", 400)])
    ids, records = upload_batch(world, ["a.txt", "b.txt"])
    outcome = world.dispatcher(client, max_documents_per_request=1).process(records)
    assert outcome.failed_messages == ["m0"]
    assert [r["job_ids"] for r in outcome.requests] == [[ids[1]]]


def test_redispatch_sends_each_failed_job_alone_at_the_next_attempt(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    ids, records = upload_batch(world, ["a.txt", "b.txt", "c.txt"])
    dispatcher = world.dispatcher(endpoint)
    dispatcher.process(records)
    for job in ids[:2]:
        world.dynamodb.update_item(
            TableName="pegasus-jobs",
            Key={"job_id": {"S": job}},
            UpdateExpression="SET #s = :f",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":f": {"S": "failed"}},
        )
    (message,) = jobs.dispatch_messages(ids)

    outcome = dispatcher.process([sqs_record(message, "retry")])

    # The third job is in flight: it is not sent again.
    assert [r["job_ids"] for r in outcome.requests] == [[ids[0]], [ids[1]]]
    assert outcome.requests[0]["inference_id"] == jobs.inference_id([ids[0]], 2)
    record = world.job(ids[0])
    assert (record["status"], record["attempt"]) == ("queued", 2)
    assert record["submission"] == "20261201T182900Z-abcdef"
    assert world.job(ids[2])["attempt"] == 1
    # A duplicate of the message finds both in flight.
    assert dispatcher.process([sqs_record(message, "retry")]).requests == []


def test_redispatch_without_single_groups_the_jobs(world: World) -> None:
    ids, records = upload_batch(world, ["a.txt", "b.txt"])
    dispatcher = world.dispatcher(max_documents_per_request=1)
    dispatcher.process(records)
    for job in ids:
        world.dynamodb.update_item(
            TableName="pegasus-jobs",
            Key={"job_id": {"S": job}},
            UpdateExpression="SET #s = :f",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":f": {"S": "failed"}},
        )
    (message,) = jobs.dispatch_messages(ids, single=False)
    outcome = world.dispatcher().process([sqs_record(message, "retry")])
    assert [sorted(r["job_ids"]) for r in outcome.requests] == [sorted(ids)]


ENVIRONMENT = {
    "ENDPOINT_NAME": ENDPOINT,
    "DATA_BUCKET": BUCKET,
    "INPUT_PREFIX": "inputs/",
    "REQUEST_PREFIX": "requests/",
    "JOBS_TABLE": "pegasus-jobs",
    "MAX_DOCUMENTS_PER_REQUEST": "32",
    "MAX_REQUEST_BYTES": "4000000",
    "LARGE_DOCUMENT_BYTES": "500000",
    "INVOCATION_TIMEOUT_SECONDS": "900",
    "REQUEST_TTL_SECONDS": "21600",
    "JOB_TTL_DAYS": "90",
    "MODEL_ID": "google/pegasus-large",
    "MODEL_REVISION": "main",
}


def test_the_environment_is_read_and_every_problem_is_named() -> None:
    config = DispatcherConfig.from_environment(ENVIRONMENT)
    assert (config.max_documents_per_request, config.max_receive_count) == (32, 5)
    broken = {**ENVIRONMENT, "INPUT_PREFIX": "inputs", "MAX_DOCUMENTS_PER_REQUEST": "lots"}
    del broken["ENDPOINT_NAME"]
    with pytest.raises(SettingsError) as raised:
        DispatcherConfig.from_environment(broken)
    assert str(raised.value) == (
        "the dispatcher function's environment is invalid: ENDPOINT_NAME is not set; "
        "INPUT_PREFIX must end with '/', got 'inputs'; MAX_DOCUMENTS_PER_REQUEST must be an "
        "integer between 1 and 10000, got 'lots'"
    )


def test_the_lambda_handler_returns_a_partial_batch_response(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(dispatcher_module, "_dispatcher", None)
    # Powertools read the namespace when the module was imported, before this test's environment.
    monkeypatch.setattr(observability.metrics, "namespace", "PegasusSummarizer/DataPath")
    _, records = upload_batch(world, ["a.txt"])
    context = SimpleNamespace(
        function_name="dispatcher",
        memory_limit_in_mb=256,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:dispatcher",
        aws_request_id="req-1",
    )
    event = {"Records": [*records, sqs_record("nope", "bad")]}

    response = dispatcher_module.handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    emf = [line for line in emitted if "_aws" in line]
    assert emf[-1]["DocumentsDispatched"] == [1.0]
    assert emf[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PegasusSummarizer/DataPath"
    (logged,) = [r for r in caplog.records if r.getMessage() == "bad message"]
    assert (logged.levelname, getattr(logged, "message_id", None)) == ("ERROR", "bad")


def test_the_lambda_code_imports_only_what_the_lambda_runtime_has() -> None:
    """The asset is runtime/ alone on Python 3.12 with the Powertools layer: stdlib, boto3,
    botocore, aws_lambda_powertools, and relative imports between its modules."""
    import ast

    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "aws_lambda_powertools"}
    runtime = Path(dispatcher_module.__file__).parent
    found = {}
    for path in sorted(runtime.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.name)
    assert {name: files for name, files in found.items() if name not in allowed} == {}
    assert {"boto3", "botocore", "aws_lambda_powertools", "json"} <= set(found)


def test_the_handlers_load_from_the_asset_layout(tmp_path: Path) -> None:
    """The Lambda asset is runtime/ alone at the root: runtime.dispatcher.handler and
    runtime.recorder.handler must import from there, without the repository."""
    import shutil
    import subprocess

    source = Path(dispatcher_module.__file__).parent
    shutil.copytree(source, tmp_path / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    probe = (
        "import runtime.dispatcher, runtime.recorder, sys\n"
        "assert callable(runtime.dispatcher.handler) and callable(runtime.recorder.handler)\n"
        "print(sorted(m for m in sys.modules if m.startswith('constructs_lib')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "AWS_DEFAULT_REGION": REGION},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_ids_follow_the_contract() -> None:
    import hashlib

    assert (
        jobs.job_id("bucket", "inputs/s/a.txt", '"etag1"')
        == hashlib.sha256(b"bucket/inputs/s/a.txt#etag1").hexdigest()[:32]
    )
    assert jobs.inference_id(["b", "a"], 2) == hashlib.sha256(b"a,b:2").hexdigest()[:32]
    assert jobs.inference_id(["a", "b"], 2) == jobs.inference_id(["b", "a"], 2)
    assert jobs.inference_id(["a", "b"], 1) != jobs.inference_id(["a", "b"], 2)
    assert jobs.submission_of("inputs/20261201T183000Z-1a2b3c/x/y.txt", "inputs/") == (
        "20261201T183000Z-1a2b3c"
    )
    assert jobs.submission_of("inputs/loose.txt", "inputs/") == "-"
    assert jobs.new_submission_id(NOW, "1a2b3c") == "20261201T183000Z-1a2b3c"
    with pytest.raises(ValueError, match="6 lower-case hex characters, got 'XYZ'"):
        jobs.new_submission_id(NOW, "XYZ")


class FlakyS3:
    """moto's S3, except that reading objects answers 503 SlowDown."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_object(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError(
            {
                "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                "ResponseMetadata": {"HTTPStatusCode": 503},
            },
            "GetObject",
        )


@pytest.mark.parametrize("receive_count", [1, 5])
def test_a_read_that_keeps_failing_is_retried_then_recorded_failed(
    world: World, receive_count: int
) -> None:
    job, event = world.upload("inputs/s/a.txt", "text")
    dispatcher = world.dispatcher()
    dispatcher.s3 = FlakyS3(world.s3)

    outcome = dispatcher.process([sqs_record(event, "m", receive_count)])

    assert outcome.failed_messages == ["m"]
    if receive_count < 5:
        assert world.job(job) == {}
        return
    assert world.job(job)["failure_reason"] == (
        f"could not read document s3://{BUCKET}/inputs/s/a.txt after 5 tries: SlowDown: "
        "Please reduce your request rate."
    )


# --- hardening: copies, sizes, permissions, failure locations, direct jobs --------------------


def test_the_same_event_twice_in_one_batch_sends_the_document_once(world: World) -> None:
    ids, records = upload_batch(world, ["a.txt", "b.txt"])
    batch = [records[0], sqs_record(records[0]["body"], "m0-copy"), records[1]]
    refusing, _ = stubbed_endpoint([("ValidationError", 400)], succeed=False)

    # Not sent: both copies are reported, SQS delivers both again, the claims keep it to one.
    assert world.dispatcher(refusing).process(batch).failed_messages == ["m0", "m0-copy", "m1"]

    endpoint = Recording(world.sagemaker)
    outcome = world.dispatcher(endpoint).process(batch)

    assert outcome.failed_messages == []
    (call,) = endpoint.calls
    assert [line["id"] for line in lines_of(world, call["InputLocation"])] == ids
    assert call["InferenceId"] == jobs.inference_id(ids, 1)
    assert world.metrics.total("DocumentsDispatched") == 2


def test_a_document_larger_than_the_request_size_limit_is_refused_before_sending(
    world: World,
) -> None:
    endpoint = Recording(world.sagemaker)
    ids, records = upload_batch(world, ["small.txt"])
    big, big_event = world.upload("inputs/s/big.txt", "x" * 1_500)

    outcome = world.dispatcher(endpoint, max_request_bytes=1_000).process(
        [*records, sqs_record(big_event, "big")]
    )

    assert outcome.failed_messages == []
    assert outcome.unreadable == [big]
    (call,) = endpoint.calls
    assert [line["id"] for line in lines_of(world, call["InputLocation"])] == ids
    record = world.job(big)
    assert (record["status"], record["failure_reason"]) == (
        "failed",
        f"document s3://{BUCKET}/inputs/s/big.txt is 1,500 bytes, more than the endpoint's "
        "request-size limit of 1,000 bytes (data_path.max_request_bytes): split it into "
        "smaller documents",
    )
    assert world.keys("requests/") == [call["InputLocation"].split("/", 3)[3]]
    assert world.metrics.total("DocumentsTooLarge") == 1


def test_a_document_whose_escaped_line_exceeds_the_limit_is_refused_too(world: World) -> None:
    endpoint = Recording(world.sagemaker)
    job, event = world.upload("inputs/s/quotes.txt", '"' * 900)

    outcome = world.dispatcher(endpoint, max_request_bytes=1_000).process([sqs_record(event, "m")])

    assert (outcome.unreadable, endpoint.calls) == ([job], [])
    assert world.job(job)["failure_reason"] == (
        f"document s3://{BUCKET}/inputs/s/quotes.txt becomes a request line of 1,857 bytes "
        "(its text JSON-escaped), more than the endpoint's request-size limit of 1,000 bytes "
        "(data_path.max_request_bytes): split it into smaller documents"
    )


class DeniedS3:
    """moto's S3, except that reading objects is refused as IAM or a key policy refuses it."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_object(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError(
            {
                "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            },
            "GetObject",
        )


@pytest.mark.parametrize("receive_count", [1, 5])
def test_access_denied_is_retried_counted_and_recorded_only_on_the_last_receive(
    world: World, receive_count: int
) -> None:
    """With s3:ListBucket a missing object is 404, so a 403 is a permission mistake: retried
    (someone fixes the policy), alarmed, and the job explained once the message gives up."""
    job, event = world.upload("inputs/s/a.txt", "text")
    dispatcher = world.dispatcher()
    dispatcher.s3 = DeniedS3(world.s3)

    outcome = dispatcher.process([sqs_record(event, "m", receive_count)])

    assert outcome.failed_messages == ["m"]
    assert outcome.unreadable == ([job] if receive_count == 5 else [])
    assert world.metrics.total("AccessDenied") == 1
    if receive_count < 5:
        assert world.job(job) == {}
        return
    assert world.job(job)["failure_reason"] == (
        f"could not read document s3://{BUCKET}/inputs/s/a.txt after 5 tries: AccessDenied: "
        "Access Denied"
    )


def test_an_invocation_refused_for_access_is_counted(world: World) -> None:
    client, _ = stubbed_endpoint([("AccessDeniedException", 400)], succeed=False)
    _, records = upload_batch(world, ["a.txt"])
    outcome = world.dispatcher(client).process(records)
    assert outcome.failed_messages == ["m0"]
    assert world.metrics.total("AccessDenied") == 1


def test_the_failure_location_of_the_invocation_is_kept_on_the_job(world: World) -> None:
    location = f"s3://{BUCKET}/failures/x-error.out"
    client, _ = stubbed_endpoint([], failure_location=location)
    ids, records = upload_batch(world, ["a.txt"])

    world.dispatcher(client).process(records)

    record = world.job(ids[0])
    assert (record["status"], record["failure_location"]) == ("queued", location)


def test_a_direct_request_cannot_be_redispatched(world: World) -> None:
    direct = "d" * 32
    world.dynamodb.put_item(
        TableName="pegasus-jobs",
        Item=jobs.to_item(
            {
                "job_id": direct,
                "status": "failed",
                "attempt": 1,
                "inference_id": direct,
                "source_bucket": BUCKET,
                "source_key": f"requests/direct-{direct}.json",
            }
        ),
    )
    (message,) = jobs.dispatch_messages([direct])

    outcome = world.dispatcher().process([sqs_record(message, "retry")])

    assert outcome.failed_messages == ["retry"]
    assert outcome.bad_messages == {
        "retry": f"re-dispatch of direct request(s) {direct}: they were sent straight to the "
        "endpoint, not uploaded under inputs/, and the dispatcher reads only that prefix; send "
        "them again with InvokeEndpointAsync"
    }
    assert world.job(direct)["status"] == "failed"


def test_a_job_whose_outcome_can_no_longer_arrive_may_be_sent_again(world: World) -> None:
    """Sent and still queued after RequestTTLSeconds + InvocationTimeoutSeconds (+ 15 minutes
    for the notification): its notification was lost, so it is no longer in flight."""
    endpoint = Recording(world.sagemaker)
    ids, records = upload_batch(world, ["a.txt"])
    dispatcher = world.dispatcher(endpoint)
    dispatcher.process(records)
    record = world.job(ids[0])
    assert record["overdue_at"] == "2026-12-02T01:00:00.000Z"  # 18:30 + 6 h + 15 min + 15 min
    (message,) = jobs.dispatch_messages(ids)

    assert dispatcher.process([sqs_record(message, "early")]).requests == []

    world.clock[0] = jobs.parse_iso(record["overdue_at"])
    outcome = dispatcher.process([sqs_record(message, "late")])

    assert [r["job_ids"] for r in outcome.requests] == [ids]
    assert world.job(ids[0])["attempt"] == 2
