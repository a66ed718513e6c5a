"""Arrivals (a CSV trace or generators) and the data path's grouping of documents into requests.

Times are seconds from the start of the simulation. Generators take a seed and use their own
``random.Random``, so a trace is the same for the same arguments on every machine.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from constructs_lib.data_path.settings import DataPathSettings
from summarizer.simulator.errors import SimulationError

# A trace is held in memory; beyond this a simulation stops being quick to look at.
MAX_DOCUMENTS = 1_000_000
MAX_TRACE_SECONDS = 31 * 86_400


@dataclass(frozen=True)
class Document:
    """One uploaded document: when it arrived and its size in bytes (None: unknown)."""

    arrival: float
    size_bytes: int | None = None


@dataclass(frozen=True)
class Request:
    """What the dispatcher sends to the endpoint: documents grouped into one invocation."""

    dispatched: float
    documents: tuple[Document, ...]
    windows: int


# --- generators ----------------------------------------------------------------------------------


def burst(count: int, *, at_seconds: float = 0.0) -> list[Document]:
    """``count`` documents uploaded at the same moment (the article's 10,000-request burst)."""
    _check_count("burst", count)
    return [Document(at_seconds)] * count


def trickle(*, every_minutes: float, count: int) -> list[Document]:
    """One document every ``every_minutes`` minutes, ``count`` times, starting at 0."""
    _check_count("trickle count", count)
    _check_positive("trickle every_minutes", every_minutes, maximum=1440)
    return [Document(i * every_minutes * 60.0) for i in range(count)]


def poisson(*, per_minute: float, minutes: float, seed: int) -> list[Document]:
    """A Poisson process of ``per_minute`` documents a minute for ``minutes`` minutes."""
    _check_positive("poisson per_minute", per_minute, maximum=100_000)
    _check_positive("poisson minutes", minutes, maximum=MAX_TRACE_SECONDS / 60)
    _check_expected("poisson", per_minute * minutes)
    rng = random.Random(seed)
    return [Document(t) for t in _arrival_times(rng, per_minute / 60.0, minutes * 60.0)]


def daily(*, peak_per_minute: float, days: float, seed: int) -> list[Document]:
    """A working-day pattern: Poisson arrivals whose rate follows a sine from 06:00 to 18:00
    (peak ``peak_per_minute`` at noon, none at night), for ``days`` days."""
    _check_positive("daily peak_per_minute", peak_per_minute, maximum=100_000)
    _check_positive("daily days", days, maximum=31)
    # The sine's mean over the 12 busy hours is 2/pi of its peak.
    _check_expected("daily", peak_per_minute * 720 * (2 / math.pi) * days)
    rng = random.Random(seed)
    # Thinning (Lewis and Shedler): candidates at the peak rate, kept with rate(t) / peak.
    return [
        Document(t)
        for t in _arrival_times(rng, peak_per_minute / 60.0, days * 86_400.0)
        if rng.random() < _working_day_share(t)
    ]


def _working_day_share(seconds: float) -> float:
    """The daily rate at ``seconds`` as a share of its peak: a sine from 06:00 to 18:00."""
    hour = (seconds % 86_400.0) / 3600.0
    return max(0.0, math.sin(math.pi * (hour - 6.0) / 12.0))


def _arrival_times(rng: random.Random, per_second: float, end: float) -> Iterator[float]:
    """The arrival times of a Poisson process of ``per_second`` from 0 until ``end`` seconds."""
    now = rng.expovariate(per_second)
    while now < end:
        yield now
        now += rng.expovariate(per_second)


def _check_count(name: str, count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_DOCUMENTS:
        raise SimulationError(
            "arrivals",
            [f"{name}: must be a whole number from 1 to {MAX_DOCUMENTS} (got {count!r})"],
        )


def _check_positive(name: str, value: float, *, maximum: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 < value <= maximum:
        raise SimulationError(
            "arrivals",
            [f"{name}: must be a number above 0 and at most {maximum:g} (got {value!r})"],
        )


def _check_expected(name: str, expected: float) -> None:
    if expected > MAX_DOCUMENTS:
        raise SimulationError(
            "arrivals",
            [
                f"{name}: would generate about {expected:.0f} documents, more than the "
                f"{MAX_DOCUMENTS} a simulation holds (lower the rate or the duration)"
            ],
        )


# --- CSV traces ----------------------------------------------------------------------------------


def read_trace(path: Path | str) -> list[Document]:
    """Documents from a CSV file with a header ``timestamp`` and optionally ``size_bytes``.

    ``timestamp`` is either seconds (from any origin) or an ISO 8601 time with its offset
    (``2026-12-01T08:00:00Z``); times are taken relative to the earliest one. Rows need not be
    sorted. Raises ``SimulationError`` naming the file and the bad lines (at most 10).
    """
    source = Path(path)
    subject = f"trace {source}"
    try:
        with source.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise SimulationError(subject, [f"cannot be read ({error.strerror or error})"]) from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise SimulationError(subject, [f"is not a UTF-8 CSV file ({error})"]) from None
    if not rows:
        raise SimulationError(subject, ["is empty: expected a header 'timestamp[,size_bytes]'"])
    header = [cell.strip().lower() for cell in rows[0]]
    if header not in (["timestamp"], ["timestamp", "size_bytes"]):
        raise SimulationError(
            subject,
            [f"line 1: header must be 'timestamp' or 'timestamp,size_bytes' (got {rows[0]!r})"],
        )
    problems: list[str] = []
    times: list[float] = []
    sizes: list[int | None] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: expected {len(header)} column(s) (got {row!r})")
            continue
        stamp = _timestamp(row[0].strip())
        if stamp is None:
            problems.append(
                f"line {line}: timestamp must be seconds or an ISO 8601 time with an offset "
                f"such as 2026-12-01T08:00:00Z (got {row[0]!r})"
            )
        size: int | None = None
        if len(row) == 2 and row[1].strip():
            text = row[1].strip()
            size = int(text) if text.isdigit() else None
            if size is None or not 1 <= size <= 1_000_000_000:
                problems.append(
                    f"line {line}: size_bytes must be a whole number from 1 to 1000000000 "
                    f"(got {row[1]!r})"
                )
        if stamp is not None:
            times.append(stamp)
            sizes.append(size)
        if len(problems) >= 10:
            problems.append("(stopped after 10 problems)")
            break
    if not problems and not times:
        problems.append("has a header but no rows")
    if len(times) > MAX_DOCUMENTS:
        problems.append(f"has {len(times)} rows, more than the {MAX_DOCUMENTS} a simulation holds")
    if times and not problems and max(times) - min(times) > MAX_TRACE_SECONDS:
        problems.append(
            f"spans {(max(times) - min(times)) / 86_400:.1f} days, more than the 31 a simulation "
            "covers"
        )
    if problems:
        raise SimulationError(subject, problems)
    origin = min(times)
    documents = [Document(t - origin, s) for t, s in zip(times, sizes, strict=True)]
    return sorted(documents, key=lambda d: d.arrival)


def _timestamp(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value):
        return value
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


# --- the data path's grouping --------------------------------------------------------------------


def group_requests(
    documents: Iterable[Document],
    settings: DataPathSettings,
    windows_of: Callable[[int | None], int],
) -> list[Request]:
    """Requests as the dispatcher sends them (``constructs_lib/data_path``).

    A group closes when it holds ``max_documents_per_request`` documents, when the next document
    would take it past ``max_request_bytes``, or ``batching_window_seconds`` after its first
    document (the SQS event source's batching window). A document of ``large_document_bytes`` or
    more goes alone. With the data path disabled every document is its own request, as when
    clients call ``InvokeEndpointAsync`` directly (the source article's setup).
    """
    ordered = sorted(documents, key=lambda d: d.arrival)
    if not settings.enabled:
        return [Request(d.arrival, (d,), windows_of(d.size_bytes)) for d in ordered]
    requests: list[Request] = []
    group: list[Document] = []
    group_bytes = 0
    window = float(settings.batching_window_seconds)

    def close(at: float) -> None:
        nonlocal group, group_bytes
        if group:
            windows = sum(windows_of(d.size_bytes) for d in group)
            requests.append(Request(at, tuple(group), windows))
        group, group_bytes = [], 0

    for document in ordered:
        if group and document.arrival >= group[0].arrival + window:
            close(group[0].arrival + window)
        size = document.size_bytes or 0
        if size >= settings.large_document_bytes:
            requests.append(Request(document.arrival, (document,), windows_of(size)))
            continue
        if group and group_bytes + size > settings.max_request_bytes:
            close(document.arrival)
        group.append(document)
        group_bytes += size
        if len(group) >= settings.max_documents_per_request:
            close(document.arrival)
    if group:
        close(group[0].arrival + window)
    requests.sort(key=lambda r: r.dispatched)
    return requests


def documents_of(requests: Sequence[Request]) -> int:
    """How many documents the requests carry."""
    return sum(len(r.documents) for r in requests)
