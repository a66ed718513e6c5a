"""Suggest ``max_capacity`` and ``target_backlog_per_instance`` from expected load.

Follows the AWS blog "Optimize your machine learning deployments with auto scaling on Amazon
SageMaker": ``MaxCapacity = ceil(peak / per-instance throughput) * growth factor``, adapted to
queued work. An instance working ``concurrency`` articles at a time, each taking
``seconds_per_article``, clears ``concurrency / seconds_per_article`` articles a second; the
backlog target is how many queued articles one instance clears within the acceptable wait.
Measure ``seconds_per_article`` at that concurrency (concurrent requests share the GPU).

Run ``python -m constructs_lib.capacity_planner --help``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_GROWTH_FACTOR = 1.2
# The Hugging Face async example's target, used when no acceptable wait is given.
DEFAULT_TARGET_BACKLOG_PER_INSTANCE = 5
# Instance start, container start and model download took 7-9 minutes in the Hugging Face
# async notebook.
DEFAULT_COLD_START_MINUTES = 8.0
# SageMaker's limit for MaxConcurrentInvocationsPerInstance.
MAX_CONCURRENCY = 1000


class PlanningError(ValueError):
    """Raised with every bad planner input at once (same shape as ``ConfigurationError``).

    Separate from ``_validation`` so the planner imports no CDK: it is pure arithmetic and its
    CLI starts no Node process.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"capacity planner: {count} problem{'s' if count != 1 else ''}:\n{lines}")


@dataclass(frozen=True, kw_only=True)
class CapacityPlan:
    """The planner's numbers and the reasoning that produced them, one line per step."""

    per_instance_per_minute: float
    instances_for_peak: int
    max_capacity: int
    target_backlog_per_instance: int
    wait_at_target_seconds: float
    cold_start_backlog: int
    reasoning: tuple[str, ...]

    def scaling_settings(self) -> dict[str, Any]:
        """The values for ``scaling`` in ``cdk.json`` (``ScalingSettings`` field names)."""
        return {
            "min_capacity": 0,
            "max_capacity": self.max_capacity,
            "target_backlog_per_instance": self.target_backlog_per_instance,
        }


def plan_capacity(
    *,
    peak_per_minute: float,
    seconds_per_article: float,
    concurrency: int,
    growth_factor: float = DEFAULT_GROWTH_FACTOR,
    max_wait_seconds: float | None = None,
    cold_start_minutes: float = DEFAULT_COLD_START_MINUTES,
) -> CapacityPlan:
    """Plan capacity for a peak of ``peak_per_minute`` articles a minute.

    Raises ``PlanningError`` listing every bad input.
    """
    problems: list[str] = []
    _check_number(problems, "peak_per_minute", peak_per_minute, above=0)
    _check_number(problems, "seconds_per_article", seconds_per_article, above=0)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        problems.append(f"concurrency: must be a whole number (got {concurrency!r})")
    elif not 1 <= concurrency <= MAX_CONCURRENCY:
        problems.append(
            f"concurrency: must be between 1 and {MAX_CONCURRENCY} (got {concurrency!r})"
        )
    _check_number(problems, "growth_factor", growth_factor, above=1)
    if max_wait_seconds is not None:
        _check_number(problems, "max_wait_seconds", max_wait_seconds, above=0)
    _check_number(problems, "cold_start_minutes", cold_start_minutes, above=0, allow_equal=True)
    if problems:
        raise PlanningError(problems)

    reasoning: list[str] = []
    per_second = concurrency / seconds_per_article
    per_minute = per_second * 60
    reasoning.append(
        f"One instance runs {concurrency} article(s) at a time, {_num(seconds_per_article)} s "
        f"each: {concurrency} / {_num(seconds_per_article)} s = {_num(per_second)} articles/s "
        f"= {_num(per_minute)} articles/min per instance."
    )
    instances_for_peak = _ceil(peak_per_minute / per_minute)
    reasoning.append(
        f"Peak {_num(peak_per_minute)} articles/min / {_num(per_minute)} per instance = "
        f"{_num(peak_per_minute / per_minute)} -> {instances_for_peak} instance(s) keep up "
        "with the peak."
    )
    max_capacity = _ceil(instances_for_peak * growth_factor)
    reasoning.append(
        f"Growth factor {_num(growth_factor)}: {instances_for_peak} x {_num(growth_factor)} = "
        f"{_num(instances_for_peak * growth_factor)} -> max_capacity {max_capacity}."
    )

    if max_wait_seconds is None:
        target = DEFAULT_TARGET_BACKLOG_PER_INSTANCE
        reasoning.append(
            f"No acceptable wait given: keeping target_backlog_per_instance {target} "
            "(the Hugging Face example's)."
        )
    else:
        clearable = math.floor(round(per_second * max_wait_seconds, 9))
        reasoning.append(
            f"Within the acceptable wait of {_num(max_wait_seconds)} s one instance clears "
            f"{_num(per_second)} x {_num(max_wait_seconds)} = "
            f"{_num(per_second * max_wait_seconds)} -> {clearable} queued article(s)."
        )
        target = clearable
        if target < concurrency:
            target = concurrency
            reasoning.append(
                f"That is below the concurrency ({concurrency}): raised to {target}, or "
                "instances would scale out with idle slots. A wait shorter than one article's "
                "processing time cannot be promised while instances are busy."
            )
    wait_at_target = target / per_second
    reasoning.append(
        f"target_backlog_per_instance {target}: at the target a new article waits about "
        f"{target} / {_num(per_second)} per s = {_num(wait_at_target)} s before it starts."
    )

    cold_start_backlog = _ceil(peak_per_minute * cold_start_minutes)
    if cold_start_backlog:
        reasoning.append(
            f"From zero, a cold start of about {_num(cold_start_minutes)} min at peak queues "
            f"{cold_start_backlog} article(s) before the first instance serves; consider "
            "min_capacity 1 (or a scheduled action) for the hours such bursts are expected, "
            "and the spike policy to add instances faster."
        )
    reasoning.append(
        "min_capacity 0: the endpoint scales to zero when idle and the wake-up alarm brings "
        "it back."
    )
    return CapacityPlan(
        per_instance_per_minute=per_minute,
        instances_for_peak=instances_for_peak,
        max_capacity=max_capacity,
        target_backlog_per_instance=target,
        wait_at_target_seconds=wait_at_target,
        cold_start_backlog=cold_start_backlog,
        reasoning=tuple(reasoning),
    )


def _check_number(
    problems: list[str], name: str, value: Any, *, above: float, allow_equal: bool = False
) -> None:
    # Local rather than _validation.check_number: no CDK tokens here, and NaN (which argparse
    # accepts) passes every comparison, so it needs its own check.
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name}: must be a number (got {value!r})")
    elif not math.isfinite(value):
        problems.append(f"{name}: must be a finite number (got {value!r})")
    elif allow_equal and value < above:
        problems.append(f"{name}: must be at least {above:g} (got {value!r})")
    elif not allow_equal and value <= above:
        problems.append(f"{name}: must be greater than {above:g} (got {value!r})")


def _ceil(value: float) -> int:
    # Round first so float noise (10 x 1.1 = 11.000000000000002) does not add an instance.
    return math.ceil(round(value, 9))


def _num(value: float) -> str:
    return f"{value:.4g}" if value != int(value) else str(int(value))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m constructs_lib.capacity_planner",
        description=(
            "Suggest max_capacity and target_backlog_per_instance for the endpoint's scaling "
            "settings from the expected peak load."
        ),
    )
    parser.add_argument(
        "--peak-per-minute", type=float, required=True, help="articles arriving per minute at peak"
    )
    parser.add_argument(
        "--seconds-per-article",
        type=float,
        required=True,
        help="mean processing time of one article, measured at --concurrency",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        required=True,
        help="MaxConcurrentInvocationsPerInstance of the endpoint",
    )
    parser.add_argument(
        "--growth-factor",
        type=float,
        default=DEFAULT_GROWTH_FACTOR,
        help=f"headroom above the peak, > 1 (default {DEFAULT_GROWTH_FACTOR})",
    )
    parser.add_argument(
        "--max-wait-seconds",
        type=float,
        default=None,
        help="acceptable time an article waits in the queue before processing starts",
    )
    parser.add_argument(
        "--cold-start-minutes",
        type=float,
        default=DEFAULT_COLD_START_MINUTES,
        help=f"time from zero to a serving instance (default {DEFAULT_COLD_START_MINUTES:g})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plan = plan_capacity(
            peak_per_minute=args.peak_per_minute,
            seconds_per_article=args.seconds_per_article,
            concurrency=args.concurrency,
            growth_factor=args.growth_factor,
            max_wait_seconds=args.max_wait_seconds,
            cold_start_minutes=args.cold_start_minutes,
        )
    except PlanningError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in plan.reasoning:
        print(f"- {line}")
    print()
    print('Suggested "scaling" values for cdk.json:')
    print(json.dumps({"scaling": plan.scaling_settings()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
