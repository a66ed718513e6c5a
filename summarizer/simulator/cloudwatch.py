"""CloudWatch as the policies see it: one-minute datapoints, published late, and alarms.

SageMaker's metrics "are available at a 1-minute frequency" (SageMaker developer guide,
"Monitor Amazon SageMaker AI with Amazon CloudWatch"); a datapoint for the minute ``[m, m+1)``
becomes visible ``publication_delay_seconds`` after that minute ends (no delay is documented:
an ASSUMPTION, ``engine.DEFAULT_PUBLICATION_DELAY_SECONDS``). "For any period of one minute or
longer, an alarm is evaluated every minute and the evaluation is based on the window of time
defined by the Period and Evaluation Periods" (CloudWatch user guide, "Using Amazon CloudWatch
alarms"): an alarm with a period of ``P`` minutes averages ``P`` datapoints per period and looks
at its last ``evaluation_periods`` complete periods, of which ``datapoints_to_alarm`` must breach.
Missing periods take the alarm's treatment directly; CloudWatch first reuses older datapoints of
its evaluation range, which differs only for sparse series (the engine publishes every minute).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
MISSING_TREATMENTS = ("missing", "notBreaching", "breaching", "ignore")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


@dataclass
class MetricSeries:
    """One metric's datapoints by minute (``None``: nothing published for that minute)."""

    values: list[float | None] = field(default_factory=list)

    def put(self, minute: int, value: float | None) -> None:
        """Record the datapoint of ``minute`` (minutes are recorded in order)."""
        while len(self.values) < minute:
            self.values.append(None)
        self.values.append(value)

    def visible_until(self, now_seconds: float, delay_seconds: float) -> int:
        """Index after the last minute whose datapoint is visible at ``now_seconds``."""
        return min(len(self.values), int((now_seconds - delay_seconds) // 60))


@dataclass
class Alarm:
    """A CloudWatch metric alarm on the Average statistic of a ``MetricSeries``."""

    name: str
    metric: MetricSeries
    threshold: float
    comparison: str
    period_minutes: int = 1
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"
    state: str = INSUFFICIENT_DATA
    last_value: float | None = None

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison: must be one of {', '.join(COMPARISONS)}")
        if self.treat_missing_data not in MISSING_TREATMENTS:
            raise ValueError(f"treat_missing_data: must be one of {', '.join(MISSING_TREATMENTS)}")

    def evaluate(self, now_seconds: float, delay_seconds: float) -> str:
        """Re-evaluate at ``now_seconds`` and return the new state."""
        visible = self.metric.visible_until(now_seconds, delay_seconds)
        complete_periods = visible // self.period_minutes
        values: list[float | None] = []
        for period in range(complete_periods - self.evaluation_periods, complete_periods):
            if period < 0:
                values.append(None)
                continue
            start = period * self.period_minutes
            points = [
                v for v in self.metric.values[start : start + self.period_minutes] if v is not None
            ]
            values.append(sum(points) / len(points) if points else None)
        present = [v for v in values if v is not None]
        self.last_value = values[-1] if values else None
        compare = COMPARISONS[self.comparison]
        breaching = sum(1 for v in present if compare(v, self.threshold))
        missing = len(values) - len(present)
        needed = self.datapoints_to_alarm or self.evaluation_periods
        if self.treat_missing_data == "breaching":
            breaching += missing
        elif self.treat_missing_data == "ignore" and not present:
            return self.state
        elif self.treat_missing_data == "missing" and not present:
            self.state = INSUFFICIENT_DATA
            return self.state
        self.state = ALARM if breaching >= needed else OK
        return self.state
