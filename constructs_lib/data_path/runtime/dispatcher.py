"""The dispatcher Lambda: group uploaded documents into JSON Lines requests for the async endpoint.

Why grouped: the endpoint's handler batches the articles of ONE request, and nothing batches
across requests (one worker per GPU, one request at a time), so one document per invocation
would give every ``generate`` call a batch of one.

One SQS batch (up to ``MAX_DOCUMENTS_PER_REQUEST`` messages, gathered for the batching window)
becomes as few requests as the limits allow: at most ``MAX_DOCUMENTS_PER_REQUEST`` documents and
``MAX_REQUEST_BYTES`` bytes each; a document of ``LARGE_DOCUMENT_BYTES`` or more goes alone, and
so does every document of a re-dispatch message with ``"single": true``.

Nothing is lost and nothing runs twice on purpose:

* each job is claimed with a conditional write before the request is sent, so a redelivered
  message finds its documents already dispatched and skips them;
* a job claimed but never sent (the function died in between) stays claimable, so the retry of
  its message sends it;
* a message whose documents could not be sent is reported back (partial batch response), SQS
  delivers it again, and after ``MAX_RECEIVE_COUNT`` receives its jobs are recorded ``failed``
  with the reason while the message goes on to the dead-letter queue;
* a document that cannot be read or decoded, whose object is gone (deleted, or expired under
  the bucket's lifecycle rule before a late or redriven message arrived), or that is larger
  than the endpoint's request-size limit is recorded ``failed`` at once, alone, with the
  reason: its neighbours go on;
* AccessDenied (an IAM or key-policy mistake, never a missing object: the function may list
  the input prefix, so S3 answers a missing object with 404) is retried like any other error
  and counted in the ``AccessDenied`` metric, which the data path alarms on;
* the same document twice in one batch (SQS delivers at least once) is sent once.

Powertools' BatchProcessor handles records one at a time, which cannot group documents across
records, so the partial batch response is built here (the recorder does use it).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from . import jobs
from .documents import UnreadableDocument, encode_line, request_line
from .environment import read_settings, setting
from .messages import Source, s3_sources
from .observability import (
    ACCESS_DENIED,
    BAD_MESSAGES,
    DOCUMENTS_DISPATCHED,
    DOCUMENTS_GONE,
    DOCUMENTS_PER_REQUEST,
    DOCUMENTS_TOO_LARGE,
    DOCUMENTS_UNREADABLE,
    DUPLICATES_SKIPPED,
    INVOKE_FAILURES,
    INVOKE_RETRIES,
    REQUESTS_SENT,
    MetricSink,
    count,
    logger,
    metrics,
)
from .retry import (
    NETWORK_ERRORS,
    Backoff,
    describe,
    error_code,
    is_access_denied,
    is_condition_failed,
    is_missing,
)

# S3's answer to a read whose If-Match ETag no longer matches: the key was uploaded again.
REPLACED_CODES = frozenset({"PreconditionFailed", "412"})
# The object is in an archive storage class: it cannot be read until someone restores it.
ARCHIVED_CODES = frozenset({"InvalidObjectState"})
# After a request's TTL and invocation timeout, how long its notification may still take (SNS
# and SQS delivery, the recorder's retries) before the job counts as overdue.
NOTIFICATION_MARGIN = _dt.timedelta(minutes=15)


@dataclass(frozen=True)
class DispatcherConfig:
    """The dispatcher's settings (its environment, see the contract in docs/client.md)."""

    endpoint_name: str = setting("ENDPOINT_NAME")
    data_bucket: str = setting("DATA_BUCKET")
    input_prefix: str = setting("INPUT_PREFIX", "prefix")
    request_prefix: str = setting("REQUEST_PREFIX", "prefix")
    jobs_table: str = setting("JOBS_TABLE")
    max_documents_per_request: int = setting(
        "MAX_DOCUMENTS_PER_REQUEST", "integer", low=1, high=10_000
    )
    max_request_bytes: int = setting("MAX_REQUEST_BYTES", "integer", low=1_000, high=1_000_000_000)
    large_document_bytes: int = setting(
        "LARGE_DOCUMENT_BYTES", "integer", low=1, high=1_000_000_000
    )
    invocation_timeout_seconds: int = setting(
        "INVOCATION_TIMEOUT_SECONDS", "integer", low=1, high=3_600
    )
    request_ttl_seconds: int = setting("REQUEST_TTL_SECONDS", "integer", low=60, high=21_600)
    job_ttl_days: int = setting("JOB_TTL_DAYS", "integer", low=1, high=36_500)
    model_id: str = setting("MODEL_ID")
    model_revision: str = setting("MODEL_REVISION", default="main")
    # Not in the shared environment list; the queue's redrive setting, 5 by default.
    max_receive_count: int = setting("MAX_RECEIVE_COUNT", "integer", low=1, high=1_000, default=5)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> DispatcherConfig:
        return read_settings(cls, environ, "dispatcher")


@dataclass
class Document:
    source: Source
    line: bytes


@dataclass
class Outcome:
    """What one invocation of the handler did (for logs, tests and the benchmark)."""

    failed_messages: list[str] = field(default_factory=list)
    # Messages no retry can fix (they go on to the DLQ), with the reason.
    bad_messages: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class Dispatcher:
    """The dispatcher's logic with its AWS clients injected; ``handler`` builds one from env."""

    def __init__(
        self,
        config: DispatcherConfig,
        *,
        s3: Any,
        sagemaker: Any,
        dynamodb: Any,
        sink: MetricSink | None = None,
        now: Callable[[], _dt.datetime] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config
        self.s3 = s3
        self.sagemaker = sagemaker
        self.dynamodb = dynamodb
        self.sink: MetricSink = sink if sink is not None else metrics
        self.now = now or (lambda: _dt.datetime.now(_dt.UTC))
        self.backoff = backoff or Backoff()

    # ---------------------------------------------------------------- messages -> sources

    def process(self, records: list[Mapping[str, Any]]) -> Outcome:
        """Dispatch the documents of one SQS batch; failed message ids are in the outcome."""
        outcome = Outcome()
        failed: set[str] = set()
        sources: list[Source] = []
        for record in records:
            message_id = str(record.get("messageId", ""))
            try:
                sources.extend(self._sources(record))
            except jobs.MessageError as error:
                count(self.sink, BAD_MESSAGES)
                outcome.bad_messages[message_id] = str(error)
                logger.error("bad message", extra={"message_id": message_id, "reason": str(error)})
                failed.add(message_id)
            except ClientError as error:
                self._note_denied(error)
                reason = describe(error)
                logger.warning(
                    "could not resolve message", extra={"message_id": message_id, "reason": reason}
                )
                failed.add(message_id)
        sources, copies = _unique_jobs(s for s in sources if s.message_id not in failed)
        documents: list[Document] = []
        for source in sources:
            if source.message_id in failed:
                continue
            try:
                documents.append(self._read(source))
            except UnreadableDocument as error:
                if self._record_unreadable(source, str(error)):
                    outcome.unreadable.append(source.job_id)
                else:
                    outcome.skipped.append(source.job_id)
            except (ClientError, *NETWORK_ERRORS) as error:
                self._note_denied(error)
                logger.warning(
                    "could not read document, the message will be retried",
                    extra={"key": source.key, "reason": describe(error)},
                )
                failed.add(source.message_id)
                if source.receive_count >= self.config.max_receive_count:
                    # The message goes on to the DLQ: the job must not stay unexplained.
                    reason = (
                        f"could not read document s3://{source.bucket}/{source.key} after "
                        f"{source.receive_count} tries: {describe(error)}"
                    )
                    if self._record_unreadable(source, reason):
                        outcome.unreadable.append(source.job_id)
        documents = [d for d in documents if d.source.message_id not in failed]
        for group in self.groups(documents):
            self._send(group, outcome, failed)
        # A copy's message is done when the document it shares was sent, and comes back with
        # the message that carried the document otherwise (the claims make the retry harmless).
        for kept, copy in copies:
            if kept in failed:
                failed.add(copy)
        ids = [str(record.get("messageId", "")) for record in records]
        outcome.failed_messages = [m for m in dict.fromkeys(ids) if m in failed]
        return outcome

    def _sources(self, record: Mapping[str, Any]) -> list[Source]:
        message_id = str(record.get("messageId", ""))
        try:
            receive_count = int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError):
            receive_count = 1
        try:
            body = json.loads(record.get("body", ""))
        except (TypeError, json.JSONDecodeError) as error:
            raise jobs.MessageError(f"message body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise jobs.MessageError("message body must be a JSON object")
        if body.get("Event") == "s3:TestEvent":
            logger.info("ignored the s3:TestEvent", extra={"message_id": message_id})
            return []
        if "Records" in body:
            return s3_sources(
                body["Records"],
                message_id=message_id,
                receive_count=receive_count,
                data_bucket=self.config.data_bucket,
                input_prefix=self.config.input_prefix,
                now=self.now,
            )
        if "action" in body:
            job_ids, single = jobs.parse_dispatch_message(body)
            return self._redispatch_sources(job_ids, single, message_id, receive_count)
        raise jobs.MessageError(
            "message is neither an S3 event notification ('Records'), an s3:TestEvent nor a "
            f"re-dispatch message ('action'); its fields are {sorted(body)}"
        )

    def _redispatch_sources(
        self, job_ids: list[str], single: bool, message_id: str, receive_count: int
    ) -> list[Source]:
        sources = []
        unknown: list[str] = []
        direct: list[str] = []
        for job in job_ids:
            item = self.dynamodb.get_item(
                TableName=self.config.jobs_table, Key={jobs.JOB_ID: {"S": job}}, ConsistentRead=True
            ).get("Item")
            if item is None:
                unknown.append(job)
                continue
            record = jobs.from_item(item)
            in_flight = (
                record.get(jobs.STATUS) == jobs.STATUS_QUEUED
                and jobs.STARTED_AT in record
                and not jobs.is_overdue(record, self.now())
            )
            if record.get(jobs.STATUS) == jobs.STATUS_SUCCEEDED or in_flight:
                logger.info(
                    "skipped a re-dispatch: the job is done or in flight",
                    extra={"job_id": job, "status": record.get(jobs.STATUS)},
                )
                count(self.sink, DUPLICATES_SKIPPED)
                continue
            if jobs.SOURCE_BUCKET not in record or jobs.SOURCE_KEY not in record:
                unknown.append(job)
                continue
            if record[jobs.SOURCE_BUCKET] != self.config.data_bucket or not str(
                record[jobs.SOURCE_KEY]
            ).startswith(self.config.input_prefix):
                # A direct InvokeEndpointAsync request (its input under requests/): this
                # function may read only the input prefix, so it cannot send it again.
                direct.append(job)
                continue
            attempt = int(record.get(jobs.ATTEMPT, 0))
            sources.append(
                Source(
                    message_id=message_id,
                    receive_count=receive_count,
                    bucket=record[jobs.SOURCE_BUCKET],
                    key=record[jobs.SOURCE_KEY],
                    version=record.get(jobs.SOURCE_VERSION),
                    etag=record.get(jobs.SOURCE_ETAG),
                    job_id=job,
                    submission=record.get(jobs.SUBMISSION, jobs.NO_SUBMISSION),
                    submitted_at=record.get(jobs.SUBMITTED_AT, jobs.iso(self.now())),
                    attempt=attempt + 1,
                    previous_attempt=attempt,
                    single=single,
                )
            )
        problems = []
        if unknown:
            problems.append(
                f"re-dispatch of unknown job(s) {', '.join(unknown)}: no dispatched document "
                "has these ids"
            )
        if direct:
            problems.append(
                f"re-dispatch of direct request(s) {', '.join(direct)}: they were sent straight "
                f"to the endpoint, not uploaded under {self.config.input_prefix}, and the "
                "dispatcher reads only that prefix; send them again with InvokeEndpointAsync"
            )
        if problems:
            raise jobs.MessageError("; ".join(problems))
        return sources

    # ---------------------------------------------------------------- reading and grouping

    def _read(self, source: Source) -> Document:
        request: dict[str, Any] = {"Bucket": source.bucket, "Key": source.key}
        if source.version:
            request["VersionId"] = source.version
        elif source.etag:
            request["IfMatch"] = f'"{source.etag}"'
        where = f"s3://{source.bucket}/{source.key}"
        limit = self.config.max_request_bytes
        try:
            response = self.s3.get_object(**request)
        except ClientError as error:
            code = error_code(error)
            if is_missing(error):
                count(self.sink, DOCUMENTS_GONE)
                raise UnreadableDocument(self._gone_reason(source, describe(error))) from None
            if code in REPLACED_CODES:
                raise UnreadableDocument(
                    f"input object {where} was uploaded again after the upload this job is "
                    f"for (its ETag no longer matches, {describe(error)}); the new upload is a "
                    "job of its own"
                ) from None
            if code in ARCHIVED_CODES:
                raise UnreadableDocument(
                    f"input object {where} cannot be read: {describe(error)} (restore it from "
                    "its archive storage class, then upload it again)"
                ) from None
            if is_access_denied(error):
                logger.error(
                    "access denied reading a document: check the function's role, the bucket "
                    "policy and the storage key's policy; the message will be retried",
                    extra={"key": source.key, "reason": describe(error)},
                )
            raise
        # Refused before it is read: the endpoint would refuse it as a whole, and reading it
        # could exhaust the function's memory.
        size = int(response.get("ContentLength") or 0)
        if size > limit:
            response["Body"].close()
            count(self.sink, DOCUMENTS_TOO_LARGE)
            raise UnreadableDocument(
                f"document {where} is {size:,} bytes, more than the endpoint's request-size "
                f"limit of {limit:,} bytes (data_path.max_request_bytes): split it into smaller "
                "documents"
            )
        raw = response["Body"].read()
        line = encode_line(request_line(source.job_id, source.key, raw))
        if len(line) > limit:
            count(self.sink, DOCUMENTS_TOO_LARGE)
            raise UnreadableDocument(
                f"document {where} becomes a request line of {len(line):,} bytes (its text "
                f"JSON-escaped), more than the endpoint's request-size limit of {limit:,} bytes "
                "(data_path.max_request_bytes): split it into smaller documents"
            )
        return Document(source, line)

    def _gone_reason(self, source: Source, error: str) -> str:
        """Why a document's object cannot be found, with what is known of its age."""
        version = f" (version {source.version})" if source.version else ""
        reason = (
            f"input object s3://{source.bucket}/{source.key}{version} no longer exists "
            f"({error}): it was deleted, or it expired under the bucket's lifecycle rule for "
            f"{self.config.input_prefix}"
        )
        try:
            uploaded = jobs.parse_iso(source.submitted_at)
        except ValueError:
            return f"{reason}; upload it again to summarize it"
        hours = max(0.0, (self.now() - uploaded).total_seconds() / 3_600)
        age = f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"
        return (
            f"{reason} (uploaded at {source.submitted_at}, {age} before this attempt: a late "
            "or redriven message?); upload it again to summarize it"
        )

    def groups(self, documents: list[Document]) -> list[list[Document]]:
        """Requests to send: same-attempt documents packed up to the document and byte limits."""
        config = self.config
        result: list[list[Document]] = []
        open_groups: dict[int, list[Document]] = {}
        sizes: dict[int, int] = {}
        for document in documents:
            size = len(document.line)
            if document.source.single or size >= config.large_document_bytes:
                result.append([document])
                continue
            attempt = document.source.attempt
            group = open_groups.get(attempt)
            if group is not None and (
                len(group) >= config.max_documents_per_request
                or sizes[attempt] + size > config.max_request_bytes
            ):
                result.append(group)
                group = None
            if group is None:
                group = open_groups[attempt] = []
                sizes[attempt] = 0
            group.append(document)
            sizes[attempt] += size
        result.extend(open_groups.values())
        return result

    # ---------------------------------------------------------------- records

    def _record(self, source: Source, inference: str, **extra: Any) -> dict[str, Any]:
        now = self.now()
        return {
            jobs.JOB_ID: source.job_id,
            jobs.STATUS: jobs.STATUS_QUEUED,
            jobs.ATTEMPT: source.attempt,
            jobs.SUBMISSION: source.submission,
            jobs.SOURCE_BUCKET: source.bucket,
            jobs.SOURCE_KEY: source.key,
            jobs.SOURCE_VERSION: source.version,
            jobs.SOURCE_ETAG: source.etag,
            jobs.INFERENCE_ID: inference,
            jobs.SUBMITTED_AT: source.submitted_at,
            jobs.UPDATED_AT: jobs.iso(now),
            jobs.MODEL_ID: self.config.model_id,
            jobs.MODEL_REVISION: self.config.model_revision,
            jobs.EXPIRES_AT: jobs.expires_at(now, self.config.job_ttl_days),
            **extra,
        }

    def _claim(self, source: Source, record: dict[str, Any]) -> bool:
        """Write the record if the job may be dispatched now; False if it is a duplicate.

        A new job may be written when absent, or when an earlier delivery claimed it at
        attempt 1 and never sent it. A re-dispatched job moves from its current attempt when
        failed, never sent, or overdue (sent, but its outcome can no longer arrive); a retry of
        this very claim may rewrite it too.
        """
        values: dict[str, Any] = {
            ":queued": {"S": jobs.STATUS_QUEUED},
            ":attempt": {"N": str(source.attempt)},
        }
        unsent = "#status = :queued AND attribute_not_exists(started_at)"
        if source.previous_attempt is None:
            condition = (
                f"attribute_not_exists(job_id) OR (#attempt = :attempt AND {unsent} "
                "AND attribute_not_exists(failure_reason))"
            )
        else:
            values[":previous"] = {"N": str(source.previous_attempt)}
            values[":failed"] = {"S": jobs.STATUS_FAILED}
            values[":now"] = {"S": jobs.iso(self.now())}
            overdue = f"#status = :queued AND {jobs.OVERDUE_AT} <= :now"
            condition = (
                f"(#attempt = :previous AND (#status = :failed OR ({unsent}) OR ({overdue}))) "
                f"OR (#attempt = :attempt AND {unsent})"
            )
        try:
            self.dynamodb.put_item(
                TableName=self.config.jobs_table,
                Item=jobs.to_item(record),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": jobs.STATUS, "#attempt": jobs.ATTEMPT},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            count(self.sink, DUPLICATES_SKIPPED)
            logger.info(
                "skipped a job already dispatched",
                extra={"job_id": source.job_id, "key": source.key, "attempt": source.attempt},
            )
            return False
        return True

    def _record_unreadable(self, source: Source, reason: str) -> bool:
        inference = jobs.inference_id([source.job_id], source.attempt)
        now = jobs.iso(self.now())
        record = self._record(
            source,
            inference,
            **{
                jobs.STATUS: jobs.STATUS_FAILED,
                jobs.FAILURE_REASON: reason,
                jobs.FINISHED_AT: now,
            },
        )
        if not self._claim(source, record):
            return False
        count(self.sink, DOCUMENTS_UNREADABLE)
        logger.warning(
            "recorded an unreadable document as failed",
            extra={"job_id": source.job_id, "key": source.key, "reason": reason},
        )
        return True

    # ---------------------------------------------------------------- sending

    def _send(self, group: list[Document], outcome: Outcome, failed: set[str]) -> None:
        attempt = group[0].source.attempt
        members = group
        inference = ""
        # A duplicate dropped from the group changes the group's inference id: claim again.
        for _ in range(len(group) + 1):
            inference = jobs.inference_id([d.source.job_id for d in members], attempt)
            kept = [d for d in members if self._claim(d.source, self._record(d.source, inference))]
            outcome.skipped.extend(d.source.job_id for d in members if d not in kept)
            if len(kept) == len(members):
                break
            members = kept
        if not members:
            return
        key = jobs.request_key(self.config.request_prefix, inference)
        location = jobs.s3_uri(self.config.data_bucket, key)
        try:
            self.s3.put_object(
                Bucket=self.config.data_bucket,
                Key=key,
                Body=b"".join(d.line for d in members),
                ContentType=jobs.JSONLINES_CONTENT_TYPE,
            )
            response = self.backoff.call(
                lambda: self.sagemaker.invoke_endpoint_async(
                    EndpointName=self.config.endpoint_name,
                    InputLocation=location,
                    ContentType=jobs.JSONLINES_CONTENT_TYPE,
                    InferenceId=inference,
                    InvocationTimeoutSeconds=self.config.invocation_timeout_seconds,
                    RequestTTLSeconds=self.config.request_ttl_seconds,
                ),
                on_retry=self._on_retry,
            )
        except (ClientError, *NETWORK_ERRORS) as error:
            self._note_denied(error)
            self._give_up_or_retry(members, inference, describe(error), failed)
            return
        now = self.now()
        started = jobs.iso(now)
        overdue_at = jobs.iso(
            now
            + _dt.timedelta(
                seconds=self.config.request_ttl_seconds + self.config.invocation_timeout_seconds
            )
            + NOTIFICATION_MARGIN
        )
        # Where SageMaker will write the error if the request fails (the endpoint config's
        # S3FailurePath): on the record from now on, whatever the error notification carries.
        failure_location = response.get("FailureLocation") or None
        for document in members:
            self._mark_started(
                document.source.job_id, inference, started, overdue_at, failure_location
            )
        count(self.sink, REQUESTS_SENT)
        count(self.sink, DOCUMENTS_DISPATCHED, len(members))
        self.sink.add_metric(name=DOCUMENTS_PER_REQUEST, unit="Count", value=len(members))
        outcome.requests.append(
            {
                "inference_id": inference,
                "input_location": location,
                "job_ids": [d.source.job_id for d in members],
                "output_location": response.get("OutputLocation"),
            }
        )
        logger.info(
            "sent a request",
            extra={"inference_id": inference, "documents": len(members), "attempt": attempt},
        )

    def _note_denied(self, error: BaseException) -> None:
        """Count an AccessDenied (a permission mistake someone must fix; the data path alarms)."""
        if is_access_denied(error):
            count(self.sink, ACCESS_DENIED)

    def _on_retry(self, error: BaseException) -> None:
        count(self.sink, INVOKE_RETRIES)
        logger.warning("retrying the invocation", extra={"reason": describe(error)})

    def _mark_started(
        self,
        job: str,
        inference: str,
        started: str,
        overdue_at: str,
        failure_location: str | None = None,
    ) -> None:
        expression = f"SET started_at = :now, updated_at = :now, {jobs.OVERDUE_AT} = :overdue"
        values = {
            ":now": {"S": started},
            ":overdue": {"S": overdue_at},
            ":inference": {"S": inference},
            ":queued": {"S": jobs.STATUS_QUEUED},
        }
        if failure_location:
            expression += f", {jobs.FAILURE_LOCATION} = :failure"
            values[":failure"] = {"S": failure_location}
        try:
            self.dynamodb.update_item(
                TableName=self.config.jobs_table,
                Key={jobs.JOB_ID: {"S": job}},
                UpdateExpression=expression,
                ConditionExpression=(
                    "inference_id = :inference AND #status = :queued "
                    "AND attribute_not_exists(started_at)"
                ),
                ExpressionAttributeNames={"#status": jobs.STATUS},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            # The outcome is already recorded (a very fast notification): nothing to mark.
            if not is_condition_failed(error):
                raise

    def _give_up_or_retry(
        self, members: list[Document], inference: str, reason: str, failed: set[str]
    ) -> None:
        """Report the messages for another try; on their last receive, record the jobs failed."""
        count(self.sink, INVOKE_FAILURES)
        last = max(d.source.receive_count for d in members) >= self.config.max_receive_count
        logger.error(
            "could not send a request",
            extra={"inference_id": inference, "reason": reason, "last_receive": last},
        )
        for document in members:
            failed.add(document.source.message_id)
            if not last:
                continue
            try:
                self.dynamodb.update_item(
                    TableName=self.config.jobs_table,
                    Key={jobs.JOB_ID: {"S": document.source.job_id}},
                    UpdateExpression=(
                        "SET #status = :failed, failure_reason = :reason, finished_at = :now, "
                        "updated_at = :now"
                    ),
                    ConditionExpression="inference_id = :inference AND #status = :queued",
                    ExpressionAttributeNames={"#status": jobs.STATUS},
                    ExpressionAttributeValues={
                        ":failed": {"S": jobs.STATUS_FAILED},
                        ":queued": {"S": jobs.STATUS_QUEUED},
                        ":reason": {
                            "S": f"could not send the request to the endpoint after "
                            f"{document.source.receive_count} tries: {reason}"
                        },
                        ":now": {"S": jobs.iso(self.now())},
                        ":inference": {"S": inference},
                    },
                )
            except ClientError as error:
                if not is_condition_failed(error):
                    raise


def _unique_jobs(sources: Any) -> tuple[list[Source], list[tuple[str, str]]]:
    """The first source of each job, and (message kept, message of a copy) for the others.

    SQS delivers at least once, so one S3 event can arrive twice in one batch: both copies
    would claim the same job and put the document twice in one request.
    """
    kept: dict[str, Source] = {}
    copies: list[tuple[str, str]] = []
    for source in sources:
        first = kept.setdefault(source.job_id, source)
        if first is not source:
            copies.append((first.message_id, source.message_id))
            logger.info(
                "skipped a second copy of a document in the same batch",
                extra={"job_id": source.job_id, "message_id": source.message_id},
            )
    return list(kept.values()), copies


# -------------------------------------------------------------------- Lambda entry point

_dispatcher: Dispatcher | None = None


def _build() -> Dispatcher:
    import boto3
    from botocore.config import Config

    config = DispatcherConfig.from_environment(os.environ)
    standard = Config(retries={"mode": "standard", "max_attempts": 5})
    single_try = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return Dispatcher(
        config,
        s3=boto3.client("s3", config=standard),
        # Our Backoff is the only retry loop for the endpoint (see retry.py).
        sagemaker=boto3.client("sagemaker-runtime", config=single_try),
        dynamodb=boto3.client("dynamodb", config=standard),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event source entry point: returns the partial batch response."""
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = _build()
    try:
        outcome = _dispatcher.process(list(event.get("Records", [])))
    except ClientError as error:
        # The whole batch comes back (a table or key refused a write): count a denial too.
        _dispatcher._note_denied(error)
        raise
    return {"batchItemFailures": [{"itemIdentifier": m} for m in outcome.failed_messages]}
