"""Structured logs and EMF metrics (Powertools), with the metric names alarms and dashboards use.

Powertools reads ``POWERTOOLS_SERVICE_NAME`` (the ``service`` dimension of every metric and the
``service`` key of every log line) and ``POWERTOOLS_METRICS_NAMESPACE`` from the environment.
"""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Dispatcher
DOCUMENTS_DISPATCHED = "DocumentsDispatched"
REQUESTS_SENT = "RequestsSent"
DOCUMENTS_PER_REQUEST = "DocumentsPerRequest"
DOCUMENTS_UNREADABLE = "DocumentsUnreadable"
DUPLICATES_SKIPPED = "DuplicatesSkipped"
INVOKE_RETRIES = "InvokeRetries"
INVOKE_FAILURES = "InvokeFailures"
BAD_MESSAGES = "BadMessages"
DOCUMENTS_TOO_LARGE = "DocumentsTooLarge"
DOCUMENTS_GONE = "DocumentsGone"
# Recorder
JOBS_SUCCEEDED = "JobsSucceeded"
JOBS_FAILED = "JobsFailed"
REDISPATCHES = "Redispatches"
DIRECT_INVOCATIONS = "DirectInvocations"
STALE_NOTIFICATIONS = "StaleNotifications"
CURATED_ROWS = "CuratedRows"
REQUEST_BODIES_GONE = "RequestBodiesGone"
RECORDS_RECREATED = "JobRecordsRecreated"
# Both: a call IAM or a key policy refused (always retried; the data path alarms on it).
ACCESS_DENIED = "AccessDenied"

logger = Logger()
metrics = Metrics()


class MetricSink(Protocol):
    """What the handlers' logic needs of Powertools' Metrics (tests pass a recorder)."""

    def add_metric(self, name: str, unit: MetricUnit | str, value: float) -> None: ...


def count(sink: MetricSink, name: str, value: float = 1) -> None:
    """Add ``value`` to counter ``name`` (skipped when zero: an EMF metric needs a data point)."""
    if value:
        sink.add_metric(name=name, unit=MetricUnit.Count, value=value)
