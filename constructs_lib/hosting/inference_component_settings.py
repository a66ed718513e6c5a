"""Settings of inference components, apart from the construct so configuration loads fast.

Pure Python (no CDK import): the app's configuration validates them without loading
``inference_components``, which only a stack that hosts inference components imports. Bounds
come from the SageMaker API and the CloudFormation schema of ``AWS::SageMaker::InferenceComponent``
(``InferenceComponentComputeResourceRequirements``): at least 0.25 CPU cores, at least one
accelerator when any, at least 128 MB of memory; ``MinMemoryRequiredInMb`` is required by the
API although the schema does not say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib._validation import check_int, check_number
from constructs_lib.model.instance_types import is_gpu_instance
from constructs_lib.scaling.settings import (
    MAX_ALARM_WINDOW_SECONDS,
    MAX_API_INTEGER,
    MAX_TARGET_VALUE,
)

# ProductionVariantRoutingConfig.RoutingStrategy, the two that need no further configuration
# (PREFIX_AWARE and KV_AWARE route by prompt caches of large language model servers).
ROUTING_STRATEGIES = ("LEAST_OUTSTANDING_REQUESTS", "RANDOM")
# InferenceComponentComputeResourceRequirements (API and CloudFormation schema).
MIN_MEMORY_MB = 128
MIN_CPU_CORES = 0.25
# The wake-up failure alarm reads one-minute periods; CloudWatch's window is at most a day.
MAX_WAKE_UP_FAILURE_MINUTES = MAX_ALARM_WINDOW_SECONDS // 60


@dataclass(frozen=True, kw_only=True)
class ComputeRequirements:
    """What SageMaker reserves on an instance for each copy of a component.

    A copy must fit an instance with what SageMaker keeps for itself; one that does not is
    refused when the component is created (the instance sizes are not checked here).
    """

    #: Memory reserved per copy, at least 128.
    min_memory_mb: int
    #: A cap on each copy's memory, at least ``min_memory_mb``; None: no cap.
    max_memory_mb: int | None = None
    #: GPUs per copy, at least 1; None: none reserved. On GPU instance types give it, so that
    #: SageMaker places copies by the GPUs they take; refused on types without a GPU.
    accelerators: int | None = None
    #: CPU cores per copy, at least 0.25; None: none reserved.
    cpu_cores: float | None = None

    def problems(self, instance_type: str | None = None, prefix: str = "") -> list[str]:
        """Every problem, as ``"<prefix><field>: ... (got ...)"``."""
        problems: list[str] = []
        check_int(problems, f"{prefix}min_memory_mb", self.min_memory_mb, minimum=MIN_MEMORY_MB)
        if self.max_memory_mb is not None:
            before = len(problems)
            check_int(problems, f"{prefix}max_memory_mb", self.max_memory_mb, minimum=MIN_MEMORY_MB)
            if (
                len(problems) == before
                and _is_int(self.min_memory_mb)
                and self.max_memory_mb < self.min_memory_mb
            ):
                problems.append(
                    f"{prefix}max_memory_mb: must be at least min_memory_mb "
                    f"{self.min_memory_mb!r} (got {self.max_memory_mb!r})"
                )
        if self.accelerators is not None:
            check_int(problems, f"{prefix}accelerators", self.accelerators, minimum=1)
            if (
                isinstance(instance_type, str)
                and instance_type.startswith("ml.")
                and not is_gpu_instance(instance_type)
            ):
                problems.append(
                    f"{prefix}accelerators: instance type {instance_type!r} has no GPU to "
                    f"reserve; leave it null there (got {self.accelerators!r})"
                )
        if self.cpu_cores is not None:
            check_number(problems, f"{prefix}cpu_cores", self.cpu_cores, minimum=MIN_CPU_CORES)
        return problems


@dataclass(frozen=True, kw_only=True)
class CopyScaling:
    """How Application Auto Scaling sizes a component's copies (``DesiredCopyCount``).

    Give at least one target: only target tracking scales copies in. With ``min_copies`` 0, a
    step policy adds one copy when a request finds no capacity
    (``NoCapacityInvocationFailures``), and an alarm reports a wake-up that has not succeeded.
    """

    #: The fewest copies; 0 scales to zero when idle.
    min_copies: int = 0
    #: The most copies.
    max_copies: int = 4
    #: Requests per copy per minute (the predefined
    #: ``SageMakerInferenceComponentInvocationsPerCopy``, as the real-time variant's default);
    #: None turns this target off.
    invocations_per_copy_target: float | None = 70.0
    #: Concurrent requests per copy (the high-resolution
    #: ``SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution``, which reacts
    #: within a minute); None: off.
    concurrent_requests_per_copy_target: float | None = None
    #: Seconds between scale-in activities.
    scale_in_cooldown_seconds: int = 300
    #: Seconds between scale-out activities.
    scale_out_cooldown_seconds: int = 60
    #: The wake-up step adds a copy at most this often: longer than a cold start, so a copy
    #: still starting does not earn a second one.
    wake_up_cooldown_seconds: int = 600
    #: Minutes of failed requests after which the alarm reports a wake-up that has not worked.
    wake_up_failure_minutes: int = 15

    def problems(self, prefix: str = "") -> list[str]:
        """Every problem, as ``"<prefix><field>: ... (got ...)"``."""
        problems: list[str] = []
        check_int(problems, f"{prefix}min_copies", self.min_copies, minimum=0)
        check_int(problems, f"{prefix}max_copies", self.max_copies, minimum=1)
        if (
            _is_int(self.min_copies)
            and _is_int(self.max_copies)
            and self.min_copies > self.max_copies
        ):
            problems.append(
                f"{prefix}min_copies: must not exceed max_copies {self.max_copies!r} "
                f"(got {self.min_copies!r})"
            )
        for name in ("invocations_per_copy_target", "concurrent_requests_per_copy_target"):
            value = getattr(self, name)
            if value is not None:
                check_number(
                    problems,
                    f"{prefix}{name}",
                    value,
                    exclusive_minimum=0,
                    maximum=MAX_TARGET_VALUE,
                )
        if self.invocations_per_copy_target is None and (
            self.concurrent_requests_per_copy_target is None
        ):
            problems.append(
                f"{prefix}invocations_per_copy_target: give it or "
                "concurrent_requests_per_copy_target: only target tracking scales copies in "
                "(got no target at all)"
            )
        for name in (
            "scale_in_cooldown_seconds",
            "scale_out_cooldown_seconds",
            "wake_up_cooldown_seconds",
        ):
            check_int(
                problems, f"{prefix}{name}", getattr(self, name), minimum=0, maximum=MAX_API_INTEGER
            )
        check_int(
            problems,
            f"{prefix}wake_up_failure_minutes",
            self.wake_up_failure_minutes,
            minimum=1,
            maximum=MAX_WAKE_UP_FAILURE_MINUTES,
        )
        return problems


def copy_count_problems(
    initial_copies: Any, scaling: CopyScaling | None, prefix: str = ""
) -> list[str]:
    """Problems of a component's copy count at creation against its scaling bounds.

    SageMaker refuses ``CopyCount`` 0 when it creates a component ("Inference components copy
    count an integer larger than 0"), so a component always starts with a copy and scales to
    zero afterwards.
    """
    problems: list[str] = []
    check_int(problems, f"{prefix}initial_copies", initial_copies, minimum=1)
    if problems or scaling is None:
        return problems
    low, high = scaling.min_copies, scaling.max_copies
    # A minimum above the maximum is reported with the bounds themselves.
    if _is_int(low) and _is_int(high) and low <= high and not low <= initial_copies <= high:
        problems.append(
            f"{prefix}initial_copies: must be within min_copies {low!r} and max_copies "
            f"{high!r} (got {initial_copies!r})"
        )
    return problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
