"""Retries with exponential backoff and full jitter for the calls that protect the endpoint.

The SageMaker runtime client is built with botocore's own retries off, so that this loop is the
only one: botocore's and ours would multiply (5 x 5 attempts) and overrun the Lambda timeout.
Full jitter (a uniform wait between 0 and the capped exponential) spreads the retries of
concurrent dispatchers, which is what relieves a throttled endpoint. botocore's standard retry
mode (what the S3 and DynamoDB clients use) would do the waiting as well, but it has no hook for
each retry: the dispatcher counts every retried invocation (the ``InvokeRetries`` metric) and logs
its reason, which is how an operator sees a throttled endpoint before requests fail.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

T = TypeVar("T")

# Error codes that a later identical call may not get: throttling and server-side faults.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailableException",
    }
)
NETWORK_ERRORS = (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


# What S3, KMS and the other services answer when IAM or a key policy refuses a call. Without
# s3:ListBucket S3 also answers a missing object this way, which is why both functions may list
# the prefixes they read: a missing object is then NoSuchKey (404), and AccessDenied is always a
# permission problem worth retrying (someone fixes the policy) and alarming on.
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException", "Forbidden", "403"}
)
# What DynamoDB answers when a write's ConditionExpression is false.
CONDITION_FAILED = "ConditionalCheckFailedException"
# What S3 answers for an object (or object version) that does not exist.
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})


def error_code(error: BaseException) -> str:
    """The AWS error code of a ClientError (``NoSuchKey``, ``AccessDenied``...), else ``""``."""
    if not isinstance(error, ClientError):
        return ""
    return str(error.response.get("Error", {}).get("Code", ""))


def is_access_denied(error: BaseException) -> bool:
    return error_code(error) in ACCESS_DENIED_CODES


def is_condition_failed(error: BaseException) -> bool:
    """DynamoDB refused a conditional write because its condition did not hold."""
    return error_code(error) == CONDITION_FAILED


def is_missing(error: BaseException) -> bool:
    return error_code(error) in MISSING_CODES


def is_retryable(error: BaseException) -> bool:
    """Throttling, any 5xx, and connection trouble are worth another try; 4xx are not."""
    if isinstance(error, NETWORK_ERRORS):
        return True
    if not isinstance(error, ClientError):
        return False
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code in RETRYABLE_CODES or status >= 500 or status == 429


def describe(error: BaseException) -> str:
    """``Code: message`` of an AWS error, for failure reasons a person reads."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class Backoff:
    """``attempts`` calls in all; waits of up to base * 2**n seconds, capped at ``cap``."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    sleep: Callable[[float], Any] = time.sleep
    jitter: Callable[[], float] = random.random

    def call(self, function: Callable[[], T], on_retry: Callable[[BaseException], Any]) -> T:
        """Call ``function`` until it succeeds, fails for good, or the attempts run out."""
        for attempt in range(self.attempts):
            try:
                return function()
            except Exception as error:
                if attempt + 1 >= self.attempts or not is_retryable(error):
                    raise
                on_retry(error)
                self.sleep(self.jitter() * min(self.cap, self.base * 2**attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")
