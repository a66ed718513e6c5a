"""Settings of a batch transform job, apart from the construct so configuration loads fast.

Importing the Step Functions, Scheduler and EC2 modules of aws-cdk-lib costs about 0.4 s; the app's
configuration only needs to validate these settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib._validation import check_int
from constructs_lib.model.instance_types import instance_type_problems
from constructs_lib.scaling.schedules import schedule_expression_problem

BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
# CreateTransformJob: MaxPayloadInMB at most 100, and MaxConcurrentTransforms x MaxPayloadInMB
# at most 100 too.
MAX_PAYLOAD_MB = 100


@dataclass(frozen=True, kw_only=True)
class BatchTransformSettings:
    """One transform job's shape. Field names are the keys of ``batch`` in ``cdk.json``."""

    #: The instance type of the job (the app gives its top-level ``instance_type``).
    instance_type: str = "ml.g5.xlarge"
    #: Instances of the job, 1 to 100.
    instance_count: int = 1
    #: ``MultiRecord`` (mini-batches of lines) or ``SingleRecord``.
    batch_strategy: str = "MultiRecord"
    #: The largest mini-batch, 1 to 100 MB; one article must fit.
    max_payload_mb: int = 6
    #: Parallel requests per instance. The handler has one worker per GPU, so more only
    #: queues; times ``max_payload_mb`` it must stay at most 100.
    max_concurrent_transforms: int = 1
    #: Per request, at most 3600.
    invocation_timeout_seconds: int = 600
    #: Retries per request, at most 3.
    invocation_max_retries: int = 1
    #: The state machine stops waiting for the job after this.
    job_timeout_minutes: int = 360
    #: An EventBridge Scheduler expression such as ``cron(0 2 * * ? *)``; None: on demand only.
    schedule: str | None = None
    #: The time zone of ``schedule``.
    schedule_timezone: str = "UTC"

    def problems(self) -> list[str]:
        """Every problem, as ``"<field>: ... (got ...)"``."""
        problems = instance_type_problems("instance_type", self.instance_type)
        check_int(problems, "instance_count", self.instance_count, minimum=1, maximum=100)
        if self.batch_strategy not in BATCH_STRATEGIES:
            problems.append(
                f"batch_strategy: must be one of {', '.join(BATCH_STRATEGIES)} "
                f"(got {self.batch_strategy!r})"
            )
        before = len(problems)
        check_int(
            problems, "max_payload_mb", self.max_payload_mb, minimum=1, maximum=MAX_PAYLOAD_MB
        )
        check_int(problems, "max_concurrent_transforms", self.max_concurrent_transforms, minimum=1)
        if (
            len(problems) == before
            and isinstance(self.max_payload_mb, int)
            and isinstance(self.max_concurrent_transforms, int)
            and self.max_payload_mb * self.max_concurrent_transforms > MAX_PAYLOAD_MB
        ):
            problems.append(
                "max_concurrent_transforms: times max_payload_mb "
                f"{self.max_payload_mb!r} must be at most {MAX_PAYLOAD_MB} MB "
                f"(got {self.max_concurrent_transforms!r})"
            )
        check_int(
            problems,
            "invocation_timeout_seconds",
            self.invocation_timeout_seconds,
            minimum=1,
            maximum=3600,
        )
        check_int(
            problems, "invocation_max_retries", self.invocation_max_retries, minimum=0, maximum=3
        )
        check_int(
            problems, "job_timeout_minutes", self.job_timeout_minutes, minimum=5, maximum=10080
        )
        if self.schedule is not None:
            problem = schedule_expression_problem(self.schedule)
            if problem:
                problems.append(f"schedule: {problem} (got {self.schedule!r})")
        if not isinstance(self.schedule_timezone, str) or not self.schedule_timezone:
            problems.append(
                f"schedule_timezone: must be an IANA time zone (got {self.schedule_timezone!r})"
            )
        return problems
