"""The recorder Lambda: turn SageMaker's notifications into job records and curated summaries.

For a request the dispatcher sent (its body ``requests/<inference id>.jsonl`` names the jobs):

* Completed: each output line records its job ``succeeded`` (summary location, tokens, chunks,
  rounds) or ``failed`` (the line's error), and the summaries are appended to the curated
  dataset ``curated/summaries/dt=<finished date>/<inference id>.jsonl``;
* Failed, several documents: each document is re-dispatched alone, so one bad document cannot
  fail its neighbours even when the handler fails the whole request;
* Failed, one document: the job is recorded ``failed`` with SageMaker's reason and location.

A request someone else sent (a direct ``InvokeEndpointAsync`` caller, e.g. the smoke test) is
recorded as a job whose id is its inference id and whose source is its input location. A
request at a dispatcher's location (``.../<inference id>.jsonl``) is never filed that way:

* its body gone (``requests/`` expired before a late or redriven notification): the jobs still
  waiting for this inference id are found in the ``by-status`` index and recorded from the
  output's line ids (a Completed request) or as SageMaker's failure says, so no job is left
  ``queued`` for good; when nothing waits any more the notification changes nothing;
* its job records gone while the body names the jobs (the body's ids make up the inference
  id): the records are re-created from the body, marked ``recreated``, then recorded;
* a body whose job ids neither have records nor make up the inference id is not this
  request's: the message goes back and on to the DLQ with that reason.

An AccessDenied (an IAM or key-policy mistake: the function may list the prefixes it reads, so
a missing object is a 404) is counted in the ``AccessDenied`` metric and retried.

Every write is conditional on the record still waiting for this very inference id, so duplicate,
late and out-of-order notifications change nothing: a record only moves forward in attempt (the
dispatcher moves it) and a terminal record of the same attempt is never overwritten.
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
from .environment import read_settings, setting
from .notifications import Notification, output_results, parse_notification, request_ids
from .observability import (
    ACCESS_DENIED,
    CURATED_ROWS,
    DIRECT_INVOCATIONS,
    JOBS_FAILED,
    JOBS_SUCCEEDED,
    RECORDS_RECREATED,
    REDISPATCHES,
    REQUEST_BODIES_GONE,
    STALE_NOTIFICATIONS,
    MetricSink,
    count,
    logger,
    metrics,
)
from .retry import describe, is_access_denied, is_condition_failed, is_missing

WAITING = "inference_id = :inference AND #status = :queued"
# How many attempts of a request the recorder tries when it checks that a body's job ids make
# up the inference id (each re-dispatch or retry is one attempt).
MAX_ATTEMPTS = 1_000
# Jobs waiting for a request were last written when the dispatcher claimed them, moments before
# SageMaker received it; the margin covers clock skew and the dispatcher's retries.
WAITING_MARGIN = _dt.timedelta(hours=1)
# Attribute of a job record re-created from its request body (its source document unknown).
RECREATED = "recreated"


class RetryLater(RuntimeError):
    """The notification arrived before the dispatcher finished recording its request."""


@dataclass(frozen=True)
class RecorderConfig:
    """The recorder's settings (its environment)."""

    jobs_table: str = setting("JOBS_TABLE")
    data_bucket: str = setting("DATA_BUCKET")
    curated_prefix: str = setting("CURATED_PREFIX", "prefix")
    dispatch_queue_url: str = setting("DISPATCH_QUEUE_URL")
    job_ttl_days: int = setting("JOB_TTL_DAYS", "integer", low=1, high=36_500)
    model_id: str = setting("MODEL_ID")
    model_revision: str = setting("MODEL_REVISION", default="main")
    # Where the dispatcher writes request bodies (the only ones whose job ids are trusted).
    request_prefix: str = setting("REQUEST_PREFIX", "prefix", default="requests/")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> RecorderConfig:
        return read_settings(cls, environ, "recorder")


@dataclass
class Request:
    """A request the dispatcher sent, as far as it can still be known."""

    # Job ids in request order (line order); empty when the body could not be used.
    ids: list[str]
    # The records of its jobs (by job id) that exist, re-created ones included.
    records: dict[str, dict[str, Any]]
    # How many documents it held (the waiting jobs when the body could not be used).
    size: int
    # Why the body could not be used, for failure reasons; None when it was.
    problem: str | None = None


@dataclass
class Recorded:
    """What one notification did (for logs and tests)."""

    inference_id: str = ""
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    redispatched: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    curated_key: str | None = None
    direct: bool = False
    ignored: bool = False
    recreated: list[str] = field(default_factory=list)


class Recorder:
    """The recorder's logic with its AWS clients injected; ``handler`` builds one from env."""

    def __init__(
        self,
        config: RecorderConfig,
        *,
        s3: Any,
        dynamodb: Any,
        sqs: Any,
        sink: MetricSink | None = None,
        now: Callable[[], _dt.datetime] | None = None,
    ) -> None:
        self.config = config
        self.s3 = s3
        self.dynamodb = dynamodb
        self.sqs = sqs
        self.sink: MetricSink = sink if sink is not None else metrics
        self.now = now or (lambda: _dt.datetime.now(_dt.UTC))

    def record(self, body: str) -> Recorded:
        """Record the outcome in one SQS message body; raises to have the message retried."""
        try:
            return self._record(body)
        except ClientError as error:
            if is_access_denied(error):
                count(self.sink, ACCESS_DENIED)
                logger.error(
                    "access denied: check the recorder's role, the bucket policy and the key "
                    "policies; the notification will be retried",
                    extra={"reason": describe(error)},
                )
            raise

    def _record(self, body: str) -> Recorded:
        notification = parse_notification(body)
        if notification is None:
            logger.info("ignored a TestNotification")
            return Recorded(ignored=True)
        result = Recorded(inference_id=notification.inference_id)
        request = self._request(notification, result)
        if request is None:
            self._record_direct(notification, result)
        elif not request.records:
            logger.warning(
                "no job waits for this outcome any more: it changes nothing",
                extra={"inference_id": notification.inference_id, "reason": request.problem},
            )
        elif notification.completed:
            self._record_completed(notification, request, result)
        elif request.size > 1:
            self._redispatch(notification, request.records, result)
        else:
            self._record_failed(notification, request.records, result)
        count(self.sink, JOBS_SUCCEEDED, len(result.succeeded))
        count(self.sink, JOBS_FAILED, len(result.failed))
        count(self.sink, REDISPATCHES, len(result.redispatched))
        count(self.sink, STALE_NOTIFICATIONS, len(result.stale))
        count(self.sink, RECORDS_RECREATED, len(result.recreated))
        logger.info(
            "recorded a notification",
            extra={
                "inference_id": notification.inference_id,
                "completed": notification.completed,
                "succeeded": len(result.succeeded),
                "failed": len(result.failed),
                "redispatched": len(result.redispatched),
                "stale": len(result.stale),
                "recreated": len(result.recreated),
                "direct": result.direct,
            },
        )
        return result

    # ---------------------------------------------------------------- finding the jobs

    def _request_location(self, notification: Notification) -> tuple[str, str] | None:
        """Bucket and key of the body, if the request is at the dispatcher's location.

        Only the dispatcher may write ``<request prefix><inference id>.jsonl``; clients write
        under ``<request prefix>direct/``. A body anywhere else is a direct request, whatever it
        names, so a client cannot have its summaries filed under someone else's jobs.
        """
        location = notification.input_location
        if not location or not jobs.JOB_ID_PATTERN.match(notification.inference_id):
            return None
        try:
            bucket, key = jobs.parse_s3_uri(location)
        except ValueError:
            return None
        expected = jobs.request_key(self.config.request_prefix, notification.inference_id)
        if bucket != self.config.data_bucket or key != expected:
            return None
        return bucket, key

    def _request(self, notification: Notification, result: Recorded) -> Request | None:
        """The dispatcher's request this outcome is for; None for a direct caller's."""
        location = self._request_location(notification)
        if location is None:
            return None
        bucket, key = location
        where = jobs.s3_uri(bucket, key)
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if not is_missing(error):
                raise
            count(self.sink, REQUEST_BODIES_GONE)
            problem: str | None = (
                f"its request body {where} no longer exists ({describe(error)}: the bucket's "
                "lifecycle rule expires requests/)"
            )
            logger.warning("the request body is gone", extra={"location": where})
            ids = None
            gone = True
        else:
            ids = request_ids(body)
            problem = None if ids else f"its request body {where} names no job ids"
            gone = False
        if ids:
            records = self._records(ids)
            missing = [job for job in dict.fromkeys(ids) if job not in records]
            if missing:
                attempt = self._attempt_of(ids, notification.inference_id)
                if attempt is None and not records:
                    raise jobs.MessageError(
                        f"request body {where} names job ids that have no records and do not "
                        f"make up inference id {notification.inference_id}: it is not the "
                        "body of this request (replaced?), and a body that names job ids is "
                        "never recorded as a direct request"
                    )
                if attempt is not None:
                    records.update(self._recreate(missing, attempt, notification, where, result))
            return Request(ids, records, len(ids))
        waiting = self._waiting(notification)
        if waiting or gone:
            return Request([], waiting, len(waiting), problem)
        # Not a body of ours and no job waits for it: a direct caller's request.
        return None

    def _attempt_of(self, ids: list[str], inference: str) -> int | None:
        """The attempt at which these job ids make up ``inference``, if any does."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if jobs.inference_id(ids, attempt) == inference:
                return attempt
        return None

    def _recreate(
        self,
        missing: list[str],
        attempt: int,
        notification: Notification,
        where: str,
        result: Recorded,
    ) -> dict[str, dict[str, Any]]:
        """Write the missing records of a request, waiting for it, from its body's job ids."""
        now = self.now()
        started = notification.received_time or jobs.iso(jobs.parse_iso(notification.event_time))
        found: dict[str, dict[str, Any]] = {}
        for job in missing:
            record = {
                jobs.JOB_ID: job,
                jobs.STATUS: jobs.STATUS_QUEUED,
                jobs.ATTEMPT: attempt,
                jobs.INFERENCE_ID: notification.inference_id,
                jobs.STARTED_AT: started,
                jobs.UPDATED_AT: jobs.iso(now),
                jobs.MODEL_ID: self.config.model_id,
                jobs.MODEL_REVISION: self.config.model_revision,
                jobs.EXPIRES_AT: jobs.expires_at(now, self.config.job_ttl_days),
                RECREATED: (
                    f"the job record was missing when the outcome of request "
                    f"{notification.inference_id} arrived; re-created from its request body "
                    f"{where} (the source document is unknown)"
                ),
            }
            if not self._put_new(record):
                current = self._get(job)  # written meanwhile: use what is there
                if current:
                    found[job] = current
                continue
            found[job] = record
            result.recreated.append(job)
        if result.recreated:
            logger.warning(
                "re-created missing job records from the request body",
                extra={"inference_id": notification.inference_id, "jobs": result.recreated},
            )
        return found

    def _waiting(self, notification: Notification) -> dict[str, dict[str, Any]]:
        """The jobs still waiting for this inference id (``by-status`` index, ``queued``)."""
        condition = "#status = :queued"
        values: dict[str, Any] = {
            ":queued": {"S": jobs.STATUS_QUEUED},
            ":inference": {"S": notification.inference_id},
        }
        if notification.received_time:
            since = jobs.parse_iso(notification.received_time) - WAITING_MARGIN
            condition += " AND updated_at >= :since"
            values[":since"] = {"S": jobs.iso(since)}
        arguments: dict[str, Any] = {
            "TableName": self.config.jobs_table,
            "IndexName": jobs.BY_STATUS_INDEX,
            "KeyConditionExpression": condition,
            "FilterExpression": "inference_id = :inference",
            "ExpressionAttributeNames": {"#status": jobs.STATUS},
            "ExpressionAttributeValues": values,
        }
        found: dict[str, dict[str, Any]] = {}
        while True:
            response = self.dynamodb.query(**arguments)
            for item in response.get("Items", []):
                record = jobs.from_item(item)
                found[record[jobs.JOB_ID]] = record
            if "LastEvaluatedKey" not in response:
                return found
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _records(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 100):
            keys = [{jobs.JOB_ID: {"S": job}} for job in unique[start : start + 100]]
            request: dict[str, Any] = {
                self.config.jobs_table: {"Keys": keys, "ConsistentRead": True}
            }
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.config.jobs_table, []):
                    record = jobs.from_item(item)
                    found[record[jobs.JOB_ID]] = record
                request = response.get("UnprocessedKeys") or {}
        return found

    def _get(self, job: str) -> dict[str, Any]:
        item = self.dynamodb.get_item(
            TableName=self.config.jobs_table, Key={jobs.JOB_ID: {"S": job}}, ConsistentRead=True
        ).get("Item")
        return jobs.from_item(item) if item else {}

    # ---------------------------------------------------------------- conditional updates

    def _put_new(self, record: Mapping[str, Any]) -> bool:
        """Write ``record`` unless its job already has one; False when it had (nothing written)."""
        try:
            self.dynamodb.put_item(
                TableName=self.config.jobs_table,
                Item=jobs.to_item(record),
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            return False
        return True

    def _update(
        self, job: str, inference: str, sets: Mapping[str, Any], removes: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        """Apply ``sets`` if the job still waits for ``inference``; the new record, or None."""
        names = {"#status": jobs.STATUS}
        values: dict[str, Any] = {
            ":inference": {"S": inference},
            ":queued": {"S": jobs.STATUS_QUEUED},
        }
        assignments = []
        for index, (name, value) in enumerate(sets.items()):
            names[f"#a{index}"] = name
            values[f":v{index}"] = next(iter(jobs.to_item({"v": value}).values()))
            assignments.append(f"#a{index} = :v{index}")
        expression = "SET " + ", ".join(assignments)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        try:
            response = self.dynamodb.update_item(
                TableName=self.config.jobs_table,
                Key={jobs.JOB_ID: {"S": job}},
                UpdateExpression=expression,
                ConditionExpression=WAITING,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            return None
        return jobs.from_item(response["Attributes"])

    def _common(self, notification: Notification) -> dict[str, Any]:
        now = self.now()
        return {
            jobs.FINISHED_AT: jobs.iso(jobs.parse_iso(notification.event_time)),
            jobs.UPDATED_AT: jobs.iso(now),
            jobs.EXPIRES_AT: jobs.expires_at(now, self.config.job_ttl_days),
        }

    # ---------------------------------------------------------------- outcomes

    def _record_completed(
        self, notification: Notification, request: Request, result: Recorded
    ) -> None:
        output = notification.output_location or ""
        bucket, key = jobs.parse_s3_uri(output)
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as gone:
            if not is_missing(gone):
                raise
            self._fail_all(
                notification,
                request.records,
                f"the endpoint's output {output} no longer exists ({describe(gone)}: the "
                "bucket's lifecycle rule expires results/); the request finished at "
                f"{notification.event_time}",
                result,
            )
            return
        lines = output_results(body)
        ids = request.ids
        records = request.records
        by_id: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, line in enumerate(lines):
            # Lines carry their job id; a handler without ids answers in request order.
            job = line.get("id") if isinstance(line.get("id"), str) else None
            if job is None and index < len(ids):
                job = ids[index]
            if job is not None:
                by_id.setdefault(job, (index + 1, line))
        no_line = "the endpoint's response has no line for this document"
        if request.problem:
            no_line = (
                f"the endpoint's response has no line with this document's id, and "
                f"{request.problem}, so its lines cannot be matched by position"
            )
        rows = []
        for job in dict.fromkeys(ids or list(records)):
            if job not in records:
                result.stale.append(job)
                continue
            number, line = by_id.get(job, (0, {"error": no_line}))
            sets: dict[str, Any] = {**self._common(notification), jobs.OUTPUT_LOCATION: output}
            if number:
                sets[jobs.OUTPUT_LINE] = number
            error = line.get("error")
            summary = line.get("summary_text")
            if error is None and not isinstance(summary, str):
                error = "the endpoint's response line has neither 'summary_text' nor 'error'"
            if error is not None:
                sets.update(
                    {
                        jobs.STATUS: jobs.STATUS_FAILED,
                        jobs.FAILURE_REASON: str(error),
                        jobs.FAILURE_LOCATION: f"{output}#line={number}" if number else output,
                    }
                )
            else:
                sets.update(
                    {
                        jobs.STATUS: jobs.STATUS_SUCCEEDED,
                        jobs.MODEL_ID: self.config.model_id,
                        jobs.MODEL_REVISION: self.config.model_revision,
                        **{
                            name: int(line[name])
                            for name in (jobs.INPUT_TOKENS, jobs.CHUNKS, jobs.ROUNDS)
                            if isinstance(line.get(name), int)
                        },
                    }
                )
            removes = ("failure_reason", "failure_location") if error is None else ()
            updated = self._update(job, notification.inference_id, sets, removes)
            if updated is None:
                current = self._get(job)
                same = current.get(jobs.INFERENCE_ID) == notification.inference_id
                if same and current.get(jobs.STATUS) == sets[jobs.STATUS] and error is None:
                    # A duplicate: rewrite the same curated rows (the write is idempotent).
                    rows.append(self._row(current, summary))
                result.stale.append(job)
                continue
            if error is None:
                result.succeeded.append(job)
                rows.append(self._row(updated, summary))
            else:
                result.failed.append(job)
        self._write_curated(notification, rows, result)

    def _fail_all(
        self,
        notification: Notification,
        records: dict[str, dict[str, Any]],
        reason: str,
        result: Recorded,
    ) -> None:
        for job in records:
            sets = {
                **self._common(notification),
                jobs.STATUS: jobs.STATUS_FAILED,
                jobs.FAILURE_REASON: reason,
            }
            if self._update(job, notification.inference_id, sets) is None:
                result.stale.append(job)
            else:
                result.failed.append(job)

    def _row(self, record: Mapping[str, Any], summary: Any) -> dict[str, Any]:
        return {
            "job_id": record.get(jobs.JOB_ID),
            "submission": record.get(jobs.SUBMISSION),
            "source_bucket": record.get(jobs.SOURCE_BUCKET),
            "source_key": record.get(jobs.SOURCE_KEY),
            "summary": summary,
            "input_tokens": record.get(jobs.INPUT_TOKENS),
            "chunks": record.get(jobs.CHUNKS),
            "rounds": record.get(jobs.ROUNDS),
            "model_id": record.get(jobs.MODEL_ID),
            "model_revision": record.get(jobs.MODEL_REVISION),
            "submitted_at": record.get(jobs.SUBMITTED_AT),
            "finished_at": record.get(jobs.FINISHED_AT),
        }

    def _write_curated(
        self, notification: Notification, rows: list[dict[str, Any]], result: Recorded
    ) -> None:
        if not rows:
            return
        day = jobs.parse_iso(notification.event_time).date().isoformat()
        key = f"{self.config.curated_prefix}dt={day}/{notification.inference_id}.jsonl"
        body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        self.s3.put_object(
            Bucket=self.config.data_bucket,
            Key=key,
            Body=body.encode("utf-8"),
            ContentType=jobs.JSONLINES_CONTENT_TYPE,
        )
        result.curated_key = key
        count(self.sink, CURATED_ROWS, len(rows))

    def _failure_sets(self, notification: Notification) -> dict[str, Any]:
        sets = {
            jobs.FAILURE_REASON: notification.failure_reason or "the endpoint gave no reason",
        }
        if notification.failure_location:
            sets[jobs.FAILURE_LOCATION] = notification.failure_location
        return sets

    def _record_failed(
        self,
        notification: Notification,
        records: dict[str, dict[str, Any]],
        result: Recorded,
        suffix: str = "",
    ) -> None:
        for job in records:
            sets = {
                **self._common(notification),
                **self._failure_sets(notification),
                jobs.STATUS: jobs.STATUS_FAILED,
            }
            if suffix:
                sets[jobs.FAILURE_REASON] += suffix
            if self._update(job, notification.inference_id, sets) is None:
                result.stale.append(job)
            else:
                result.failed.append(job)

    def _redispatch(
        self, notification: Notification, records: dict[str, dict[str, Any]], result: Recorded
    ) -> None:
        """Send each document of a failed group again, alone; the record stays ``queued``.

        The record loses ``started_at`` (so the dispatcher may claim it again) and keeps the
        reason, which marks "re-dispatch pending": a repeat of this notification re-sends the
        message (the dispatcher ignores the extra one) instead of leaving the job stranded.
        """
        pending = []
        reason = (
            f"{notification.failure_reason or 'the request failed'} (in a request of "
            f"{len(records)} documents; re-dispatched alone)"
        )
        unknown_source = {
            job: record
            for job, record in records.items()
            if jobs.SOURCE_KEY not in record or jobs.SOURCE_BUCKET not in record
        }
        if unknown_source:
            # Re-created records: the dispatcher could not find their documents to send again.
            self._record_failed(
                notification,
                unknown_source,
                result,
                suffix=(
                    f" (in a request of {len(records)} documents; not re-dispatched: the job "
                    "record was re-created without its source document)"
                ),
            )
        now = self.now()
        for job, record in records.items():
            if job in unknown_source:
                continue
            if (
                record.get(jobs.INFERENCE_ID) != notification.inference_id
                or record.get(jobs.STATUS) != jobs.STATUS_QUEUED
            ):
                result.stale.append(job)
                continue
            if jobs.STARTED_AT not in record:
                if jobs.FAILURE_REASON in record:
                    pending.append(job)
                    continue
                raise RetryLater(
                    f"job {job} of request {notification.inference_id} is not marked sent yet"
                )
            sets = {
                jobs.FAILURE_REASON: reason,
                jobs.UPDATED_AT: jobs.iso(now),
            }
            if notification.failure_location:
                sets[jobs.FAILURE_LOCATION] = notification.failure_location
            if self._update(job, notification.inference_id, sets, ("started_at",)) is None:
                result.stale.append(job)
            else:
                pending.append(job)
        for message in jobs.dispatch_messages(pending, single=True):
            self.sqs.send_message(QueueUrl=self.config.dispatch_queue_url, MessageBody=message)
        result.redispatched.extend(pending)

    def _record_direct(self, notification: Notification, result: Recorded) -> None:
        """A request the dispatcher did not send: one job, keyed by its inference id."""
        result.direct = True
        count(self.sink, DIRECT_INVOCATIONS)
        record: dict[str, Any] = {
            jobs.JOB_ID: notification.inference_id,
            jobs.INFERENCE_ID: notification.inference_id,
            jobs.ATTEMPT: 1,
            jobs.MODEL_ID: self.config.model_id,
            jobs.MODEL_REVISION: self.config.model_revision,
            **self._common(notification),
        }
        if notification.input_location:
            record["source"] = notification.input_location
            try:
                bucket, key = jobs.parse_s3_uri(notification.input_location)
                record[jobs.SOURCE_BUCKET], record[jobs.SOURCE_KEY] = bucket, key
            except ValueError:
                pass
        summaries: list[str] = []
        if notification.completed:
            record[jobs.STATUS] = jobs.STATUS_SUCCEEDED
            record[jobs.OUTPUT_LOCATION] = notification.output_location
            summaries = self._direct_summaries(notification, record)
        else:
            record[jobs.STATUS] = jobs.STATUS_FAILED
            record.update(self._failure_sets(notification))
        if not self._put_new(record):
            result.stale.append(notification.inference_id)
            return
        (result.succeeded if notification.completed else result.failed).append(
            notification.inference_id
        )
        self._write_curated(notification, [self._row(record, s) for s in summaries], result)

    def _direct_summaries(self, notification: Notification, record: dict[str, Any]) -> list[str]:
        """Summaries and token counts of a direct request's output, when it has our shape."""
        bucket, key = jobs.parse_s3_uri(notification.output_location or "")
        try:
            results = output_results(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as error:
            logger.warning("could not read a direct output", extra={"reason": describe(error)})
            return []
        summaries = [r["summary_text"] for r in results if isinstance(r.get("summary_text"), str)]
        for name in (jobs.INPUT_TOKENS, jobs.CHUNKS):
            values = [r[name] for r in results if isinstance(r.get(name), int)]
            if values:
                record[name] = sum(values)
        rounds = [r[jobs.ROUNDS] for r in results if isinstance(r.get(jobs.ROUNDS), int)]
        if rounds:
            record[jobs.ROUNDS] = max(rounds)
        return summaries


# -------------------------------------------------------------------- Lambda entry point

_recorder: Recorder | None = None


def _build() -> Recorder:
    import boto3
    from botocore.config import Config

    standard = Config(retries={"mode": "standard", "max_attempts": 5})
    return Recorder(
        RecorderConfig.from_environment(os.environ),
        s3=boto3.client("s3", config=standard),
        dynamodb=boto3.client("dynamodb", config=standard),
        sqs=boto3.client("sqs", config=standard),
    )


def _record_one(record: Any) -> None:
    global _recorder
    if _recorder is None:
        _recorder = _build()
    _recorder.record(record.body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event source entry point: each notification on its own; failures are reported back
    (partial batch response) so that only they are retried and, in the end, dead-lettered."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=_record_one,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
