"""Suggest scaling settings from the load, as the model server really serves it.

One instance runs one model-server worker per GPU, and that worker takes one request at a time
(the toolkit reads only ``data[0]``): concurrent invocations queue inside the container and run
one after the other, so ``MaxConcurrentInvocationsPerInstance`` adds no throughput. What does is
the articles of one request, which the handler batches on the GPU; the data path groups
documents into such requests (``DataPathSettings``). So per-instance throughput is read from a
throughput table (articles/s by batch; the default is an ESTIMATE for ml.g5.xlarge) at the
batch the data path forms at the given peak, in generate calls of at most the endpoint's
``SUMMARIZER_BATCH_SIZE`` (the handler's default 16 unless ``model_environment`` sets it).

Two modes:

- ``--peak-per-minute N``: sizing by arithmetic (the AWS blog's ``ceil(peak / per-instance
  throughput) x growth factor``), then the recommendation simulated beside ours on a trace;
- ``--p95-goal-minutes G``: searches ``max_capacity``, the backlog target and the spike setting
  for the cheapest configuration whose simulated p95 time to summary meets the goal on a trace
  (``summarizer.simulator``) on every seed, both at the CloudWatch publication delay and at
  twice it; it prints the margin left under the goal.

Run ``python -m summarizer.planner --help``. Usage errors exit with status 2.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from constructs_lib.data_path.settings import DataPathSettings
from summarizer.simulator.engine import (
    HANDLER_DEFAULT_BATCH_SIZE,
    HUB_COLD_START,
    Options,
    Run,
    Variant,
    iterate_seeds,
    percentile,
)
from summarizer.simulator.results import aggregate, latencies
from summarizer.simulator.throughput import ThroughputTable, load_table
from summarizer.simulator.traffic import Document

DEFAULT_GROWTH_FACTOR = 1.2
# The Hugging Face async example's target (requests per instance), used without a wait.
DEFAULT_TARGET_BACKLOG_PER_INSTANCE = 5
# The middle of the simulator's cold start with the model from the Hub (engine.HUB_COLD_START,
# where its source is): one parameter for both.
DEFAULT_COLD_START_MINUTES = HUB_COLD_START.middle_minutes
# The search checks every setting again with the CloudWatch publication delay multiplied by this:
# the delay is an assumption (AWS publishes none), so the recommendation must not depend on it.
DELAY_FACTOR = 2.0
# Beyond these the planner refuses (or warns): no endpoint of this project is sized for more,
# and account quotas for GPU endpoint instances are usually far lower.
MAX_PEAK_PER_MINUTE = 1_000_000.0
MIN_PEAK_PER_MINUTE = 0.001
MAX_PLANNED_INSTANCES = 1000
QUOTA_WARNING_INSTANCES = 20
# Searched by --p95-goal-minutes (requests per instance; the backlog metric counts requests).
SEARCH_TARGETS = (1.0, 2.0, 5.0, 10.0, 20.0)
DEFAULT_SEARCH_MAX_CAPACITY = 10
DEFAULT_PEAK_TRACE_MINUTES = 60.0
PEAK_TRACE_MIN_DOCUMENTS = 10
PEAK_TRACE_MAX_DOCUMENTS = 50_000


class PlanningError(ValueError):
    """Raised with every bad planner input at once (same shape as ``ConfigurationError``)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"capacity planner: {count} problem{'s' if count != 1 else ''}:\n{lines}")


@dataclass(frozen=True, kw_only=True)
class CapacityPlan:
    """The planner's numbers and the reasoning that produced them, one line per step."""

    articles_per_request: float
    seconds_per_request: float
    per_instance_per_minute: float
    instances_for_peak: int
    max_capacity: int
    target_backlog_per_instance: int
    wait_at_target_seconds: float
    cold_start_backlog: int
    reasoning: tuple[str, ...]
    warnings: tuple[str, ...] = ()

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
    growth_factor: float = DEFAULT_GROWTH_FACTOR,
    max_wait_seconds: float | None = None,
    cold_start_minutes: float = DEFAULT_COLD_START_MINUTES,
    table: ThroughputTable | None = None,
    data_path: DataPathSettings | None = None,
    batch_size: int = HANDLER_DEFAULT_BATCH_SIZE,
) -> CapacityPlan:
    """Plan capacity for a peak of ``peak_per_minute`` documents a minute.

    ``table`` defaults to the ml.g5.xlarge estimate, ``data_path`` to ``DataPathSettings()``,
    ``batch_size`` to the handler's default ``SUMMARIZER_BATCH_SIZE``.
    Raises ``PlanningError`` listing every bad input, and when the peak needs more than
    ``MAX_PLANNED_INSTANCES`` instances.
    """
    problems: list[str] = []
    _check(problems, "peak_per_minute", peak_per_minute, MIN_PEAK_PER_MINUTE, MAX_PEAK_PER_MINUTE)
    _check(problems, "growth_factor", growth_factor, 1.0, 10.0, low_open=True)
    if max_wait_seconds is not None:
        _check(problems, "max_wait_seconds", max_wait_seconds, 1.0, 86_400.0)
    _check(problems, "cold_start_minutes", cold_start_minutes, 0.0, 120.0)
    if problems:
        raise PlanningError(problems)
    table = table or load_table()
    data_path = data_path or DataPathSettings()

    reasoning: list[str] = []
    per_second = peak_per_minute / 60.0
    if data_path.enabled:
        # A group opened by one document collects the others arriving within the window.
        batch = min(
            float(data_path.max_documents_per_request),
            1.0 + per_second * data_path.batching_window_seconds,
        )
        reasoning.append(
            f"The data path groups documents for up to {data_path.batching_window_seconds} s "
            f"or {data_path.max_documents_per_request} documents: at {_num(peak_per_minute)} "
            f"documents/min a request carries about {_num(batch)} article(s)."
        )
    else:
        batch = 1.0
        reasoning.append("The data path is disabled: one article per request.")
    compute = table.compute_seconds(batch, batch_size)
    seconds_per_request = table.request_overhead_seconds + compute
    per_minute = batch / seconds_per_request * 60.0
    if batch > batch_size:
        calls = math.ceil(round(batch / batch_size, 9))
        work = (
            f"{_num(batch)} articles in {calls} generate calls of at most {batch_size} "
            f"(SUMMARIZER_BATCH_SIZE) at {_num(table.articles_per_second(batch_size))} "
            f"articles/s = {_num(compute)} s"
        )
    else:
        work = f"{_num(batch)} articles at {_num(table.articles_per_second(batch))} articles/s"
    reasoning.append(
        f"One instance serves one request at a time (one model-server worker per GPU; more "
        f"concurrent invocations only queue): {work} "
        f"+ {_num(table.request_overhead_seconds)} s per request = {_num(seconds_per_request)} s "
        f"-> {_num(per_minute)} articles/min per instance ({table.label()})."
    )
    needed = peak_per_minute / per_minute
    instances_for_peak = max(1, _ceil(needed))
    if instances_for_peak > MAX_PLANNED_INSTANCES:
        raise PlanningError(
            [
                f"peak_per_minute: {_num(peak_per_minute)} documents/min needs about "
                f"{instances_for_peak} instances, more than the {MAX_PLANNED_INSTANCES} the "
                "planner plans for (got "
                f"{peak_per_minute!r}); split the load across endpoints or measure a faster "
                "instance type with --throughput-table"
            ]
        )
    reasoning.append(
        f"Peak {_num(peak_per_minute)} articles/min / {_num(per_minute)} per instance = "
        f"{_num(needed)} -> {instances_for_peak} instance(s) keep up with the peak."
    )
    max_capacity = max(1, _ceil(instances_for_peak * growth_factor))
    reasoning.append(
        f"Growth factor {_num(growth_factor)}: {instances_for_peak} x {_num(growth_factor)} = "
        f"{_num(instances_for_peak * growth_factor)} -> max_capacity {max_capacity}."
    )
    if max_wait_seconds is None:
        target = DEFAULT_TARGET_BACKLOG_PER_INSTANCE
        reasoning.append(
            f"No acceptable wait given: keeping target_backlog_per_instance {target} requests "
            "(the Hugging Face example's)."
        )
    else:
        clearable = math.floor(round(max_wait_seconds / seconds_per_request, 9))
        target = max(1, clearable)
        reasoning.append(
            f"The backlog metric counts requests: within {_num(max_wait_seconds)} s one "
            f"instance clears {_num(max_wait_seconds)} / {_num(seconds_per_request)} s = "
            f"{_num(max_wait_seconds / seconds_per_request)} -> {target} queued request(s)"
            + (" (at least 1)." if clearable < 1 else ".")
        )
    wait_at_target = target * seconds_per_request
    reasoning.append(
        f"target_backlog_per_instance {target}: at the target a new request waits about "
        f"{target} x {_num(seconds_per_request)} s = {_num(wait_at_target)} s before it starts."
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
    warnings: list[str] = []
    if max_capacity > QUOTA_WARNING_INSTANCES:
        warnings.append(
            f"max_capacity {max_capacity}: check your account's SageMaker quota for "
            f"{table.instance_type} endpoint usage before deploying; default quotas for GPU "
            "instances are often lower."
        )
    if table.kind == "estimate":
        warnings.append(
            f"Throughput comes from the {table.label()}: measure your own and pass it with "
            "--throughput-table before relying on these numbers."
        )
    return CapacityPlan(
        articles_per_request=batch,
        seconds_per_request=seconds_per_request,
        per_instance_per_minute=per_minute,
        instances_for_peak=instances_for_peak,
        max_capacity=max_capacity,
        target_backlog_per_instance=target,
        wait_at_target_seconds=wait_at_target,
        cold_start_backlog=cold_start_backlog,
        reasoning=tuple(reasoning),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    """The cheapest setting meeting the goal (None if none did) and every candidate tried.

    ``best_summary`` aggregates the setting over the seeds at the given delay; ``worst_p95``
    is its largest p95 (minutes, unrounded) over every seed at both delays, ``worst_run`` says
    which (delay, seed); ``margin`` is the goal less ``worst_p95``. Each candidate reports
    ``meets_goal`` and the p95 that decided it (the worst one, or the first that missed).
    """

    best: Variant | None
    best_summary: dict[str, Any] | None
    candidates: tuple[dict[str, Any], ...]
    goal_minutes: float = 0.0
    delays: tuple[float, ...] = ()
    worst_p95: float | None = None
    worst_run: tuple[float, int] | None = None

    @property
    def margin(self) -> float | None:
        """Minutes left under the goal by the recommendation's worst p95."""
        return None if self.worst_p95 is None else self.goal_minutes - self.worst_p95


def _p95_minutes(run: Run) -> float | None:
    """The run's p95 in minutes (None: never), unrounded so the goal is compared exactly."""
    value = percentile(latencies(run), 0.95)
    return None if value is None else value / 60.0


def search(
    documents: list[Document],
    base: Variant,
    options: Options,
    *,
    p95_goal_minutes: float,
    max_capacity_limit: int = DEFAULT_SEARCH_MAX_CAPACITY,
    targets: Sequence[float] = SEARCH_TARGETS,
    delay_factor: float = DELAY_FACTOR,
) -> SearchResult:
    """Simulate ``base`` with every max_capacity (1..limit), target and spike setting; keep the
    cheapest (median cost over the seeds) whose p95 meets ``p95_goal_minutes`` with nothing
    expired on every seed of ``options``, both at its publication delay and at that delay times
    ``delay_factor`` (ties: fewer instances, then a higher target, then without the spike
    policy). A setting stops being simulated at its first miss."""
    problems: list[str] = []
    _check(problems, "p95_goal_minutes", p95_goal_minutes, 0.1, 10_000.0)
    if (
        isinstance(max_capacity_limit, bool)
        or not isinstance(max_capacity_limit, int)
        or not 1 <= max_capacity_limit <= 100
    ):
        problems.append(
            f"max_capacity_limit: must be a whole number from 1 to 100 (got {max_capacity_limit!r})"
        )
    _check(problems, "delay_factor", delay_factor, 1.0, 10.0)
    if problems:
        raise PlanningError(problems)
    delay = options.publication_delay_seconds
    delays = (delay, delay * delay_factor) if delay_factor != 1.0 else (delay,)
    # (sort key, variant, its figures over the seeds, its worst p95, the run of that p95)
    best: (
        tuple[tuple[float, int, float, bool], Variant, dict[str, Any], float, tuple[float, int]]
        | None
    ) = None
    candidates: list[dict[str, Any]] = []
    floor = base.scaling.min_capacity
    for max_capacity in range(max(1, floor), max_capacity_limit + 1):
        for target in targets:
            for spike in (False, True):
                scaling = dataclasses.replace(
                    base.scaling,
                    max_capacity=max_capacity,
                    target_backlog_per_instance=target,
                    spike_enabled=spike,
                    # Schedules must stay within the new bounds; searched settings drop them.
                    scheduled_actions=(),
                )
                name = f"max {max_capacity}, target {target:g}" + (", spike" if spike else "")
                variant = dataclasses.replace(base, name=name, scaling=scaling)
                runs, worst, decided = _judge(documents, variant, options, delays, p95_goal_minutes)
                record = {
                    "variant": name,
                    "max_capacity": max_capacity,
                    "target_backlog_per_instance": target,
                    "spike_enabled": spike,
                    "meets_goal": runs is not None,
                    "p95_minutes": None if worst is None else round(worst, 1),
                    "decided_by": {"delay_seconds": decided[0], "seed": decided[1]},
                }
                if runs is None or worst is None:
                    candidates.append(record)
                    continue
                summary = aggregate(runs, options)
                cost: float = summary["figures"]["cost_usd"]["median"]
                record["cost_usd"] = cost
                candidates.append(record)
                key = (cost, max_capacity, -target, spike)
                if best is None or key < best[0]:
                    best = (key, variant, summary, worst, decided)
    if best is None:
        return SearchResult(
            best=None,
            best_summary=None,
            candidates=tuple(candidates),
            goal_minutes=p95_goal_minutes,
            delays=delays,
        )
    _, variant, summary, worst, decided = best
    return SearchResult(
        best=variant,
        best_summary=summary,
        candidates=tuple(candidates),
        goal_minutes=p95_goal_minutes,
        delays=delays,
        worst_p95=worst,
        worst_run=decided,
    )


def _judge(
    documents: list[Document],
    variant: Variant,
    options: Options,
    delays: Sequence[float],
    goal: float,
) -> tuple[list[Run] | None, float | None, tuple[float, int]]:
    """Whether ``variant`` meets ``goal`` on every seed at every delay.

    Returns the runs at the first delay (None on a miss), the worst p95 (or the missing one)
    and the (delay, seed) of that run. The longer delay runs first: it misses first.
    """
    worst: float | None = None
    worst_at = (delays[0], options.seed)
    kept: list[Run] = []
    for delay in sorted(delays, reverse=True):
        at_delay = dataclasses.replace(options, publication_delay_seconds=delay)
        for run in iterate_seeds(documents, variant, at_delay):
            p95 = _p95_minutes(run)
            expired = any(run.expired)
            if p95 is None or p95 > goal or expired:
                return None, p95, (delay, run.seed)
            if worst is None or p95 > worst:
                worst, worst_at = p95, (delay, run.seed)
            if delay == delays[0]:
                kept.append(run)
    return kept, worst, worst_at


def _check(
    problems: list[str],
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
) -> None:
    # Bounds on every input keep the arithmetic finite (1e308 x 60 overflows) and the answer
    # one the configuration accepts.
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name}: must be a number (got {value!r})")
    elif not math.isfinite(value):
        problems.append(f"{name}: must be a finite number (got {value!r})")
    elif (value <= low if low_open else value < low) or value > high:
        span = (
            f"above {_num(low)} and at most {_num(high)}"
            if low_open
            else f"from {_num(low)} to {_num(high)}"
        )
        problems.append(f"{name}: must be a number {span} (got {value!r})")


def _ceil(value: float) -> int:
    # Round first so float noise (10 x 1.1 = 11.000000000000002) does not add an instance.
    return math.ceil(round(value, 9))


def plain_number(value: float) -> str:
    """``value`` as the reasoning prints it: whole numbers without a point, else 4 digits."""
    return f"{value:.4g}" if value != int(value) else str(int(value))


_num = plain_number
