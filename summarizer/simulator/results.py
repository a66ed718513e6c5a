"""Figures of simulation runs: one run's summary, the median and spread over seeds, the
side-by-side table, the JSON summary and the plot."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from summarizer.simulator.engine import (
    FROM_ZERO_RULES,
    PRICE_AS_OF,
    Options,
    Run,
    percentile,
    seeds_of,
)
from summarizer.simulator.policies import (
    TARGET_TRACKING_IN_DATAPOINTS,
    TARGET_TRACKING_IN_FRACTION,
    TARGET_TRACKING_OUT_DATAPOINTS,
)

# The figures that vary with the seed: every one is reported as median, min and max.
FIGURES = (
    "time_to_first_result_minutes",
    "p50_minutes",
    "p95_minutes",
    "p99_minutes",
    "last_result_minutes",
    "largest_backlog_requests",
    "largest_backlog_documents",
    "max_instances",
    "instance_minutes",
    "cost_usd",
    "back_at_zero_minutes",
    "finished",
    "expired",
)


def latencies(run: Run) -> list[float]:
    """Seconds from upload to summary for every document (``inf``: never finished)."""
    values: list[float] = []
    for request, done in zip(run.requests, run.completed, strict=True):
        if done is None:
            values += [math.inf] * len(request.documents)
        else:
            values += [done - document.arrival for document in request.documents]
    return values


def summarize(run: Run, options: Options) -> dict[str, Any]:
    """The figures of one run as plain JSON values (times in minutes, rounded)."""
    waits = sorted(latencies(run))
    finished = [w for w in waits if not math.isinf(w)]
    completions = [c for c in run.completed if c is not None]
    expired = sum(len(r.documents) for r, e in zip(run.requests, run.expired, strict=True) if e)
    # Requests are in dispatch order and each holds its documents in arrival order.
    first_arrival = min(r.documents[0].arrival for r in run.requests)
    first = min(completions) - first_arrival if completions else None
    # The drain: from the first upload to the last summary (never, if a document never got one).
    last = max(completions) - first_arrival if completions and not expired else None
    instance_minutes = run.instance_seconds / 60.0
    variant = run.variant
    return {
        "variant": variant.name,
        "seed": run.seed,
        "documents": run.documents,
        "requests": len(run.requests),
        "finished": len(finished),
        "expired": expired,
        "time_to_first_result_minutes": _minutes(first),
        "p50_minutes": _minutes(percentile(waits, 0.50, ordered=True)),
        "p95_minutes": _minutes(percentile(waits, 0.95, ordered=True)),
        "p99_minutes": _minutes(percentile(waits, 0.99, ordered=True)),
        "last_result_minutes": _minutes(last),
        "largest_backlog_requests": max(run.backlog, default=0),
        "largest_backlog_documents": max(run.backlog_documents, default=0),
        "max_instances": max(run.in_service, default=0),
        "instance_minutes": round(instance_minutes, 1),
        "cost_usd": round(instance_minutes / 60.0 * options.price_per_hour, 2),
        "back_at_zero_minutes": run.back_at_zero_minute,
        "simulated_minutes": run.minutes,
        "settings": settings_of(run),
    }


def settings_of(run: Run) -> dict[str, Any]:
    """What was simulated: the variant's scaling, grouping, batch size and cold start."""
    variant = run.variant
    return {
        "min_capacity": variant.scaling.min_capacity,
        "max_capacity": variant.scaling.max_capacity,
        "target_backlog_per_instance": variant.scaling.target_backlog_per_instance,
        "spike_enabled": variant.scaling.spike_enabled,
        "wake_up": variant.wake_up,
        "max_documents_per_request": (
            variant.data_path.max_documents_per_request if variant.data_path.enabled else 1
        ),
        "batch_size": variant.batch_size,
        "cold_start": variant.cold_start.kind,
        "cold_start_minutes": [variant.cold_start.low_minutes, variant.cold_start.high_minutes],
        "cold_start_source": variant.cold_start.source,
    }


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 1)


def _spread(values: Sequence[float | None], digits: int) -> dict[str, float | None]:
    # "never" (None) sorts after every number: a median that lands on it is "never" too.
    numbers = [math.inf if v is None else float(v) for v in values]
    whole = all(isinstance(v, int) for v in values if v is not None)

    def plain(value: float) -> float | None:
        if math.isinf(value):
            return None
        rounded = round(value, digits)
        return int(rounded) if whole and rounded.is_integer() else rounded

    return {
        "median": plain(statistics.median(numbers)),
        "min": plain(min(numbers)),
        "max": plain(max(numbers)),
    }


_DIGITS = {"cost_usd": 2}


def aggregate(runs: Sequence[Run], options: Options) -> dict[str, Any]:
    """One variant over seeds: the median and min-max of every figure, the per-seed values and
    the scaling activities of the first seed (as JSON values)."""
    summaries = [summarize(run, options) for run in runs]
    first = summaries[0]
    figures = {key: _spread([s[key] for s in summaries], _DIGITS.get(key, 1)) for key in FIGURES}
    return {
        "variant": first["variant"],
        "documents": first["documents"],
        "requests": first["requests"],
        "seeds": [s["seed"] for s in summaries],
        "figures": figures,
        "per_seed": {key: [s[key] for s in summaries] for key in FIGURES},
        "activities": [
            {
                "start_minutes": round(a.time / 60.0, 1),
                "completes_minutes": round(a.completes / 60.0, 1),
                "cause": a.cause,
                "before": a.before,
                "after": a.after,
            }
            for a in runs[0].activities
        ],
        "settings": first["settings"],
    }


def assumptions(options: Options) -> dict[str, Any]:
    """What every figure rests on, for the JSON summary and the docs."""
    table = options.table
    seeds = seeds_of(options)
    return {
        "nature": "simulation of documented behaviour, not a measurement of AWS",
        "throughput_table": {
            "instance_type": table.instance_type,
            "kind": table.kind,
            "points": [list(p) for p in table.points],
            "reference_document_bytes": table.reference_document_bytes,
            "request_overhead_seconds": table.request_overhead_seconds,
            "assumptions": list(table.assumptions),
        },
        "price_per_hour_usd": options.price_per_hour,
        "price_as_of": PRICE_AS_OF,
        "publication_delay_seconds": options.publication_delay_seconds,
        "target_tracking_alarms": {
            "scale_out_datapoints": TARGET_TRACKING_OUT_DATAPOINTS,
            "scale_in_datapoints": TARGET_TRACKING_IN_DATAPOINTS,
            "scale_in_fraction_of_target": TARGET_TRACKING_IN_FRACTION,
        },
        "from_zero": {"rule": options.from_zero, "means": FROM_ZERO_RULES[options.from_zero]},
        "scaling_activities": (
            "one at a time: none starts while the endpoint is updating; a scale-out completes "
            "when its instances are in service, a scale-in at once; cooldowns count from "
            "completion"
        ),
        "batch": (
            "a request runs as generate calls of at most settings.batch_size windows (the "
            "endpoint's SUMMARIZER_BATCH_SIZE); table points above it are not used"
        ),
        "seeds": {"first": seeds.start, "count": len(seeds)},
        "spread": "median [min-max] over the seeds; the seed draws each instance's cold start",
        "start": options.start.isoformat(),
    }


# (title, figure, format of one value)
COLUMNS = (
    ("first result (min)", "time_to_first_result_minutes", "{:g}"),
    ("p95 (min)", "p95_minutes", "{:g}"),
    ("drain (min)", "last_result_minutes", "{:g}"),
    ("max backlog (req)", "largest_backlog_requests", "{:g}"),
    ("max inst.", "max_instances", "{:g}"),
    ("inst.-min", "instance_minutes", "{:g}"),
    ("cost ($)", "cost_usd", "{:.2f}"),
    ("at zero (min)", "back_at_zero_minutes", "{:g}"),
    ("expired", "expired", "{:g}"),
)


def cell(spread: dict[str, Any], fmt: str) -> str:
    """``21.5 [20.8-22.6]``: the median and the range, or one value when every seed agreed."""

    def one(value: Any) -> str:
        return "never" if value is None else fmt.format(value)

    median, low, high = spread["median"], spread["min"], spread["max"]
    if low == high:
        return one(median)
    return f"{one(median)} [{one(low)}-{one(high)}]"


def _rows(aggregates: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = [["variant", *(title for title, _, _ in COLUMNS)]]
    for summary in aggregates:
        figures = summary["figures"]
        rows.append([summary["variant"], *(cell(figures[key], f) for _, key, f in COLUMNS)])
    return rows


def table(aggregates: Sequence[dict[str, Any]]) -> str:
    """The side-by-side comparison as a fixed-width text table (``never`` for no value)."""
    rows = _rows(aggregates)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(aggregates: Sequence[dict[str, Any]]) -> str:
    """The comparison as a Markdown table, as docs/scaling.md quotes it (a test checks it)."""
    header, *body = _rows(aggregates)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def spread_note(options: Options) -> str:
    """The line that says what a figure with a range means."""
    seeds = seeds_of(options)
    return (
        f"Figures: median [min-max] over {len(seeds)} seeds ({seeds.start}-{seeds[-1]}; each "
        "seed draws the instances' cold starts); one value: the same on every seed."
    )


def write_json(
    path: Path,
    scenario: str,
    aggregates: list[dict[str, Any]],
    options: Options,
    other_from_zero: dict[str, Any] | None = None,
) -> None:
    """Write the scenario's figures and assumptions (stable key order, for checked-in files)."""
    document: dict[str, Any] = {
        "scenario": scenario,
        "assumptions": assumptions(options),
        "variants": aggregates,
    }
    if other_from_zero is not None:
        document["other_from_zero"] = other_from_zero
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
