"""Documents to dispatch, from S3 event notifications (re-dispatch messages: see dispatcher)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from . import jobs
from .observability import logger


@dataclass
class Source:
    """One document to dispatch, and the message it came in."""

    message_id: str
    receive_count: int
    bucket: str
    key: str
    version: str | None
    etag: str | None
    job_id: str
    submission: str
    submitted_at: str
    attempt: int
    # The attempt the job record is at now; None when the job is new (an S3 event).
    previous_attempt: int | None = None
    single: bool = False


def s3_sources(
    records: Any,
    *,
    message_id: str,
    receive_count: int,
    data_bucket: str,
    input_prefix: str,
    now: Callable[[], _dt.datetime],
) -> list[Source]:
    """The documents of an S3 event notification's ``Records``; raises MessageError naming the
    first malformed field. Events other than ObjectCreated, and keys outside the input prefix
    (or folder markers), are skipped: they are not documents."""
    if not isinstance(records, list):
        raise jobs.MessageError("'Records' of an S3 event must be an array")
    sources = []
    for index, event in enumerate(records):
        where = f"Records[{index}]"
        if not isinstance(event, dict):
            raise jobs.MessageError(f"{where} must be an object")
        name = str(event.get("eventName", ""))
        if not name.startswith("ObjectCreated:"):
            logger.info("ignored an S3 event", extra={"event_name": name})
            continue
        s3 = event.get("s3")
        bucket = s3.get("bucket", {}).get("name") if isinstance(s3, dict) else None
        obj = s3.get("object") if isinstance(s3, dict) else None
        if not isinstance(bucket, str) or not bucket:
            raise jobs.MessageError(f"{where}.s3.bucket.name is missing")
        if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
            raise jobs.MessageError(f"{where}.s3.object.key is missing")
        if bucket != data_bucket:
            raise jobs.MessageError(
                f"{where} is about bucket {bucket!r}, not the data bucket {data_bucket!r}"
            )
        key = unquote_plus(obj["key"])
        version = obj.get("versionId") or None
        etag = obj.get("eTag") or None
        if version is None and etag is None:
            raise jobs.MessageError(f"{where}.s3.object has neither versionId nor eTag")
        if not key.startswith(input_prefix) or key.endswith("/"):
            logger.warning("ignored an object outside the input prefix", extra={"key": key})
            continue
        event_time = str(event.get("eventTime", ""))
        try:
            submitted_at = jobs.iso(jobs.parse_iso(event_time))
        except ValueError:
            submitted_at = jobs.iso(now())
        sources.append(
            Source(
                message_id=message_id,
                receive_count=receive_count,
                bucket=bucket,
                key=key,
                version=version,
                etag=str(etag).strip('"') if etag else None,
                job_id=jobs.job_id(bucket, key, str(version or etag)),
                submission=jobs.submission_of(key, input_prefix),
                submitted_at=submitted_at,
                attempt=1,
            )
        )
    return sources
