"""When Application Auto Scaling would run a scheduled action, minute by minute.

``constructs_lib.scaling.schedules.schedule_expression_problem`` already checked the
expression; this module only answers "does it fire in this minute". AWS cron fields: minutes
hours day-of-month month day-of-week (1-7 = SUN-SAT) year.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from constructs_lib.scaling.schedules import MONTHS, WEEKDAYS
from constructs_lib.scaling.settings import ScheduledCapacity
from summarizer.simulator.errors import SimulationError

_RATE = re.compile(r"^rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((.*)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


@dataclass(frozen=True)
class Schedule:
    """A parsed scheduled action that can say whether it fires in a given minute."""

    action: ScheduledCapacity
    start: datetime

    def fires(self, minute: int) -> bool:
        """True when the action runs in simulated minute ``minute`` (0 = the start)."""
        expression = self.action.schedule
        when = self.start + timedelta(minutes=minute)
        rate = _RATE.match(expression)
        if rate:
            unit = rate.group(2).rstrip("s")
            every = int(rate.group(1)) * _UNIT_MINUTES[unit]
            return minute > 0 and minute % every == 0
        local = when.astimezone(zoneinfo.ZoneInfo(self.action.timezone or "UTC"))
        at = _AT.match(expression)
        if at:
            # The simulation steps in minutes: an action at 09:00:30 runs in the minute 09:00.
            target = datetime.strptime(at.group(1), "%Y-%m-%dT%H:%M:%S").replace(second=0)
            return local.replace(tzinfo=None, second=0, microsecond=0) == target
        cron = _CRON.match(expression)
        assert cron is not None  # checked by ScalingSettings.problems()
        return _cron_matches(cron.group(1).split(" "), local)


def schedules_of(actions: tuple[ScheduledCapacity, ...], start: datetime) -> list[Schedule]:
    """Schedules for ``actions``; refuses cron items the simulator cannot evaluate."""
    problems = []
    for index, action in enumerate(actions):
        cron = _CRON.match(action.schedule)
        if cron and "W" in cron.group(1).split(" ")[2].upper():
            problems.append(
                f"scheduled_actions[{index}].schedule: the simulator does not evaluate 'W' "
                f"(nearest weekday) day-of-month items (got {action.schedule!r})"
            )
    if problems:
        raise SimulationError("scaling settings", problems)
    return [Schedule(action, start.astimezone(UTC)) for action in actions]


def _cron_matches(fields: list[str], when: datetime) -> bool:
    minute, hour, day, month, weekday, year = fields
    aws_weekday = (when.weekday() + 1) % 7 + 1  # Python: Monday 0; AWS: Sunday 1
    last_day = calendar.monthrange(when.year, when.month)[1]
    return (
        _field(minute, when.minute, 0, 59)
        and _field(hour, when.hour, 0, 23)
        and _field(month, when.month, 1, 12, MONTHS)
        and _field(year, when.year, 1970, 2199)
        and _day_of_month(day, when.day, last_day)
        and _day_of_week(weekday, aws_weekday, when.day, last_day)
    )


def _number(token: str, low: int, names: tuple[str, ...]) -> int:
    upper = token.upper()
    return names.index(upper) + low if upper in names else int(token)


def _field(text: str, value: int, low: int, high: int, names: tuple[str, ...] = ()) -> bool:
    if text == "?":
        return True
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = low, high
        else:
            start, dash, end = base.partition("-")
            first = _number(start, low, names)
            last = _number(end, low, names) if dash else (high if step_text else first)
        if first <= value <= last and (value - first) % step == 0:
            return True
    return False


def _day_of_month(text: str, day: int, last_day: int) -> bool:
    upper = text.upper()
    if upper in ("L", "LW"):
        return day == last_day
    return _field(text, day, 1, 31)


def _day_of_week(text: str, weekday: int, day: int, last_day: int) -> bool:
    upper = text.upper()
    if upper == "L":
        return weekday == 7
    if upper.endswith("L") and len(upper) > 1:
        return weekday == _number(upper[:-1], 1, WEEKDAYS) and day + 7 > last_day
    if "#" in upper:
        name, _, nth = upper.partition("#")
        return weekday == _number(name, 1, WEEKDAYS) and (day - 1) // 7 + 1 == int(nth)
    return _field(text, weekday, 1, 7, WEEKDAYS)
