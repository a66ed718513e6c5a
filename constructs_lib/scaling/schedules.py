"""Application Auto Scaling's schedule expressions, checked without the CDK.

``cron(min hour day-of-month month day-of-week year)`` (six fields, one of the day fields
``?``), ``rate(N unit)`` or ``at(yyyy-mm-ddThh:mm:ss)``, as "Scheduled scaling for Application
Auto Scaling" defines them. Scheduled actions (``settings.ScheduledCapacity``) and batch
transform schedules are checked here; the simulator evaluates the same expressions
(``summarizer/simulator/schedules.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from constructs_lib._validation import is_token

RATE = re.compile(r"^rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)$")
AT = re.compile(r"^at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)$")
CRON = re.compile(r"^cron\((.*)\)$")

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def value(self, token: str) -> int | None:
        """The number ``token`` stands for, or None when it is not a valid value."""
        if token.isdigit():
            number = int(token)
            return number if self.low <= number <= self.high else None
        upper = token.upper()
        if upper in self.names:
            return self.names.index(upper) + self.low
        return None


CRON_FIELDS = (
    _CronField("minutes", 0, 59),
    _CronField("hours", 0, 23),
    _CronField("day-of-month", 1, 31),
    _CronField("month", 1, 12, MONTHS),
    _CronField("day-of-week", 1, 7, WEEKDAYS),
    _CronField("year", 1970, 2199),
)
DAY_OF_MONTH, DAY_OF_WEEK = 2, 4


def schedule_expression_problem(expression: Any) -> str | None:
    """What is wrong with an Application Auto Scaling schedule expression, or None."""
    if not isinstance(expression, str):
        return "must be a cron(...), rate(...) or at(...) expression"
    if is_token(expression):
        return None
    if expression.startswith("rate("):
        match = RATE.match(expression)
        if not match or int(match.group(1)) < 1:
            return (
                "rate expressions look like 'rate(N unit)' with N >= 1 and unit minute(s), "
                "hour(s) or day(s)"
            )
        return None
    if expression.startswith("at("):
        match = AT.match(expression)
        if not match or not _is_datetime(match.group(1)):
            return "at expressions look like 'at(yyyy-mm-ddThh:mm:ss)' with a real date and time"
        return None
    match = CRON.match(expression)
    if match:
        return _cron_problem(match.group(1))
    return "must be a cron(...), rate(...) or at(...) expression"


def _is_datetime(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _cron_problem(body: str) -> str | None:
    fields = body.split(" ")
    if any(not f for f in fields):
        return "cron fields must be separated by exactly one space, with none before or after"
    if len(fields) != len(CRON_FIELDS):
        return (
            "cron expressions need 6 space-separated fields: minutes hours day-of-month month "
            f"day-of-week year (found {len(fields)})"
        )
    for index, (spec, text) in enumerate(zip(CRON_FIELDS, fields, strict=True)):
        if not _cron_field_ok(index, spec, text):
            return f"cron {spec.name} field {text!r} is not valid"
    if (fields[DAY_OF_MONTH] == "?") == (fields[DAY_OF_WEEK] == "?"):
        return "cron expressions need '?' in exactly one of day-of-month and day-of-week"
    return None


def _cron_field_ok(index: int, spec: _CronField, text: str) -> bool:
    if text == "?":
        return index in (DAY_OF_MONTH, DAY_OF_WEEK)
    return all(_cron_item_ok(index, spec, item) for item in text.split(","))


def _cron_item_ok(index: int, spec: _CronField, item: str) -> bool:
    upper = item.upper()
    if index == DAY_OF_MONTH and re.fullmatch(r"L|LW|[0-9]{1,2}W", upper):
        return upper in ("L", "LW") or spec.value(upper[:-1]) is not None
    if index == DAY_OF_WEEK:
        if upper == "L":
            return True
        if upper.endswith("L") and spec.value(upper[:-1]) is not None:
            return True
        if "#" in upper:
            day, _, nth = upper.partition("#")
            return spec.value(day) is not None and nth in ("1", "2", "3", "4", "5")
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    start, dash, end = base.partition("-")
    if spec.value(start) is None:
        return False
    return not dash or spec.value(end) is not None
