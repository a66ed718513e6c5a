"""Lambda's SQS event source: the pollers that turn queue messages into batches.

As Lambda's event source mapping for SQS does
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):

* up to ``BatchSize`` messages per invocation; with ``MaximumBatchingWindowInSeconds`` the poller
  keeps gathering for up to that long after the first message, else it invokes with what one
  receive returned;
* at most ``ScalingConfig.MaximumConcurrency`` invocations at once (one poller thread each);
* a successful invocation deletes its messages, except those named in a partial batch response
  (``ReportBatchItemFailures``); an invalid partial batch response, an error, a timeout or a
  throttle fails the whole batch;
* failed messages return to the queue when their visibility timeout ends, and SQS's redrive
  policy moves them to the dead-letter queue after ``maxReceiveCount`` receives.

One deviation, stated in the report: a failed message is made visible again after
``retry_after_s`` seconds instead of the queue's visibility timeout (12 minutes for the
dispatcher), so that retries and redrives happen within a rehearsal.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rehearsal.lambdas.runtime import Outcome, Throttled

DEFAULT_POLLERS = 5
IDLE_WAIT_S = 1


@dataclass
class Mapping:
    """One event source mapping as the poller needs it."""

    uuid: str
    function_arn: str
    queue_arn: str
    batch_size: int
    window_s: float
    partial_batch: bool
    max_concurrency: int | None
    enabled: bool = True
    stopped: bool = False
    threads: list[threading.Thread] = field(default_factory=list)


@dataclass
class MappingStats:
    batches: int = 0
    records: int = 0
    failed_batches: int = 0
    partial_failures: int = 0
    throttled_batches: int = 0
    invalid_responses: int = 0
    batch_sizes: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


class Pollers:
    """Poller threads per event source mapping.

    ``sqs(arn)`` gives an SQS client as the function's execution role: Lambda polls with it,
    and needs only ``sqs:ReceiveMessage``, ``sqs:DeleteMessage`` and ``sqs:GetQueueAttributes``
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). ``admin()`` gives the
    emulator's own client, for what Lambda does not ask the role for: finding the queue's URL
    from its ARN, and the emulator's shortened visibility of failed messages (a deviation).
    ``invoke(arn, event)`` runs the function (raising ``Throttled`` at its concurrency limit).
    """

    def __init__(
        self,
        *,
        sqs: Callable[[str], Any],
        admin: Callable[[], Any],
        invoke: Callable[[str, dict[str, Any]], Outcome],
        concurrency_of: Callable[[str], int | None],
        retry_after_s: float = 2.0,
    ) -> None:
        self._sqs = sqs
        self._admin = admin
        self._invoke = invoke
        self._concurrency_of = concurrency_of
        self.retry_after_s = retry_after_s
        self.mappings: dict[str, Mapping] = {}
        self.stats: dict[str, MappingStats] = {}
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._queue_urls: dict[str, str] = {}

    # --- lifecycle --------------------------------------------------------------------------

    def add(self, mapping: Mapping) -> None:
        with self._lock:
            self.mappings[mapping.uuid] = mapping
            self.stats.setdefault(mapping.uuid, MappingStats())
        workers = mapping.max_concurrency or DEFAULT_POLLERS
        reserved = self._concurrency_of(mapping.function_arn)
        if reserved is not None:
            workers = min(workers, max(reserved, 0))
        for index in range(workers):
            thread = threading.Thread(
                target=self._work,
                args=(mapping,),
                name=f"poller-{mapping.uuid[:8]}-{index}",
                daemon=True,
            )
            mapping.threads.append(thread)
            thread.start()

    def remove(self, uuid: str) -> None:
        with self._lock:
            mapping = self.mappings.pop(uuid, None)
        if mapping is not None:
            mapping.stopped = True

    def replace(self, mapping: Mapping) -> None:
        self.remove(mapping.uuid)
        self.add(mapping)

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            mappings = list(self.mappings.values())
            self.mappings.clear()
        for mapping in mappings:
            mapping.stopped = True
        deadline = time.monotonic() + timeout
        for mapping in mappings:
            for thread in mapping.threads:
                thread.join(max(0.0, deadline - time.monotonic()))

    # --- polling ----------------------------------------------------------------------------

    def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            _, _, _, _, account, name = arn.split(":")
            self._queue_urls[arn] = self._admin().get_queue_url(
                QueueName=name, QueueOwnerAWSAccountId=account
            )["QueueUrl"]
        return self._queue_urls[arn]

    def _work(self, mapping: Mapping) -> None:
        client = self._sqs(mapping.function_arn)
        while not mapping.stopped:
            if not mapping.enabled:
                time.sleep(IDLE_WAIT_S)
                continue
            try:
                url = self._queue_url(mapping.queue_arn)
                batch = self._gather(client, url, mapping)
                if batch:
                    self._deliver(client, url, mapping, batch)
            except Exception as error:  # a poller never dies: it reports and polls on
                if mapping.stopped:
                    return
                self.failures.append(f"poller {mapping.uuid}: {type(error).__name__}: {error}")
                time.sleep(IDLE_WAIT_S)

    def _gather(self, client: Any, url: str, mapping: Mapping) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline: float | None = None
        while not mapping.stopped and len(messages) < mapping.batch_size:
            wait = IDLE_WAIT_S
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(IDLE_WAIT_S, max(1, int(remaining)))
            answer = client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = answer.get("Messages", [])
            messages.extend(received)
            if received and deadline is None:
                if mapping.window_s <= 0:
                    break
                deadline = time.monotonic() + mapping.window_s
        return messages

    def _deliver(
        self, client: Any, url: str, mapping: Mapping, messages: list[dict[str, Any]]
    ) -> None:
        stats = self.stats[mapping.uuid]
        region = mapping.queue_arn.split(":")[3]
        event = {"Records": [_record(m, mapping.queue_arn, region) for m in messages]}
        ids = {m["MessageId"] for m in messages}
        failed: set[str] = set()
        stats.batches += 1
        stats.records += len(messages)
        stats.batch_sizes[len(messages)] += 1
        try:
            outcome = self._invoke(mapping.function_arn, event)
        except Throttled:
            stats.throttled_batches += 1
            failed = set(ids)
        else:
            if outcome.failed:
                stats.failed_batches += 1
                stats.errors[str(outcome.error.get("errorType") if outcome.error else "")] += 1
                failed = set(ids)
            elif mapping.partial_batch:
                reported = _partial_failures(outcome.result, ids)
                if reported is None:
                    stats.invalid_responses += 1
                    failed = set(ids)
                else:
                    failed = reported
                    stats.partial_failures += len(reported)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            client.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
        for message in messages:
            if message["MessageId"] in failed:
                with contextlib.suppress(Exception):  # the handle may have expired meanwhile
                    self._admin().change_message_visibility(
                        QueueUrl=url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=int(self.retry_after_s),
                    )


def _partial_failures(result: Any, ids: set[str]) -> set[str] | None:
    """The failed message ids of a partial batch response; None when it is invalid (Lambda
    then treats the whole batch as failed)."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        return None
    items = result.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            return None
        failed.add(identifier)
    return failed


def _record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda hands it to a function."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            key: attributes[key]
            for key in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "MessageGroupId",
                "MessageDeduplicationId",
                "SequenceNumber",
                "AWSTraceHeader",
            )
            if key in attributes
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
