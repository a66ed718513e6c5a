"""The recorder against moto: outcomes, curated rows, re-dispatch, and notifications that arrive
twice, late or out of order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from moto import mock_aws

from constructs_lib.data_path.runtime import jobs, observability
from constructs_lib.data_path.runtime import recorder as recorder_module
from constructs_lib.data_path.runtime.environment import SettingsError
from constructs_lib.data_path.runtime.jobs import MessageError
from constructs_lib.data_path.runtime.recorder import RecorderConfig, RetryLater
from tests.datapath_support import (
    BUCKET,
    CREDENTIALS,
    REGION,
    TABLE,
    World,
    mocked_world,
    notification,
    s3_event,
    sqs_record,
)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws(), mocked_world() as mocked:
        yield mocked


def dispatched(world: World, count: int = 3) -> tuple[list[str], str]:
    """``count`` documents dispatched as one request: their job ids and the inference id."""
    records = []
    ids = []
    for index in range(count):
        job, event = world.upload(f"inputs/20261201T182900Z-abcdef/doc{index}.txt", f"Text {index}")
        ids.append(job)
        records.append(sqs_record(event, f"m{index}"))
    (request,) = world.dispatcher().process(records).requests
    return ids, request["inference_id"]


def write_output(world: World, inference: str, lines: list[dict[str, Any]]) -> str:
    key = f"results/{inference}.out"
    body = "".join(json.dumps(line) + "\n" for line in lines)
    world.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    return f"s3://{BUCKET}/{key}"


def summary(job: str, index: int) -> dict[str, Any]:
    return {
        "id": job,
        "summary_text": f"Summary {index}.",
        "input_tokens": 10 + index,
        "chunks": 1,
        "rounds": 1,
    }


def test_a_completed_request_records_every_job_and_appends_curated_rows(world: World) -> None:
    ids, inference = dispatched(world)
    output = write_output(world, inference, [summary(job, i) for i, job in enumerate(ids)])

    result = world.recorder().record(json.dumps(notification(inference, output_location=output)))

    assert result.succeeded == ids
    record = world.job(ids[1])
    assert {
        key: record[key]
        for key in ("status", "output_location", "output_line", "input_tokens", "chunks", "rounds")
    } == {
        "status": "succeeded",
        "output_location": output,
        "output_line": 2,
        "input_tokens": 11,
        "chunks": 1,
        "rounds": 1,
    }
    assert record["finished_at"] == "2026-12-01T18:40:00.000Z"
    assert record["model_id"] == "google/pegasus-large"
    key = f"curated/summaries/dt=2026-12-01/{inference}.jsonl"
    assert result.curated_key == key
    rows = [json.loads(line) for line in world.text(key).splitlines()]
    assert rows[1] == {
        "job_id": ids[1],
        "submission": "20261201T182900Z-abcdef",
        "source_bucket": BUCKET,
        "source_key": "inputs/20261201T182900Z-abcdef/doc1.txt",
        "summary": "Summary 1.",
        "input_tokens": 11,
        "chunks": 1,
        "rounds": 1,
        "model_id": "google/pegasus-large",
        "model_revision": "main",
        "submitted_at": "2026-12-01T18:29:00.000Z",
        "finished_at": "2026-12-01T18:40:00.000Z",
    }
    assert world.metrics.total("JobsSucceeded") == 3
    assert world.metrics.total("CuratedRows") == 3


def test_a_line_error_fails_only_its_own_job(world: World) -> None:
    ids, inference = dispatched(world)
    lines = [summary(ids[0], 0), {"id": ids[1], "error": "line 2 is empty"}, summary(ids[2], 2)]
    output = write_output(world, inference, lines)

    result = world.recorder().record(json.dumps(notification(inference, output_location=output)))

    assert (result.succeeded, result.failed) == ([ids[0], ids[2]], [ids[1]])
    record = world.job(ids[1])
    assert (record["status"], record["failure_reason"]) == ("failed", "line 2 is empty")
    assert record["failure_location"] == f"{output}#line=2"
    assert len(world.text(result.curated_key or "").splitlines()) == 2
    assert world.metrics.total("JobsFailed") == 1


def test_lines_without_ids_are_matched_in_request_order_and_missing_lines_fail(
    world: World,
) -> None:
    ids, inference = dispatched(world)
    output = write_output(world, inference, [{"summary_text": "First.", "input_tokens": 3}])

    result = world.recorder().record(json.dumps(notification(inference, output_location=output)))

    assert result.succeeded == [ids[0]]
    assert world.job(ids[2])["failure_reason"] == (
        "the endpoint's response has no line for this document"
    )


def test_a_failed_group_is_redispatched_one_document_at_a_time(world: World) -> None:
    ids, inference = dispatched(world)
    failure = notification(
        inference,
        completed=False,
        failure_reason="ClientError: line 2 is empty",
        failure_location=f"s3://{BUCKET}/failures/{inference}-error.out",
    )

    result = world.recorder().record(json.dumps(failure))

    assert result.redispatched == ids
    record = world.job(ids[0])
    assert record["status"] == "queued"
    assert "started_at" not in record
    assert record["failure_reason"] == (
        "ClientError: line 2 is empty (in a request of 3 documents; re-dispatched alone)"
    )
    assert world.dispatch_messages() == [{"action": "dispatch", "job_ids": ids, "single": True}]
    assert world.metrics.total("Redispatches") == 3


def test_a_repeated_group_failure_resends_but_each_job_is_dispatched_once(world: World) -> None:
    ids, inference = dispatched(world, count=2)
    failure = json.dumps(notification(inference, completed=False))
    recorder = world.recorder()
    recorder.record(failure)
    recorder.record(failure)
    messages = world.dispatch_messages()
    assert len(messages) == 2

    outcome = world.dispatcher().process(
        [sqs_record(message, f"r{i}") for i, message in enumerate(messages)]
    )

    assert sorted(job for r in outcome.requests for job in r["job_ids"]) == sorted(ids)
    assert {world.job(job)["attempt"] for job in ids} == {2}


def test_a_failure_that_outruns_the_dispatcher_is_retried_later(world: World) -> None:
    ids, inference = dispatched(world, count=2)
    world.dynamodb.update_item(
        TableName=TABLE, Key={"job_id": {"S": ids[0]}}, UpdateExpression="REMOVE started_at"
    )
    with pytest.raises(RetryLater, match=f"job {ids[0]} of request {inference} is not marked"):
        world.recorder().record(json.dumps(notification(inference, completed=False)))


def test_a_single_document_failure_is_recorded_with_the_reason_and_location(
    world: World,
) -> None:
    ids, inference = dispatched(world, count=1)
    location = f"s3://{BUCKET}/failures/{inference}-error.out"
    failure = notification(
        inference, completed=False, failure_reason="ModelError: boom", failure_location=location
    )

    world.recorder().record(json.dumps(failure))

    record = world.job(ids[0])
    assert (record["status"], record["failure_reason"]) == ("failed", "ModelError: boom")
    assert (record["failure_location"], record["finished_at"]) == (
        location,
        "2026-12-01T18:40:00.000Z",
    )


def test_a_duplicate_notification_changes_nothing(world: World) -> None:
    ids, inference = dispatched(world, count=2)
    output = write_output(world, inference, [summary(job, i) for i, job in enumerate(ids)])
    body = json.dumps(notification(inference, output_location=output))
    recorder = world.recorder()
    first = recorder.record(body)
    before = [world.job(job) for job in ids]
    curated = world.text(first.curated_key or "")
    world.clock[0] = world.clock[0].replace(hour=19)

    again = recorder.record(body)

    assert (again.succeeded, again.stale) == ([], ids)
    assert [world.job(job) for job in ids] == before
    assert world.text(again.curated_key or "") == curated
    assert world.metrics.total("StaleNotifications") == 2


def test_a_late_notification_of_an_older_attempt_is_ignored(world: World) -> None:
    ids, inference = dispatched(world, count=2)
    recorder = world.recorder()
    recorder.record(json.dumps(notification(inference, completed=False)))
    world.dispatcher().process(
        [sqs_record(m, f"r{i}") for i, m in enumerate(world.dispatch_messages())]
    )
    after_redispatch = world.job(ids[0])
    output = write_output(world, inference, [summary(job, i) for i, job in enumerate(ids)])

    late = recorder.record(json.dumps(notification(inference, output_location=output)))

    assert late.stale == ids
    assert world.job(ids[0]) == after_redispatch
    assert after_redispatch["attempt"] == 2


@pytest.mark.parametrize("first_completed", [True, False])
def test_a_terminal_record_of_the_same_attempt_is_not_overwritten(
    world: World, first_completed: bool
) -> None:
    ids, inference = dispatched(world, count=1)
    output = write_output(world, inference, [summary(ids[0], 0)])
    success = json.dumps(notification(inference, output_location=output))
    failure = json.dumps(notification(inference, completed=False))
    recorder = world.recorder()
    recorder.record(success if first_completed else failure)
    settled = world.job(ids[0])

    recorder.record(failure if first_completed else success)

    assert world.job(ids[0]) == settled
    assert settled["status"] == ("succeeded" if first_completed else "failed")


def test_a_direct_caller_is_recorded_under_its_inference_id(world: World) -> None:
    world.s3.put_object(Bucket=BUCKET, Key="requests/smoke.json", Body=b'{"inputs": "x"}')
    output = f"s3://{BUCKET}/results/smoke.out"
    world.s3.put_object(
        Bucket=BUCKET,
        Key="results/smoke.out",
        Body=json.dumps([{"summary_text": "S.", "input_tokens": 5, "chunks": 1, "rounds": 1}]),
    )
    body = notification(
        "smoke-1", input_location=f"s3://{BUCKET}/requests/smoke.json", output_location=output
    )

    result = world.recorder().record(json.dumps(body))

    assert result.direct
    record = world.job("smoke-1")
    assert {k: record.get(k) for k in ("status", "source", "source_key", "input_tokens")} == {
        "status": "succeeded",
        "source": f"s3://{BUCKET}/requests/smoke.json",
        "source_key": "requests/smoke.json",
        "input_tokens": 5,
    }
    (row,) = [json.loads(line) for line in world.text(result.curated_key or "").splitlines()]
    assert (row["job_id"], row["summary"], row["submission"]) == ("smoke-1", "S.", None)
    assert world.recorder().record(json.dumps(body)).stale == ["smoke-1"]


def test_a_direct_failure_is_recorded_with_its_reason(world: World) -> None:
    body = notification(
        "smoke-2",
        completed=False,
        input_location=f"s3://{BUCKET}/requests/smoke.txt",
        failure_reason="ClientError: request body is empty",
    )
    world.recorder().record(json.dumps(body))
    record = world.job("smoke-2")
    assert (record["status"], record["failure_reason"]) == (
        "failed",
        "ClientError: request body is empty",
    )


def test_the_test_notification_and_sns_envelopes(world: World) -> None:
    recorder = world.recorder()
    assert recorder.record(json.dumps({"eventName": "TestNotification"})).ignored
    ids, inference = dispatched(world, count=1)
    output = write_output(world, inference, [summary(ids[0], 0)])
    envelope = {
        "Type": "Notification",
        "Message": json.dumps(notification(inference, output_location=output)),
    }
    assert recorder.record(json.dumps(envelope)).succeeded == ids


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{", "notification is not JSON: Expecting property name enclosed in double quotes"),
        ("[]", "notification must be a JSON object"),
        ('{"invocationStatus": "Completed"}', "notification has no 'inferenceId'"),
        (
            '{"inferenceId": "i", "invocationStatus": "Done"}',
            "notification i has invocationStatus \"Done\": expected 'Completed' or 'Failed'",
        ),
        (
            '{"inferenceId": "i", "invocationStatus": "Failed", "eventTime": "yesterday"}',
            "notification i has no valid 'eventTime' (got \"yesterday\")",
        ),
        (
            '{"inferenceId": "i", "invocationStatus": "Completed", '
            '"eventTime": "2026-12-01T18:40:00Z"}',
            "notification i is Completed but has no responseParameters.outputLocation",
        ),
    ],
)
def test_bad_notifications_raise_with_their_reason(world: World, body: str, reason: str) -> None:
    with pytest.raises(MessageError) as raised:
        world.recorder().record(body)
    assert str(raised.value).startswith(reason)


def test_the_environment_is_read_and_every_problem_is_named() -> None:
    with pytest.raises(SettingsError) as raised:
        RecorderConfig.from_environment({"JOBS_TABLE": "t", "JOB_TTL_DAYS": "0"})
    assert str(raised.value) == (
        "the recorder function's environment is invalid: DATA_BUCKET is not set; "
        "CURATED_PREFIX is not set; DISPATCH_QUEUE_URL is not set; JOB_TTL_DAYS must be an "
        "integer between 1 and 36500, got '0'; MODEL_ID is not set"
    )


def test_the_lambda_handler_reports_only_the_bad_messages(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {
        "JOBS_TABLE": TABLE,
        "DATA_BUCKET": BUCKET,
        "CURATED_PREFIX": "curated/summaries/",
        "DISPATCH_QUEUE_URL": world.dispatch_queue_url,
        "JOB_TTL_DAYS": "90",
        "MODEL_ID": "google/pegasus-large",
        "MODEL_REVISION": "main",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(recorder_module, "_recorder", None)
    monkeypatch.setattr(observability.metrics, "namespace", "PegasusSummarizer/DataPath")
    ids, inference = dispatched(world, count=1)
    output = write_output(world, inference, [summary(ids[0], 0)])
    event = {
        "Records": [
            sqs_record(notification(inference, output_location=output), "good"),
            sqs_record("not json", "bad"),
        ]
    }
    context = SimpleNamespace(
        function_name="recorder",
        memory_limit_in_mb=256,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:recorder",
        aws_request_id="req-2",
    )

    response = recorder_module.handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert world.job(ids[0])["status"] == jobs.STATUS_SUCCEEDED


# --- hardening: gone bodies and outputs, missing records, failure locations, access ----------


def delete_records(world: World, ids: list[str]) -> None:
    for job in ids:
        world.dynamodb.delete_item(TableName=TABLE, Key={"job_id": {"S": job}})


def test_the_failure_location_of_the_invocation_stays_when_the_notification_has_none(
    world: World,
) -> None:
    ids, inference = dispatched(world, count=1)
    # moto's InvokeEndpointAsync answers with a FailureLocation of its own making.
    location = world.job(ids[0])["failure_location"]
    assert location.startswith("s3://")

    world.recorder().record(json.dumps(notification(inference, completed=False)))

    record = world.job(ids[0])
    assert (record["status"], record["failure_location"]) == ("failed", location)


def test_a_redriven_success_whose_request_body_expired_records_each_job_from_its_line(
    world: World,
) -> None:
    ids, inference = dispatched(world)
    lines = [summary(ids[0], 0), summary(ids[2], 2)]
    output = write_output(world, inference, lines)
    world.s3.delete_object(Bucket=BUCKET, Key=f"requests/{inference}.jsonl")
    world.clock[0] = world.clock[0].replace(day=12)

    result = world.recorder().record(json.dumps(notification(inference, output_location=output)))

    assert not result.direct
    assert world.job(inference) == {}
    assert (sorted(result.succeeded), result.failed) == (sorted([ids[0], ids[2]]), [ids[1]])
    assert world.job(ids[2])["output_line"] == 2
    assert world.job(ids[1])["failure_reason"] == (
        "the endpoint's response has no line with this document's id, and its request body "
        f"s3://{BUCKET}/requests/{inference}.jsonl no longer exists (NoSuchKey: The specified "
        "key does not exist.: the bucket's lifecycle rule expires requests/), so its lines "
        "cannot be matched by position"
    )
    assert world.metrics.total("RequestBodiesGone") == 1


def test_a_redriven_group_failure_whose_request_body_expired_redispatches_the_waiting_jobs(
    world: World,
) -> None:
    ids, inference = dispatched(world, count=2)
    world.s3.delete_object(Bucket=BUCKET, Key=f"requests/{inference}.jsonl")

    result = world.recorder().record(json.dumps(notification(inference, completed=False)))

    assert (sorted(result.redispatched), result.direct) == (sorted(ids), False)
    (message,) = world.dispatch_messages()
    assert sorted(message["job_ids"]) == sorted(ids)


def test_a_redriven_single_failure_whose_request_body_expired_is_recorded_failed(
    world: World,
) -> None:
    ids, inference = dispatched(world, count=1)
    world.s3.delete_object(Bucket=BUCKET, Key=f"requests/{inference}.jsonl")

    result = world.recorder().record(
        json.dumps(notification(inference, completed=False, failure_reason="ModelError: boom"))
    )

    assert (result.failed, result.direct) == (ids, False)
    assert world.job(ids[0])["failure_reason"] == "ModelError: boom"
    assert world.job(inference) == {}


def test_when_body_and_output_expired_the_waiting_jobs_fail_with_the_reason(world: World) -> None:
    ids, inference = dispatched(world, count=2)
    world.s3.delete_object(Bucket=BUCKET, Key=f"requests/{inference}.jsonl")
    output = f"s3://{BUCKET}/results/{inference}.out"

    result = world.recorder().record(json.dumps(notification(inference, output_location=output)))

    assert sorted(result.failed) == sorted(ids)
    record = world.job(ids[0])
    assert record["status"] == "failed"
    assert record["failure_reason"] == (
        f"the endpoint's output {output} no longer exists (NoSuchKey: The specified key does "
        "not exist.: the bucket's lifecycle rule expires results/); the request finished at "
        "2026-12-01T18:40:00.000Z"
    )


def test_an_outcome_nothing_waits_for_any_more_changes_nothing(world: World) -> None:
    ids, inference = dispatched(world, count=1)
    output = write_output(world, inference, [summary(ids[0], 0)])
    body = json.dumps(notification(inference, output_location=output))
    recorder = world.recorder()
    recorder.record(body)
    settled = world.job(ids[0])
    world.s3.delete_object(Bucket=BUCKET, Key=f"requests/{inference}.jsonl")

    again = recorder.record(body)

    assert (again.succeeded, again.failed, again.direct) == ([], [], False)
    assert world.job(ids[0]) == settled
    assert world.job(inference) == {}


def test_missing_records_of_a_dispatched_request_are_recreated_never_filed_as_direct(
    world: World,
) -> None:
    ids, inference = dispatched(world, count=2)
    output = write_output(world, inference, [summary(job, i) for i, job in enumerate(ids)])
    delete_records(world, ids)

    result = world.recorder().record(json.dumps(notification(inference, output_location=output)))

    assert (result.direct, result.succeeded, result.recreated) == (False, ids, ids)
    assert world.job(inference) == {}
    record = world.job(ids[1])
    assert {k: record[k] for k in ("status", "attempt", "inference_id", "output_line")} == {
        "status": "succeeded",
        "attempt": 1,
        "inference_id": inference,
        "output_line": 2,
    }
    assert record["recreated"] == (
        f"the job record was missing when the outcome of request {inference} arrived; "
        f"re-created from its request body s3://{BUCKET}/requests/{inference}.jsonl (the "
        "source document is unknown)"
    )
    assert world.metrics.total("JobRecordsRecreated") == 2
    # The dispatcher does not send a redelivered upload of these documents again.
    key = "inputs/20261201T182900Z-abcdef/doc0.txt"
    etag = world.s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
    again = world.dispatcher().process([sqs_record(s3_event(key, etag=etag), "late")])
    assert (again.requests, again.skipped) == ([], [ids[0]])


def test_recreated_jobs_of_a_failed_group_are_failed_not_redispatched(world: World) -> None:
    ids, inference = dispatched(world, count=2)
    delete_records(world, ids)

    result = world.recorder().record(
        json.dumps(notification(inference, completed=False, failure_reason="ModelError: boom"))
    )

    assert (sorted(result.failed), result.redispatched) == (sorted(ids), [])
    assert world.dispatch_messages() == []
    assert world.job(ids[0])["failure_reason"] == (
        "ModelError: boom (in a request of 2 documents; not re-dispatched: the job record was "
        "re-created without its source document)"
    )


def test_a_body_naming_job_ids_that_are_not_this_request_goes_to_the_dlq(world: World) -> None:
    inference = "e" * 32
    strangers = ["a" * 32, "b" * 32]
    body = "".join(json.dumps({"id": job, "inputs": "x"}) + "\n" for job in strangers)
    world.s3.put_object(Bucket=BUCKET, Key=f"requests/{inference}.jsonl", Body=body.encode())
    output = write_output(world, inference, [summary(job, 0) for job in strangers])

    with pytest.raises(MessageError) as raised:
        world.recorder().record(json.dumps(notification(inference, output_location=output)))

    assert str(raised.value) == (
        f"request body s3://{BUCKET}/requests/{inference}.jsonl names job ids that have no "
        f"records and do not make up inference id {inference}: it is not the body of this "
        "request (replaced?), and a body that names job ids is never recorded as a direct "
        "request"
    )
    assert world.job(inference) == {}


class DeniedReads:
    """moto's S3, except that reading objects is refused (an IAM or key-policy mistake)."""

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


def test_access_denied_is_retried_and_counted_never_read_as_a_missing_body(world: World) -> None:
    from botocore.exceptions import ClientError

    ids, inference = dispatched(world, count=1)
    output = write_output(world, inference, [summary(ids[0], 0)])
    recorder = world.recorder()
    recorder.s3 = DeniedReads(world.s3)

    with pytest.raises(ClientError):
        recorder.record(json.dumps(notification(inference, output_location=output)))

    assert world.metrics.total("AccessDenied") == 1
    assert world.job(ids[0])["status"] == "queued"
    assert world.job(inference) == {}


@pytest.mark.parametrize(
    "key",
    [
        # A client writes under requests/direct/, reusing a dispatched request's inference id.
        "requests/direct/{inference}.jsonl",
        # Or anywhere else whose name ends like one of the dispatcher's bodies.
        "inputs/copy/{inference}.jsonl",
    ],
)
def test_only_a_body_the_dispatcher_wrote_names_jobs(world: World, key: str) -> None:
    """A client's body naming dispatched jobs must not file its output under those jobs."""
    ids, inference = dispatched(world)
    forged = key.format(inference=inference)
    lines = "".join(json.dumps({"id": job, "inputs": "forged"}) + "\n" for job in ids)
    world.s3.put_object(Bucket=BUCKET, Key=forged, Body=lines.encode())
    output = write_output(world, inference, [summary(job, i) for i, job in enumerate(ids)])
    body = notification(inference, input_location=f"s3://{BUCKET}/{forged}", output_location=output)

    result = world.recorder().record(json.dumps(body))

    assert result.direct and result.succeeded == [inference]
    assert {world.job(job)["status"] for job in ids} == {"queued"}


def test_the_recorder_reads_its_request_prefix_from_the_environment() -> None:
    environ = {
        "JOBS_TABLE": "t",
        "DATA_BUCKET": "b",
        "CURATED_PREFIX": "curated/summaries/",
        "DISPATCH_QUEUE_URL": "https://sqs/q",
        "JOB_TTL_DAYS": "90",
        "MODEL_ID": "m",
    }
    assert RecorderConfig.from_environment(environ).request_prefix == "requests/"
    config = RecorderConfig.from_environment({**environ, "REQUEST_PREFIX": "bodies/"})
    assert config.request_prefix == "bodies/"
    with pytest.raises(SettingsError, match="REQUEST_PREFIX must end with '/', got 'bodies'"):
        RecorderConfig.from_environment({**environ, "REQUEST_PREFIX": "bodies"})
