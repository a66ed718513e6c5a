"""The SQS event source as Lambda runs it: batch size, batching window, partial batch responses,
maximum concurrency and the queue's redrive policy, on the emulator's own SQS."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rehearsal.lambdas.poller import Mapping, Pollers
from rehearsal.lambdas.runtime import Outcome
from rehearsal.run import Rehearsal

Handler = Callable[[dict[str, Any]], Outcome]


class Recorder:
    """A fake function: records each batch, answers with ``respond(records)``."""

    def __init__(self, respond: Callable[[list[dict[str, Any]]], Outcome], delay: float = 0):
        self.respond = respond
        self.delay = delay
        self.batches: list[list[dict[str, Any]]] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, arn: str, event: dict[str, Any]) -> Outcome:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.batches.append(event["Records"])
        time.sleep(self.delay)
        with self._lock:
            self.running -= 1
        return self.respond(event["Records"])


def ok(records: list[dict[str, Any]]) -> Outcome:
    return Outcome("fake", "id", result={"batchItemFailures": []})


@pytest.fixture
def queue(rehearsal: Rehearsal) -> Iterator[tuple[str, str, str]]:
    """A work queue with a dead-letter queue after 2 receives: (url, arn, dlq url)."""
    sqs = rehearsal.api.client("sqs")
    name = f"poller-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    yield url, arn, dlq
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq)


def _pollers(rehearsal: Rehearsal, function: Recorder, concurrency: int | None = None) -> Pollers:
    return Pollers(
        sqs=lambda arn: rehearsal.api.client("sqs"),
        admin=lambda: rehearsal.api.client("sqs"),
        invoke=function,
        concurrency_of=lambda arn: concurrency,
        retry_after_s=1,
    )


def _send(rehearsal: Rehearsal, url: str, count: int) -> list[str]:
    sqs = rehearsal.api.client("sqs")
    return [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"] for i in range(count)]


def _depth(rehearsal: Rehearsal, url: str) -> int:
    attributes = rehearsal.api.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _wait(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def mapping(arn: str, **changes: Any) -> Mapping:
    values: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fake",
        "queue_arn": arn,
        "batch_size": 10,
        "window_s": 0,
        "partial_batch": True,
        "max_concurrency": 2,
    }
    values.update(changes)
    return Mapping(**values)


def test_batches_gather_up_to_the_batch_size_over_the_window(
    rehearsal: Rehearsal, queue: tuple[str, str, str]
) -> None:
    url, arn, _ = queue
    function = Recorder(ok)
    pollers = _pollers(rehearsal, function)
    _send(rehearsal, url, 23)
    pollers.add(mapping(arn, batch_size=12, window_s=3, max_concurrency=1))
    try:
        _wait(lambda: _depth(rehearsal, url) == 0)
    finally:
        pollers.stop()
    assert sorted(len(batch) for batch in function.batches) == [11, 12]
    record = function.batches[0][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_a_partial_batch_response_retries_only_the_failed_messages(
    rehearsal: Rehearsal, queue: tuple[str, str, str]
) -> None:
    url, arn, dlq = queue
    failed_once: set[str] = set()

    def fail_m3_once(records: list[dict[str, Any]]) -> Outcome:
        failures = [
            {"itemIdentifier": r["messageId"]}
            for r in records
            if r["body"] == "m3" and r["messageId"] not in failed_once
        ]
        failed_once.update(f["itemIdentifier"] for f in failures)
        return Outcome("fake", "id", result={"batchItemFailures": failures})

    function = Recorder(fail_m3_once)
    pollers = _pollers(rehearsal, function)
    _send(rehearsal, url, 5)
    pollers.add(mapping(arn, batch_size=5, max_concurrency=1))
    try:
        _wait(lambda: _depth(rehearsal, url) == 0)
    finally:
        pollers.stop()
    bodies = [r["body"] for batch in function.batches for r in batch]
    assert sorted(bodies) == ["m0", "m1", "m2", "m3", "m3", "m4"]
    retried = function.batches[-1][0]
    assert retried["body"] == "m3" and retried["attributes"]["ApproximateReceiveCount"] == "2"
    assert _depth(rehearsal, dlq) == 0


def test_an_invalid_partial_batch_response_fails_the_whole_batch_into_the_dlq(
    rehearsal: Rehearsal, queue: tuple[str, str, str]
) -> None:
    """An itemIdentifier not in the batch: Lambda retries everything; after maxReceiveCount
    (2) receives SQS moves the messages to the dead-letter queue."""
    url, arn, dlq = queue

    def invalid(records: list[dict[str, Any]]) -> Outcome:
        return Outcome("fake", "id", result={"batchItemFailures": [{"itemIdentifier": "nope"}]})

    function = Recorder(invalid)
    pollers = _pollers(rehearsal, function)
    _send(rehearsal, url, 3)
    pollers.add(mapping(arn, batch_size=3, max_concurrency=1))
    try:
        _wait(lambda: _depth(rehearsal, dlq) == 3)
    finally:
        pollers.stop()
    assert [len(batch) for batch in function.batches][:2] == [3, 3]
    assert pollers.stats[next(iter(pollers.stats))].invalid_responses >= 2


def test_a_function_error_fails_the_whole_batch(
    rehearsal: Rehearsal, queue: tuple[str, str, str]
) -> None:
    url, arn, dlq = queue
    function = Recorder(lambda records: Outcome("fake", "id", error={"errorType": "Boom"}))
    pollers = _pollers(rehearsal, function)
    _send(rehearsal, url, 2)
    pollers.add(mapping(arn, batch_size=2, max_concurrency=1))
    try:
        _wait(lambda: _depth(rehearsal, dlq) == 2)
    finally:
        pollers.stop()
    assert _depth(rehearsal, url) == 0


def test_no_more_invocations_at_once_than_the_maximum_concurrency(
    rehearsal: Rehearsal, queue: tuple[str, str, str]
) -> None:
    url, arn, _ = queue
    function = Recorder(ok, delay=1.0)
    pollers = _pollers(rehearsal, function, concurrency=5)
    _send(rehearsal, url, 12)
    pollers.add(mapping(arn, batch_size=2, max_concurrency=3))
    try:
        _wait(lambda: _depth(rehearsal, url) == 0)
    finally:
        pollers.stop()
    assert function.most_at_once == 3


def test_the_event_source_needs_only_the_permissions_lambda_documents(
    rehearsal: Rehearsal, queue: tuple[str, str, str]
) -> None:
    """Lambda polls with the function's role, which needs sqs:ReceiveMessage, DeleteMessage and
    GetQueueAttributes on the queue and nothing more (the data path grants exactly those):
    finding the queue's URL and the shortened retry visibility are the emulator's own calls."""
    from rehearsal.emulator import aws
    from rehearsal.emulator.state import current

    url, arn, _ = queue
    assert current.iam is not None
    iam = rehearsal.api.client("iam")
    name = f"poller-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    consume = {
        "Effect": "Allow",
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "Resource": arn,
    }
    iam.put_role_policy(
        RoleName=name,
        PolicyName="consume",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [consume]}),
    )
    failed_once: set[str] = set()

    def fail_first_once(records: list[dict[str, Any]]) -> Outcome:
        first = records[0]["messageId"]
        failures = [] if failed_once else [{"itemIdentifier": first}]
        failed_once.add(first)
        return Outcome("fake", "id", result={"batchItemFailures": failures})

    function = Recorder(fail_first_once)
    pollers = Pollers(
        sqs=lambda function_arn: aws.as_role(rehearsal.api.endpoint_url, role_arn, name).client(
            "sqs"
        ),
        admin=lambda: rehearsal.api.client("sqs"),
        invoke=function,
        concurrency_of=lambda function_arn: None,
        retry_after_s=1,
    )
    denied_before = len(current.iam.denials)
    _send(rehearsal, url, 4)
    pollers.add(mapping(arn, batch_size=4, max_concurrency=1))
    try:
        _wait(lambda: _depth(rehearsal, url) == 0)
    finally:
        pollers.stop()
    assert current.iam.denials[denied_before:] == []
    assert pollers.failures == []
    assert sorted(len(batch) for batch in function.batches) == [1, 4]
