"""The autoscaling article's sizing method for real-time endpoints, as pure functions.

1. Benchmark one instance until it saturates (for example with an Inference Recommender default
   job): ``max_rps_per_instance`` is the highest request rate it sustained within the latency goal.
2. The target of ``SageMakerVariantInvocationsPerInstance`` (invocations per instance *per
   minute*) is that rate times a safety factor (below 1, so instances are added before they
   saturate), times 60.
3. With the expected lowest and highest request rates of the application::

       MinCapacity = ceil(min_rps / (invocations_per_instance / 60))
       MaxCapacity = ceil(max_rps / (invocations_per_instance / 60)) x growth_factor

   rounded up, where ``growth_factor`` (> 1) is the headroom for growth beyond today's peak.

The article's example: 5,000 invocations per instance per minute, 70 to 500 requests per second,
growth factor 1.2 gives MinCapacity 1 and MaxCapacity 8. Nothing here imports the CDK, so the
functions run in any script or notebook.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SECONDS_PER_MINUTE = 60


class SizingError(ValueError):
    """Bad sizing inputs, every problem listed at once (``"<name>: <problem> (got <value>)"``)."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"sizing: {count} problem{'s' if count != 1 else ''}:\n{lines}")


def _number_problem(
    name: str,
    value: Any,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"{name}: must be a finite number (got {value!r})"
    if above is not None and value <= above:
        return f"{name}: must be greater than {above:g} (got {value!r})"
    if at_least is not None and value < at_least:
        return f"{name}: must be at least {at_least:g} (got {value!r})"
    if at_most is not None and value > at_most:
        return f"{name}: must be at most {at_most:g} (got {value!r})"
    return ""


def _check(*problems: str) -> None:
    found = [p for p in problems if p]
    if found:
        raise SizingError(found)


def _ceil(value: float) -> int:
    # 500 / (5000 / 60) is 6.000000000000001 in floating point: round away such noise first.
    return math.ceil(round(value, 9))


def invocations_per_instance_target(
    max_rps_per_instance: float, *, safety_factor: float = 0.5
) -> float:
    """The ``SageMakerVariantInvocationsPerInstance`` target (per minute) from a benchmark.

    ``max_rps_per_instance``: requests per second one instance sustained at saturation.
    ``safety_factor`` (default 0.5, the SageMaker guide's; 0 < factor <= 1): the share of that
    rate an instance should carry before another is added. Lower means more headroom, more cost.
    """
    _check(
        _number_problem("max_rps_per_instance", max_rps_per_instance, above=0),
        _number_problem("safety_factor", safety_factor, above=0, at_most=1),
    )
    return max_rps_per_instance * safety_factor * SECONDS_PER_MINUTE


def min_capacity(min_rps: float, invocations_per_instance: float) -> int:
    """``ceil(min_rps / (invocations_per_instance / 60))``, and at least 1.

    A real-time variant cannot scale to zero, so a quiet application still gets one instance.
    """
    _check(
        _number_problem("min_rps", min_rps, at_least=0),
        _number_problem("invocations_per_instance", invocations_per_instance, above=0),
    )
    return max(1, _ceil(min_rps / (invocations_per_instance / SECONDS_PER_MINUTE)))


def max_capacity(max_rps: float, invocations_per_instance: float, growth_factor: float) -> int:
    """``ceil(max_rps / (invocations_per_instance / 60)) x growth_factor``, rounded up.

    ``growth_factor`` must be greater than 1: it is the capacity added beyond today's peak.
    """
    _check(
        _number_problem("max_rps", max_rps, above=0),
        _number_problem("invocations_per_instance", invocations_per_instance, above=0),
        _number_problem("growth_factor", growth_factor, above=1),
    )
    base = _ceil(max_rps / (invocations_per_instance / SECONDS_PER_MINUTE))
    return _ceil(base * growth_factor)


@dataclass(frozen=True)
class RealtimeSizing:
    """What the sizing method proposes: the scaling target and the capacity bounds."""

    #: The target-tracking target: invocations per instance per minute.
    invocations_per_instance: float
    #: The fewest instances the endpoint keeps.
    min_capacity: int
    #: The most instances it scales to.
    max_capacity: int


def size_realtime_endpoint(
    *,
    max_rps_per_instance: float,
    min_rps: float,
    max_rps: float,
    safety_factor: float = 0.5,
    growth_factor: float = 1.2,
) -> RealtimeSizing:
    """The whole method in one call (defaults: safety factor 0.5, growth factor 1.2)."""
    problems = []
    if (
        isinstance(min_rps, int | float)
        and isinstance(max_rps, int | float)
        and not isinstance(min_rps, bool)
        and not isinstance(max_rps, bool)
        and min_rps > max_rps
    ):
        problems.append(f"min_rps: must not exceed max_rps {max_rps!r} (got {min_rps!r})")
    _check(*problems)
    target = invocations_per_instance_target(max_rps_per_instance, safety_factor=safety_factor)
    return RealtimeSizing(
        invocations_per_instance=target,
        min_capacity=min_capacity(min_rps, target),
        max_capacity=max_capacity(max_rps, target, growth_factor),
    )
