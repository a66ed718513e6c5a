"""Parse SageMaker's asynchronous inference notifications and the endpoint's JSON Lines output.

The recorder queue is subscribed to the success and error topics with raw message delivery, so
a message body is the notification itself; an SNS envelope (raw delivery off) is unwrapped too,
so that a change of that one subscription setting does not send every outcome to the DLQ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .jobs import JOB_ID_PATTERN, MessageError, parse_iso
from .jobs import iso as jobs_iso

COMPLETED = "Completed"
FAILED = "Failed"


@dataclass(frozen=True)
class Notification:
    """One outcome of one request, as SageMaker published it."""

    inference_id: str
    completed: bool
    event_time: str
    input_location: str | None
    output_location: str | None
    failure_location: str | None
    failure_reason: str | None
    # When SageMaker accepted the request (``receivedTime``); None if absent or not a time.
    received_time: str | None = None


def parse_notification(body: str) -> Notification | None:
    """The notification in an SQS message body; None for SageMaker's ``TestNotification``."""
    try:
        message = json.loads(body)
        if isinstance(message, dict) and message.get("Type") == "Notification":
            message = json.loads(message.get("Message", ""))
    except (TypeError, json.JSONDecodeError) as error:
        raise MessageError(f"notification is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise MessageError("notification must be a JSON object")
    if message.get("eventName") == "TestNotification":
        return None
    inference = message.get("inferenceId")
    if not isinstance(inference, str) or not inference:
        raise MessageError("notification has no 'inferenceId'")
    status = message.get("invocationStatus")
    if status not in (COMPLETED, FAILED):
        raise MessageError(
            f"notification {inference} has invocationStatus {json.dumps(status)}: expected "
            f"{COMPLETED!r} or {FAILED!r}"
        )
    event_time = message.get("eventTime")
    try:
        parse_iso(str(event_time))
    except ValueError:
        raise MessageError(
            f"notification {inference} has no valid 'eventTime' (got {json.dumps(event_time)})"
        ) from None
    request = message.get("requestParameters") or {}
    response = message.get("responseParameters") or {}
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise MessageError(
            f"notification {inference}: requestParameters and responseParameters must be objects"
        )
    output = response.get("outputLocation")
    if status == COMPLETED and not isinstance(output, str):
        raise MessageError(
            f"notification {inference} is Completed but has no responseParameters.outputLocation"
        )
    reason = message.get("failureReason")
    # Where the error went (the endpoint config's S3FailurePath). SageMaker's "Check prediction
    # results" page (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-check-
    # predictions.html) documents the notification's locations under responseParameters, as
    # outputLocation is for a success; the copies of that page that could be checked here did
    # not include an error example, so a top-level failureLocation is read as well. Either
    # way the job already has the FailureLocation that InvokeEndpointAsync returned.
    failure = response.get("failureLocation") or message.get("failureLocation")
    received = message.get("receivedTime")
    try:
        received_time = jobs_iso(parse_iso(str(received))) if received else None
    except ValueError:
        received_time = None
    return Notification(
        inference_id=inference,
        completed=status == COMPLETED,
        event_time=str(event_time),
        input_location=request.get("inputLocation"),
        output_location=output if isinstance(output, str) else None,
        failure_location=failure if isinstance(failure, str) and failure else None,
        failure_reason=str(reason) if reason else None,
        received_time=received_time,
    )


def request_ids(body: bytes) -> list[str] | None:
    """The job ids of a dispatcher's request body, in order; None if it is not one of ours
    (every line of ours is a JSON object whose ``id`` is a job id)."""
    ids: list[str] = []
    try:
        for line in body.decode("utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                return None
            if not JOB_ID_PATTERN.match(item["id"]):
                return None
            ids.append(item["id"])
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return ids or None


def output_results(body: bytes) -> list[dict[str, Any]]:
    """The result objects of an endpoint response: JSON Lines, or one JSON array or object."""
    text = body.decode("utf-8", errors="replace")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, list):
        return [item if isinstance(item, dict) else {"error": repr(item)} for item in whole]
    if isinstance(whole, dict):
        return [whole]
    results = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            item = {"error": f"response line {number} is not valid JSON: {error.msg}"}
        results.append(item if isinstance(item, dict) else {"error": f"line {number}: {item!r}"})
    return results
