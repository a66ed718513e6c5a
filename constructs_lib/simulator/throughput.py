"""What one instance serves: articles per second as a function of the batch (articles per request).

The model server runs one worker per GPU and hands it one request at a time (the toolkit reads
only ``data[0]``), so concurrent invocations on an instance queue for that worker and run one
after the other. Throughput therefore grows with the articles of one request, which the handler
batches, not with ``MaxConcurrentInvocationsPerInstance``. The table is JSON so that the planner,
the simulator and a user's own measurement share one format; the default is an estimate.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SimulationError

DEFAULT_TABLE_PATH = Path(__file__).with_name("throughput_ml.g5.xlarge.json")
KINDS = ("estimate", "measured")


@dataclass(frozen=True, kw_only=True)
class ThroughputTable:
    """Articles per second of one instance at given batch sizes (linear in between).

    Beyond the largest batch the rate stays at that batch's: the handler splits larger requests
    into batches it can hold. ``reference_document_bytes`` is the size of one model window;
    ``request_overhead_seconds`` is paid once per request.
    """

    instance_type: str
    kind: str
    points: tuple[tuple[int, float], ...]
    reference_document_bytes: int
    request_overhead_seconds: float
    source: str = ""
    assumptions: tuple[str, ...] = ()

    def articles_per_second(self, batch: float) -> float:
        """Rate at ``batch`` windows per request (at least 1), interpolated linearly."""
        batch = max(1.0, batch)
        (first_batch, first_rate), *_ = self.points
        if batch <= first_batch:
            return first_rate * batch / first_batch
        for (b0, r0), (b1, r1) in zip(self.points, self.points[1:], strict=False):
            if batch <= b1:
                return r0 + (r1 - r0) * (batch - b0) / (b1 - b0)
        return self.points[-1][1]

    def service_seconds(self, windows: int) -> float:
        """Time the worker spends on one request of ``windows`` model windows."""
        return self.request_overhead_seconds + windows / self.articles_per_second(windows)

    def windows(self, size_bytes: int | None) -> int:
        """Model windows a document costs: one per ``reference_document_bytes`` (at least 1)."""
        if size_bytes is None:
            return 1
        return max(1, math.ceil(size_bytes / self.reference_document_bytes))

    def label(self) -> str:
        """One line for reports: what the figures rest on."""
        return f"{self.instance_type} {self.kind.upper()} throughput table"


def load_table(path: Path | str | None = None) -> ThroughputTable:
    """Read a throughput table (the default estimate without ``path``).

    Raises ``SimulationError`` naming the file and every bad field.
    """
    source = Path(path) if path is not None else DEFAULT_TABLE_PATH
    subject = f"throughput table {source}"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise SimulationError(subject, [f"cannot be read ({error.strerror or error})"]) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise SimulationError(subject, [f"is not valid JSON ({error})"]) from None
    return table_from_mapping(data, subject)


def table_from_mapping(data: Any, subject: str = "throughput table") -> ThroughputTable:
    """Build and check a table from its JSON form; every problem is reported at once."""
    if not isinstance(data, dict):
        raise SimulationError(subject, [f"must be a JSON object (got {type(data).__name__})"])
    problems: list[str] = []
    known = {
        "instance_type",
        "model",
        "kind",
        "source",
        "assumptions",
        "reference_document_bytes",
        "request_overhead_seconds",
        "points",
        "measurement",
    }
    for key in sorted(set(data) - known):
        problems.append(f"{key}: unknown key (known: {', '.join(sorted(known))})")
    instance_type = data.get("instance_type")
    if not isinstance(instance_type, str) or not instance_type.startswith("ml."):
        problems.append(
            f"instance_type: must be an instance type like 'ml.g5.xlarge' (got {instance_type!r})"
        )
    kind = data.get("kind")
    if kind not in KINDS:
        problems.append(f"kind: must be one of {', '.join(KINDS)} (got {kind!r})")
    reference = data.get("reference_document_bytes", 3000)
    if isinstance(reference, bool) or not isinstance(reference, int) or reference < 1:
        problems.append(
            f"reference_document_bytes: must be a whole number of at least 1 (got {reference!r})"
        )
    overhead = data.get("request_overhead_seconds", 0.0)
    if not _finite(overhead) or overhead < 0 or overhead > 3600:
        problems.append(
            f"request_overhead_seconds: must be a number from 0 to 3600 (got {overhead!r})"
        )
    points = _points(data.get("points"), problems)
    assumptions = data.get("assumptions", [])
    if not isinstance(assumptions, list) or not all(isinstance(a, str) for a in assumptions):
        problems.append(f"assumptions: must be a list of strings (got {assumptions!r})")
        assumptions = []
    # What bench/bench_gpu.py measured (GPU, versions, every run); kept for readers, not used.
    measurement = data.get("measurement", {})
    if not isinstance(measurement, dict):
        problems.append(f"measurement: must be an object (got {type(measurement).__name__})")
    source_text = data.get("source", "")
    if not isinstance(source_text, str):
        problems.append(f"source: must be a string (got {source_text!r})")
        source_text = ""
    if problems:
        raise SimulationError(subject, problems)
    return ThroughputTable(
        instance_type=str(instance_type),
        kind=str(kind),
        points=points,
        reference_document_bytes=reference,
        request_overhead_seconds=float(overhead),
        source=source_text,
        assumptions=tuple(assumptions),
    )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _points(raw: Any, problems: list[str]) -> tuple[tuple[int, float], ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(
            'points: must be a non-empty list of {"batch": n, "articles_per_second": r} '
            f"(got {raw!r})"
        )
        return ()
    points: list[tuple[int, float]] = []
    for index, point in enumerate(raw):
        field = f"points[{index}]"
        if not isinstance(point, dict) or set(point) != {"batch", "articles_per_second"}:
            problems.append(
                f'{field}: must be {{"batch": n, "articles_per_second": r}} (got {point!r})'
            )
            continue
        batch, rate = point["batch"], point["articles_per_second"]
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 100_000:
            problems.append(
                f"{field}.batch: must be a whole number from 1 to 100000 (got {batch!r})"
            )
            continue
        if not _finite(rate) or not 0 < rate <= 1_000_000:
            problems.append(
                f"{field}.articles_per_second: must be a number above 0 and at most 1000000 "
                f"(got {rate!r})"
            )
            continue
        if points and batch <= points[-1][0]:
            problems.append(
                f"{field}.batch: batches must be in increasing order (got {batch!r} after "
                f"{points[-1][0]!r})"
            )
            continue
        points.append((batch, float(rate)))
    return tuple(points)
