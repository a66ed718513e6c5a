"""Settings of the data path (documents in, jobs recorded): pure Python, no CDK import.

The stack, the dispatcher Lambda (through its environment), the capacity planner and the scaling
simulator all read this one dataclass, so what is planned and simulated is what is deployed.
"""

from __future__ import annotations

import dataclasses

from .._validation import check_int


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataPathSettings:
    """How uploaded documents are grouped into requests and how their jobs are kept.

    A group is sent when it holds ``max_documents_per_request`` documents or
    ``max_request_bytes`` bytes, or when the oldest document has waited
    ``batching_window_seconds`` (the SQS event source's batching window). A document of
    ``large_document_bytes`` or more is sent in a request of its own.
    """

    enabled: bool = True
    max_documents_per_request: int = 32
    max_request_bytes: int = 4_000_000
    batching_window_seconds: int = 20
    large_document_bytes: int = 500_000
    invocation_timeout_seconds: int = 900
    request_ttl_seconds: int = 21_600
    max_receive_count: int = 5
    job_ttl_days: int = 90
    dispatcher_reserved_concurrency: int = 2
    recorder_reserved_concurrency: int = 5
    tracing: bool = False

    def problems(self) -> list[str]:
        problems: list[str] = []
        check_int(
            problems,
            "max_documents_per_request",
            self.max_documents_per_request,
            minimum=1,
            maximum=10_000,
        )
        check_int(
            problems,
            "max_request_bytes",
            self.max_request_bytes,
            minimum=1_000,
            maximum=1_000_000_000,
        )
        check_int(
            problems,
            "batching_window_seconds",
            self.batching_window_seconds,
            minimum=0,
            maximum=300,
        )
        check_int(
            problems,
            "large_document_bytes",
            self.large_document_bytes,
            minimum=1,
            maximum=1_000_000_000,
        )
        check_int(
            problems,
            "invocation_timeout_seconds",
            self.invocation_timeout_seconds,
            minimum=1,
            maximum=3_600,
        )
        check_int(
            problems, "request_ttl_seconds", self.request_ttl_seconds, minimum=60, maximum=21_600
        )
        check_int(problems, "max_receive_count", self.max_receive_count, minimum=1, maximum=1_000)
        check_int(problems, "job_ttl_days", self.job_ttl_days, minimum=1, maximum=36_500)
        check_int(
            problems,
            "dispatcher_reserved_concurrency",
            self.dispatcher_reserved_concurrency,
            minimum=1,
            maximum=1_000,
        )
        check_int(
            problems,
            "recorder_reserved_concurrency",
            self.recorder_reserved_concurrency,
            minimum=1,
            maximum=1_000,
        )
        return problems
