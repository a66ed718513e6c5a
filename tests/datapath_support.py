"""A mocked AWS world for the data path tests: bucket, jobs table, queues, stack outputs (moto).

Shared by tests/test_dispatcher.py, test_recorder.py, test_client.py and the end-to-end test in
tests/model (which runs in the model venv: nothing here imports the CDK). Events and
notifications are built in the shapes S3 and SageMaker document.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import boto3

from constructs_lib.data_path.runtime import jobs
from constructs_lib.data_path.runtime.dispatcher import Dispatcher, DispatcherConfig
from constructs_lib.data_path.runtime.recorder import Recorder, RecorderConfig
from constructs_lib.data_path.runtime.retry import Backoff

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "pegasus-data"
TABLE = "pegasus-jobs"
ENDPOINT = "pegasus-endpoint"
STACK = "PegasusSummarizer-test"
NOW = dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_METRICS_NAMESPACE": "PegasusSummarizer/DataPath",
    "POWERTOOLS_SERVICE_NAME": "data-path-test",
}


class Metrics:
    """Collects what the handlers emit, as Powertools' Metrics would."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def total(self, name: str) -> float:
        return sum(self.values.get(name, []))


@dataclass
class World:
    s3: Any
    sqs: Any
    dynamodb: Any
    sagemaker: Any
    dispatch_queue_url: str
    metrics: Metrics = field(default_factory=Metrics)
    sleeps: list[float] = field(default_factory=list)
    clock: list[dt.datetime] = field(default_factory=lambda: [NOW])

    def now(self) -> dt.datetime:
        return self.clock[0]

    def dispatcher_config(self, **overrides: Any) -> DispatcherConfig:
        settings: dict[str, Any] = {
            "endpoint_name": ENDPOINT,
            "data_bucket": BUCKET,
            "input_prefix": "inputs/",
            "request_prefix": "requests/",
            "jobs_table": TABLE,
            "max_documents_per_request": 32,
            "max_request_bytes": 4_000_000,
            "large_document_bytes": 500_000,
            "invocation_timeout_seconds": 900,
            "request_ttl_seconds": 21_600,
            "job_ttl_days": 90,
            "model_id": "google/pegasus-large",
            "model_revision": "main",
            "max_receive_count": 5,
        }
        settings.update(overrides)
        return DispatcherConfig(**settings)

    def dispatcher(self, sagemaker: Any = None, **overrides: Any) -> Dispatcher:
        return Dispatcher(
            self.dispatcher_config(**overrides),
            s3=self.s3,
            sagemaker=sagemaker or self.sagemaker,
            dynamodb=self.dynamodb,
            sink=self.metrics,
            now=self.now,
            backoff=Backoff(attempts=4, sleep=self.sleeps.append, jitter=lambda: 1.0),
        )

    def recorder(self) -> Recorder:
        config = RecorderConfig(
            jobs_table=TABLE,
            data_bucket=BUCKET,
            curated_prefix="curated/summaries/",
            dispatch_queue_url=self.dispatch_queue_url,
            job_ttl_days=90,
            model_id="google/pegasus-large",
            model_revision="main",
        )
        return Recorder(
            config,
            s3=self.s3,
            dynamodb=self.dynamodb,
            sqs=self.sqs,
            sink=self.metrics,
            now=self.now,
        )

    def upload(self, key: str, body: bytes | str) -> tuple[str, dict[str, Any]]:
        """Put an object; returns its job id and the S3 event notification body for it."""
        data = body.encode() if isinstance(body, str) else body
        response = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        etag = response["ETag"].strip('"')
        event = s3_event(key, etag=etag, size=len(data))
        return jobs.job_id(BUCKET, key, etag), event

    def job(self, job_id: str) -> dict[str, Any]:
        item = self.dynamodb.get_item(TableName=TABLE, Key={"job_id": {"S": job_id}}).get("Item")
        return jobs.from_item(item) if item else {}

    def text(self, key: str) -> str:
        return str(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode())

    def keys(self, prefix: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return sorted(item["Key"] for item in listed)

    def dispatch_messages(self) -> list[dict[str, Any]]:
        """Receive (and delete) what sits on the dispatch queue."""
        bodies = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.dispatch_queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not got:
                return bodies
            for message in got:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.dispatch_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def create_jobs_table(dynamodb: Any, name: str = TABLE) -> None:
    """The jobs table as the contract describes it: key job_id, GSIs by-status, by-submission."""
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name_, "AttributeType": "S"}
            for name_ in ("job_id", "status", "updated_at", "submission")
        ],
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": jobs.BY_STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "updated_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": jobs.BY_SUBMISSION_INDEX,
                "KeySchema": [
                    {"AttributeName": "submission", "KeyType": "HASH"},
                    {"AttributeName": "job_id", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )


@contextmanager
def mocked_world() -> Iterator[World]:
    """Everything the data path touches, in moto (call inside ``mock_aws``)."""
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    sagemaker = boto3.client("sagemaker-runtime", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    create_jobs_table(dynamodb)
    queue = sqs.create_queue(QueueName="dispatch")["QueueUrl"]
    yield World(s3=s3, sqs=sqs, dynamodb=dynamodb, sagemaker=sagemaker, dispatch_queue_url=queue)


def s3_event(
    key: str,
    *,
    etag: str | None = None,
    size: int = 100,
    version: str | None = None,
    bucket: str = BUCKET,
    event_name: str = "ObjectCreated:Put",
    event_time: str = "2026-12-01T18:29:00.000Z",
) -> dict[str, Any]:
    """An S3 event notification body as S3 sends it to SQS (the key URL-encoded)."""
    obj: dict[str, Any] = {"key": quote_plus(key), "size": size, "sequencer": "0055AED6DCD90281E5"}
    if etag is not None:
        obj["eTag"] = etag
    if version is not None:
        obj["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": event_time,
                "eventName": event_name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "inputs",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }


def sqs_record(body: Any, message_id: str, receive_count: int = 1) -> dict[str, Any]:
    """One record of an SQS event as Lambda's event source mapping delivers it."""
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dispatch",
        "awsRegion": REGION,
    }


def notification(
    inference_id: str,
    *,
    completed: bool = True,
    input_location: str | None = None,
    output_location: str | None = None,
    failure_reason: str = "ModelError: the model failed",
    failure_location: str | None = None,
    event_time: str = "2026-12-01T18:40:00.000Z",
) -> dict[str, Any]:
    """SageMaker's async inference notification (success or error) as documented."""
    body: dict[str, Any] = {
        "awsRegion": REGION,
        "eventTime": event_time,
        "receivedTime": "2026-12-01T18:31:00.000Z",
        "invocationStatus": "Completed" if completed else "Failed",
        "requestParameters": {
            "contentType": jobs.JSONLINES_CONTENT_TYPE,
            "endpointName": ENDPOINT,
            "inputLocation": input_location or f"s3://{BUCKET}/requests/{inference_id}.jsonl",
        },
        "inferenceId": inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if completed:
        body["responseParameters"] = {
            "contentType": jobs.JSONLINES_CONTENT_TYPE,
            "outputLocation": output_location or f"s3://{BUCKET}/results/{inference_id}.out",
        }
    else:
        body["failureReason"] = failure_reason
        if failure_location:
            # Where SageMaker's "Check prediction results" page puts the locations.
            body["responseParameters"] = {
                "contentType": "text/plain; charset=utf-8",
                "failureLocation": failure_location,
            }
    return body


def fake_summaries(line: dict[str, Any]) -> dict[str, Any]:
    """A stand-in for the model: a document containing FAIL gets a line error."""
    if "FAIL" in line["inputs"]:
        return {"id": line["id"], "error": "line 1: the article could not be summarized"}
    words = line["inputs"].split()
    return {
        "id": line["id"],
        "summary_text": f"Summary of {words[0]}",
        "input_tokens": len(words),
        "chunks": 1,
        "rounds": 1,
    }


def play_endpoint(
    world: World, requests: list[dict[str, Any]], answer: Any = fake_summaries
) -> None:
    """Do what the endpoint and SageMaker would for the dispatcher's requests, then record."""
    recorder = world.recorder()
    for request in requests:
        _, key = jobs.parse_s3_uri(request["input_location"])
        lines = [json.loads(line) for line in world.text(key).splitlines()]
        inference = request["inference_id"]
        output_key = f"results/{inference}.out"
        body = "".join(json.dumps(answer(line)) + "\n" for line in lines)
        world.s3.put_object(Bucket=BUCKET, Key=output_key, Body=body.encode())
        recorder.record(
            json.dumps(notification(inference, output_location=f"s3://{BUCKET}/{output_key}"))
        )


def stack_outputs(world: World) -> dict[str, str]:
    return {
        "EndpointName": ENDPOINT,
        "DataBucketName": BUCKET,
        "InputPrefix": "inputs/",
        "RequestPrefix": "requests/",
        "OutputLocation": f"s3://{BUCKET}/results/",
        "FailureLocation": f"s3://{BUCKET}/failures/",
        "JobsTableName": TABLE,
        "DispatchQueueUrl": world.dispatch_queue_url,
        "AthenaWorkGroup": "pegasus",
        "GlueDatabase": "pegasus",
        "GlueTable": "summaries",
        "SuccessTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:success",
        "ErrorTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:error",
    }
