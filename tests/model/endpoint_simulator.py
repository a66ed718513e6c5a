"""Play SageMaker's part for the data path, in process: moto for AWS, the REAL handler as the model.

``wired_pipeline()`` builds what the stack deploys, in moto: the data bucket sends its
``inputs/`` events to the dispatch queue, the success and error topics deliver raw messages to
the recorder queue. ``Pipeline.drain()`` then runs the dispatcher on the dispatch queue, serves
each InvokeEndpointAsync it made with ``model_code/inference.py`` (``input_fn -> predict_fn ->
output_fn``; output to ``results/``, errors to ``failures/``), publishes the notification
SageMaker documents, and runs the recorder, until nothing moves. Used by the end-to-end test
and by ``bench/bench_datapath.py``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3

from constructs_lib.data_path.runtime import jobs
from summarizer.client import StackOutputs, SummarizerClient
from tests.datapath_support import (
    ACCOUNT,
    BUCKET,
    ENDPOINT,
    REGION,
    TABLE,
    World,
    notification,
)


class Recording:
    """The dispatcher's sagemaker-runtime client: moto answers, and each call is kept."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pending: list[dict[str, Any]] = []

    def invoke_endpoint_async(self, **kwargs: Any) -> Any:
        self.pending.append(kwargs)
        return self.client.invoke_endpoint_async(**kwargs)


@dataclass
class Pipeline:
    world: World
    handler: ModuleType
    summarizer: Any
    endpoint: Recording
    success_topic: str
    error_topic: str
    recorder_queue: str
    # Settings of the dispatcher (e.g. max_documents_per_request), as its environment would.
    dispatcher_settings: dict[str, Any] = field(default_factory=dict)
    requests_served: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    # Time spent in the handler's input_fn/predict_fn/output_fn, the endpoint's own work.
    handler_seconds: float = 0.0

    def client(self) -> SummarizerClient:
        outputs = StackOutputs(
            stack_name="PegasusSummarizer-test",
            endpoint_name=ENDPOINT,
            data_bucket=BUCKET,
            input_prefix="inputs/",
            request_prefix="requests/",
            output_location=f"s3://{BUCKET}/results/",
            failure_location=f"s3://{BUCKET}/failures/",
            jobs_table=TABLE,
            dispatch_queue_url=self.world.dispatch_queue_url,
        )
        return SummarizerClient(outputs, boto3.Session(region_name=REGION))

    def _receive(self, queue: str, limit: int = 10) -> list[dict[str, Any]]:
        """Up to ``limit`` messages, as an event source mapping with that batch size hands over."""
        got: list[dict[str, Any]] = []
        while len(got) < limit:
            more = self.world.sqs.receive_message(
                QueueUrl=queue,
                MaxNumberOfMessages=min(10, limit - len(got)),
                AttributeNames=["All"],
            ).get("Messages", [])
            if not more:
                break
            got.extend(more)
        return [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
            }
            for m in got
        ]

    def _delete(self, queue: str, records: list[dict[str, Any]], failed: list[str]) -> None:
        for record in records:
            if record["messageId"] not in failed:
                self.world.sqs.delete_message(QueueUrl=queue, ReceiptHandle=record["receiptHandle"])

    def serve(self, call: dict[str, Any]) -> None:
        """What the endpoint does with one queued request, and what SageMaker then publishes."""
        self.requests_served.append(call)
        _, key = jobs.parse_s3_uri(call["InputLocation"])
        body = self.world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        name = uuid.uuid4().hex
        started = time.perf_counter()
        try:
            request = self.handler.input_fn(body, call["ContentType"])
            prediction = self.handler.predict_fn(request, self.summarizer)
            # The toolkit turns a missing Accept into application/json.
            output = self.handler.output_fn(prediction, "application/json")
        except ValueError as error:
            self.handler_seconds += time.perf_counter() - started
            location = f"s3://{BUCKET}/failures/{name}-error.out"
            self.world.s3.put_object(
                Bucket=BUCKET, Key=f"failures/{name}-error.out", Body=str(error)
            )
            message = notification(
                call["InferenceId"],
                completed=False,
                input_location=call["InputLocation"],
                failure_reason=(
                    f'ClientError: Received client error (400) from primary with message "{error}"'
                ),
                failure_location=location,
            )
            topic = self.error_topic
        else:
            self.handler_seconds += time.perf_counter() - started
            self.world.s3.put_object(Bucket=BUCKET, Key=f"results/{name}.out", Body=output)
            message = notification(
                call["InferenceId"],
                input_location=call["InputLocation"],
                output_location=f"s3://{BUCKET}/results/{name}.out",
            )
            topic = self.success_topic
        self.notifications.append(message)
        boto3.client("sns", region_name=REGION).publish(TopicArn=topic, Message=json.dumps(message))

    def drain(self) -> None:
        """Run dispatcher, endpoint and recorder until nothing moves any more."""
        dispatcher = self.world.dispatcher(self.endpoint, **self.dispatcher_settings)
        recorder = self.world.recorder()
        batch = dispatcher.config.max_documents_per_request
        for _ in range(10_000):
            moved = False
            records = self._receive(self.world.dispatch_queue_url, batch)
            if records:
                moved = True
                outcome = dispatcher.process(records)
                assert outcome.bad_messages == {}
                self._delete(self.world.dispatch_queue_url, records, outcome.failed_messages)
            while self.endpoint.pending:
                moved = True
                self.serve(self.endpoint.pending.pop(0))
            records = self._receive(self.recorder_queue)
            for record in records:
                moved = True
                recorder.record(record["body"])
            self._delete(self.recorder_queue, records, [])
            if not moved:
                return
        raise AssertionError("the data path did not settle")


@contextmanager
def wired_pipeline(
    world: World, handler: ModuleType, summarizer: Any, **dispatcher_settings: Any
) -> Iterator[Pipeline]:
    """The data path's wiring in moto around ``world`` (call inside ``mock_aws``)."""
    world.s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dispatch",
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inputs/"}]}},
                }
            ]
        },
    )
    sns = boto3.client("sns", region_name=REGION)
    recorder_queue = world.sqs.create_queue(QueueName="recorder")["QueueUrl"]
    topics = []
    for name in ("success", "error"):
        topic = sns.create_topic(Name=name)["TopicArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:recorder",
            Attributes={"RawMessageDelivery": "true"},
        )
        topics.append(topic)
    # SageMaker's TestNotification on endpoint creation: the recorder must ignore it.
    sns.publish(TopicArn=topics[0], Message=json.dumps({"eventName": "TestNotification"}))
    yield Pipeline(
        world=world,
        handler=handler,
        summarizer=summarizer,
        endpoint=Recording(world.sagemaker),
        success_topic=topics[0],
        error_topic=topics[1],
        recorder_queue=recorder_queue,
        dispatcher_settings=dispatcher_settings,
    )
