"""SNS delivery to SQS subscriptions: failures, dead-letter queues, and raw delivery.

moto (5.2.x) never fails a delivery, so a subscription's ``RedrivePolicy`` never matters, and it
treats any value of ``RawMessageDelivery`` (the string "false" included) as raw delivery. Here a
delivery can fail (the ``sns_delivery_fails`` fault): SNS retries, then, as documented
(https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html), the message goes to the
subscription's dead-letter queue if it has one, and is dropped otherwise (counted in
``DROPPED``: the fault table's "lost").
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.sns.models import Subscription
from moto.sqs.models import sqs_backends

from rehearsal.emulator.state import current

DROPPED: list[dict[str, Any]] = []
DEAD_LETTERED: list[dict[str, Any]] = []
_lock = threading.Lock()

_moto_publish = Subscription.publish


def _undeliverable(subscription: Any, message: str, message_id: str, raw: bool) -> None:
    redrive = subscription.attributes.get("RedrivePolicy")
    record = {"topic": subscription.topic.arn, "endpoint": subscription.endpoint, "id": message_id}
    if not redrive:
        with _lock:
            DROPPED.append(record)
        return
    target = json.loads(redrive)["deadLetterTargetArn"]
    body = (
        message
        if raw
        else json.dumps(subscription.get_post_data(message, message_id, None), sort_keys=True)
    )
    _, _, _, region, account, name = target.split(":")
    sqs_backends[account][region].send_message(
        name,
        body,
        message_attributes={
            "ErrorCode": {"DataType": "String", "StringValue": "SQSDeliveryFailed"},
            "ErrorMessage": {
                "DataType": "String",
                "StringValue": "injected fault: SNS could not deliver to the subscription",
            },
        },
    )
    with _lock:
        DEAD_LETTERED.append(record)


def publish(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
    if self.protocol == "sqs":
        raw = str(self.attributes.get("RawMessageDelivery", "false")).lower() == "true"
        if not raw:
            self.attributes.pop("RawMessageDelivery", None)
        faults = current.faults
        if faults is not None and faults.take("sns_delivery_fails"):
            _undeliverable(self, message, message_id, raw)
            return
    _moto_publish(self, message, message_id, *args, **kwargs)


def install() -> None:
    Subscription.publish = publish  # type: ignore[method-assign]
