"""Load and faults: many documents at once, or a fault injected, and every document accounted for.

``burst`` uploads ``count`` documents under one submission (as the client would, in parallel),
waits until every document's job is terminal or nothing moves any more, and ``account`` then
counts, per document: succeeded, failed (with its reason), waiting in a dead-letter queue, or
lost; and the duplicates, documents with more than one row in the curated dataset. The counts of
the jobs table, ``results/`` and the dataset must agree.
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from constructs_lib.data_path.runtime import jobs
from rehearsal import roundtrip

UPLOAD_THREADS = 8


@dataclass
class Row:
    """One line of the load and fault table."""

    label: str
    documents: int
    succeeded: int = 0
    failed: int = 0
    in_dlq: int = 0
    duplicates: int = 0
    lost: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    dlq_reasons: Counter[str] = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)
    fired: int = 0
    submission: str = ""

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicates == 0 and not self.disagreements


def submission_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _upload(api: Any, bucket: str, prefix: str, count: int) -> dict[str, str]:
    """Upload ``count`` documents; job id -> key (job ids as the dispatcher makes them)."""
    s3 = api.client("s3")
    rng = random.Random(count)
    texts = [
        " ".join(rng.choice(roundtrip.SENTENCES) for _ in range(rng.randint(2, 6)))
        for _ in range(count)
    ]

    def put(index: int) -> tuple[str, str]:
        key = f"{prefix}doc-{index:06d}.txt"
        answer = s3.put_object(
            Bucket=bucket, Key=key, Body=texts[index].encode(), ContentType="text/plain"
        )
        version = answer.get("VersionId") or answer["ETag"].strip('"')
        return jobs.job_id(bucket, key, version), key

    with concurrent.futures.ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        return dict(pool.map(put, range(count)))


def _queue_depth(api: Any, url: str) -> int:
    attributes = api.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _submission_records(api: Any, table: str, submission: str) -> dict[str, dict[str, Any]]:
    dynamodb = api.client("dynamodb")
    found: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": jobs.BY_SUBMISSION_INDEX,
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": jobs.SUBMISSION},
        "ExpressionAttributeValues": {":s": {"S": submission}},
    }
    while True:
        page = dynamodb.query(**kwargs)
        for item in page["Items"]:
            found[item[jobs.JOB_ID]["S"]] = item
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _work_queues(api: Any, stack: str) -> list[str]:
    urls = api.client("sqs").list_queues(QueueNamePrefix=stack).get("QueueUrls", [])
    return [url for url in urls if "DeadLetter" not in url and "Dlq" not in url]


def burst(
    api: Any,
    stack: str,
    count: int,
    *,
    label: str,
    settle_s: float,
    deadline_s: float,
    say: Any = print,
) -> Row:
    """Upload ``count`` documents at once and account for every one of them."""
    outputs = roundtrip.outputs_of(api, stack)
    bucket, table = outputs["DataBucketName"], outputs["JobsTableName"]
    submission = submission_id()
    prefix = f"{outputs.get('InputPrefix', 'inputs/')}{submission}/"
    started = time.monotonic()
    uploaded = _upload(api, bucket, prefix, count)
    say(f"  {label}: uploaded {count} documents in {time.monotonic() - started:.0f} s")
    queues = _work_queues(api, stack)
    last_change, last_done = time.monotonic(), -1
    while True:
        records = _submission_records(api, table, submission)
        done = sum(1 for r in records.values() if r[jobs.STATUS]["S"] in jobs.TERMINAL_STATUSES)
        now = time.monotonic()
        if done != last_done:
            last_change, last_done = now, done
            say(f"  {label}: {done} of {count} terminal after {now - started:.0f} s")
        if done >= count:
            break
        idle = now - last_change > settle_s and all(_queue_depth(api, q) == 0 for q in queues)
        if idle or now - started > deadline_s:
            break
        time.sleep(2)
    row = account(api, stack, submission, uploaded, label=label)
    row.submission = submission
    row.seconds = time.monotonic() - started
    return row


def _dead_lettered(api: Any, stack: str) -> dict[str, str]:
    """Job ids held by the stack's dead-letter queues -> the queue's logical name and why the
    message is there (a peek: the messages are visible again right after, for a redrive)."""
    sqs = api.client("sqs")
    found: dict[str, str] = {}
    for url in sqs.list_queues(QueueNamePrefix=stack).get("QueueUrls", []):
        name = url.rsplit("/", 1)[1]
        if "DeadLetter" not in name and "Dlq" not in name:
            continue
        short = name.removeprefix(f"{stack}-").rsplit("-", 1)[0]
        handles: list[str] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                why = _dead_letter_reason(message)
                for job_id in _job_ids_of(api, message["Body"]):
                    found[job_id] = f"{short}: {why}"
        for handle in handles:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


def _dead_letter_reason(message: dict[str, Any]) -> str:
    """SNS gives an undeliverable message ErrorCode and ErrorMessage attributes
    (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html); a message SQS
    moved after its queue's maxReceiveCount carries no reason of its own."""
    attributes = message.get("MessageAttributes") or {}
    code = attributes.get("ErrorCode", {}).get("StringValue")
    text = attributes.get("ErrorMessage", {}).get("StringValue")
    if code or text:
        return ": ".join(part for part in (code, text) if part)
    return "received maxReceiveCount times without success (the queue's redrive policy)"


def _job_ids_of(api: Any, body: str) -> list[str]:
    """The documents a dead-lettered message is about: an S3 event names its objects, a
    notification its request (whose lines carry the job ids), a re-dispatch message its ids."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    if isinstance(message, dict) and "Message" in message and "TopicArn" in message:
        try:
            message = json.loads(message["Message"])
        except ValueError:
            return []
    if not isinstance(message, dict):
        return []
    ids: list[str] = []
    for record in message.get("Records", []):
        obj = record.get("s3", {}).get("object", {})
        bucket = record.get("s3", {}).get("bucket", {}).get("name", "")
        version = obj.get("versionId") or obj.get("eTag", "")
        if obj.get("key") and version:
            from urllib.parse import unquote_plus

            ids.append(jobs.job_id(bucket, unquote_plus(obj["key"]), version))
    location = message.get("requestParameters", {}).get("inputLocation")
    if location:
        bucket, key = jobs.parse_s3_uri(location)
        body_bytes = api.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        for line in body_bytes.decode().splitlines():
            if line.strip():
                ids.append(json.loads(line).get("id", ""))
    ids += [str(i) for i in message.get("job_ids", []) if isinstance(i, str)]
    return ids


def account(api: Any, stack: str, submission: str, uploaded: dict[str, str], *, label: str) -> Row:
    outputs = roundtrip.outputs_of(api, stack)
    bucket, table = outputs["DataBucketName"], outputs["JobsTableName"]
    row = Row(label=label, documents=len(uploaded))
    records = _submission_records(api, table, submission)
    dead = _dead_lettered(api, stack)
    curated: Counter[str] = Counter()
    for key in roundtrip._keys(api, bucket, "curated/summaries/"):
        for line in roundtrip._read(api, bucket, key).decode().splitlines():
            if line.strip():
                parsed = json.loads(line)
                if parsed.get("submission") == submission:
                    curated[parsed["job_id"]] += 1
    summarized_in_results: set[str] = set()
    outputs_read: dict[str, list[str]] = {}
    for job_id in uploaded:
        record = records.get(job_id)
        status = record[jobs.STATUS]["S"] if record else None
        if status == jobs.STATUS_SUCCEEDED:
            row.succeeded += 1
            location = record[jobs.OUTPUT_LOCATION]["S"]  # type: ignore[index]
            line = int(record.get(jobs.OUTPUT_LINE, {}).get("N", "1"))  # type: ignore[union-attr]
            if location not in outputs_read:
                key = location.split("/", 3)[3]
                outputs_read[location] = roundtrip._read(api, bucket, key).decode().splitlines()
            lines = outputs_read[location]
            if 1 <= line <= len(lines) and "summary_text" in json.loads(lines[line - 1]):
                summarized_in_results.add(job_id)
        elif status == jobs.STATUS_FAILED:
            row.failed += 1
            reason = record.get(jobs.FAILURE_REASON, {}).get("S", "no reason")  # type: ignore[union-attr]
            row.reasons[reason[:120]] += 1
        elif job_id in dead:
            row.in_dlq += 1
            row.dlq_reasons[dead[job_id]] += 1
        else:
            row.lost += 1
        if curated[job_id] > 1:
            row.duplicates += 1
    curated_ids = {job_id for job_id in curated if job_id in uploaded}
    succeeded_ids = {
        job_id
        for job_id in uploaded
        if records.get(job_id, {}).get(jobs.STATUS, {}).get("S") == jobs.STATUS_SUCCEEDED
    }
    if curated_ids != succeeded_ids:
        row.disagreements.append(
            f"{len(succeeded_ids)} succeeded in the table, {len(curated_ids)} in the dataset"
        )
    if summarized_in_results != succeeded_ids:
        row.disagreements.append(
            f"{len(succeeded_ids)} succeeded in the table, {len(summarized_in_results)} "
            "summaries found in results/"
        )
    extra = set(records) - set(uploaded)
    if extra:
        row.disagreements.append(f"{len(extra)} job records of documents never uploaded")
    return row


HEADER = ("fault", "documents", "succeeded", "failed (reason)", "in DLQ", "duplicates", "lost")


def table(rows: list[Row]) -> str:
    lines = [" | ".join(HEADER)]
    for row in rows:
        reasons = "; ".join(f"{n}x {r}" for r, n in row.reasons.most_common(2))
        lines.append(
            " | ".join(
                [
                    row.label,
                    str(row.documents),
                    str(row.succeeded),
                    f"{row.failed}" + (f" ({reasons})" if reasons else ""),
                    f"{row.in_dlq}"
                    + (
                        f" ({'; '.join(f'{n}x {r}' for r, n in row.dlq_reasons.most_common())})"
                        if row.dlq_reasons
                        else ""
                    ),
                    str(row.duplicates),
                    str(row.lost),
                ]
            )
            + (f"  !! {'; '.join(row.disagreements)}" if row.disagreements else "")
        )
    return "\n".join(lines)
