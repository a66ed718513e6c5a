"""What the dispatcher, the recorder and the client share: ids, attributes, statuses, messages.

Standard library only: the client imports this module without the CDK and without Powertools.

A job is one document (an S3 object version) through the endpoint. Its id is derived from the
object, so a redelivered S3 event maps to the same job; an inference id is derived from the job
ids of one request and the attempt, so a redelivered batch maps to the same request.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

STATUS_QUEUED = "queued"
STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"
STATUSES = (STATUS_QUEUED, STATUS_SUCCEEDED, STATUS_FAILED)
TERMINAL_STATUSES = frozenset({STATUS_SUCCEEDED, STATUS_FAILED})

# Attribute names of the jobs table (key: JOB_ID).
JOB_ID = "job_id"
STATUS = "status"
ATTEMPT = "attempt"
SUBMISSION = "submission"
SOURCE_BUCKET = "source_bucket"
SOURCE_KEY = "source_key"
SOURCE_VERSION = "source_version"
# The object's ETag, kept so that a re-dispatch reads the very bytes that were uploaded.
SOURCE_ETAG = "source_etag"
INFERENCE_ID = "inference_id"
SUBMITTED_AT = "submitted_at"
STARTED_AT = "started_at"
FINISHED_AT = "finished_at"
UPDATED_AT = "updated_at"
OUTPUT_LOCATION = "output_location"
# 1-based line of this job's result in the output at OUTPUT_LOCATION (grouped requests).
OUTPUT_LINE = "output_line"
FAILURE_LOCATION = "failure_location"
# When SageMaker can no longer answer the request (sent + RequestTTLSeconds +
# InvocationTimeoutSeconds + a margin for the notification): a job still ``queued`` after it
# lost its notification, and ``retry`` may send it again.
OVERDUE_AT = "overdue_at"
FAILURE_REASON = "failure_reason"
INPUT_TOKENS = "input_tokens"
CHUNKS = "chunks"
ROUNDS = "rounds"
MODEL_ID = "model_id"
MODEL_REVISION = "model_revision"
EXPIRES_AT = "expires_at"
NUMBER_ATTRIBUTES = frozenset({ATTEMPT, OUTPUT_LINE, INPUT_TOKENS, CHUNKS, ROUNDS, EXPIRES_AT})

BY_STATUS_INDEX = "by-status"
BY_SUBMISSION_INDEX = "by-submission"

# The submission of an object uploaded directly under the input prefix.
NO_SUBMISSION = "-"
SUBMISSION_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")

JSONLINES_CONTENT_TYPE = "application/jsonlines"
ACTION_DISPATCH = "dispatch"
# Re-dispatch messages stay far below SQS's 256 KiB limit with this many ids each.
MAX_JOB_IDS_PER_MESSAGE = 500


class MessageError(ValueError):
    """A queue message that no retry can fix; its text says what is wrong with it."""


def job_id(bucket: str, key: str, version: str) -> str:
    """The job id of one object version: ``version`` is its versionId, else its ETag (unquoted)."""
    digest = hashlib.sha256(f"{bucket}/{key}#{version.strip(chr(34))}".encode())
    return digest.hexdigest()[:32]


def inference_id(job_ids: Iterable[str], attempt: int) -> str:
    """The InferenceId of one request: the same documents at the same attempt, the same id."""
    digest = hashlib.sha256(f"{','.join(sorted(job_ids))}:{attempt}".encode())
    return digest.hexdigest()[:32]


def submission_of(key: str, input_prefix: str) -> str:
    """The first path segment after the input prefix, or ``-`` for an object directly under it."""
    relative = key.removeprefix(input_prefix)
    head, separator, _ = relative.partition("/")
    return head if separator and head else NO_SUBMISSION


def new_submission_id(now: _dt.datetime, token: str) -> str:
    """``20261201T183000Z-1a2b3c``: the UTC time of the submission and 6 hex characters."""
    if not re.fullmatch(r"[0-9a-f]{6}", token):
        raise ValueError(f"submission token must be 6 lower-case hex characters, got {token!r}")
    return f"{now.astimezone(_dt.UTC):%Y%m%dT%H%M%SZ}-{token}"


def iso(moment: _dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, the shape S3 and SageMaker events use."""
    utc = moment.astimezone(_dt.UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> _dt.datetime:
    """Parse an event time such as ``2026-12-01T18:30:00.123Z`` (a timezone is required)."""
    moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone")
    return moment.astimezone(_dt.UTC)


def expires_at(now: _dt.datetime, ttl_days: int) -> int:
    """Epoch seconds at which DynamoDB's TTL may delete the record."""
    return int(now.timestamp()) + ttl_days * 86_400


def is_overdue(record: Mapping[str, Any], now: _dt.datetime) -> bool:
    """A job sent to the endpoint whose outcome can no longer arrive (see ``OVERDUE_AT``)."""
    overdue_at = record.get(OVERDUE_AT)
    if record.get(STATUS) != STATUS_QUEUED or not isinstance(overdue_at, str):
        return False
    try:
        return parse_iso(overdue_at) <= now
    except ValueError:
        return False


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` (the only form our locations take) into bucket and key."""
    bucket, separator, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not separator or not key:
        raise ValueError(f"not an s3://bucket/key location: {uri!r}")
    return bucket, key


def request_key(request_prefix: str, inference: str) -> str:
    """Where the dispatcher writes the body of request ``inference``."""
    return f"{request_prefix}{inference}.jsonl"


def dispatch_messages(job_ids: Iterable[str], *, single: bool = True) -> list[str]:
    """Re-dispatch message bodies for ``job_ids``, split so that each stays small."""
    ids = list(dict.fromkeys(job_ids))
    return [
        json.dumps(
            {
                "action": ACTION_DISPATCH,
                "job_ids": ids[start : start + MAX_JOB_IDS_PER_MESSAGE],
                "single": single,
            }
        )
        for start in range(0, len(ids), MAX_JOB_IDS_PER_MESSAGE)
    ]


def parse_dispatch_message(body: Mapping[str, Any]) -> tuple[list[str], bool]:
    """Validate a re-dispatch message: ``{"action": "dispatch", "job_ids": [...], "single": b}``."""
    action = body.get("action")
    if action != ACTION_DISPATCH:
        raise MessageError(f"unknown action {action!r}: the only action is {ACTION_DISPATCH!r}")
    ids = body.get("job_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise MessageError(
            f"'job_ids' must be a non-empty array of job id strings, got {json.dumps(ids)}"
        )
    single = body.get("single", True)
    if not isinstance(single, bool):
        raise MessageError(f"'single' must be true or false, got {json.dumps(single)}")
    unknown = sorted(set(body) - {"action", "job_ids", "single"})
    if unknown:
        raise MessageError(
            f"unknown field(s) {', '.join(unknown)}: expected action, job_ids and single"
        )
    return list(dict.fromkeys(ids)), single


def to_item(record: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """A record as DynamoDB attribute values (only strings and numbers occur; None is left out)."""
    item: dict[str, dict[str, str]] = {}
    for name, value in record.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"attribute {name} must be a string or an integer, got {value!r}")
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    return item


def from_item(item: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """A DynamoDB item as a plain record: numbers become int."""
    record: dict[str, Any] = {}
    for name, value in item.items():
        if "N" in value:
            record[name] = int(value["N"])
        elif "S" in value:
            record[name] = value["S"]
    return record
