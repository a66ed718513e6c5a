"""Figures of a simulation run, the side-by-side table, the JSON summary and the plot."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .engine import PRICE_AS_OF, Options, Run, percentile
from .errors import SimulationError


def latencies(run: Run) -> list[float]:
    """Seconds from upload to summary for every document (``inf``: never finished)."""
    values: list[float] = []
    for request, done in zip(run.requests, run.completed, strict=True):
        for document in request.documents:
            values.append(math.inf if done is None else done - document.arrival)
    return values


def summarize(run: Run, options: Options) -> dict[str, Any]:
    """The figures of one run as plain JSON values (times in minutes, rounded)."""
    waits = latencies(run)
    finished = [w for w in waits if not math.isinf(w)]
    arrivals = [d.arrival for r in run.requests for d in r.documents]
    completions = [c for c in run.completed if c is not None]
    expired = sum(len(r.documents) for r, e in zip(run.requests, run.expired, strict=True) if e)
    first = min(completions) - min(arrivals) if completions else None
    instance_minutes = run.instance_seconds / 60.0
    variant = run.variant
    return {
        "variant": variant.name,
        "documents": run.documents,
        "requests": len(run.requests),
        "finished": len(finished),
        "expired": expired,
        "time_to_first_result_minutes": _minutes(first),
        "p50_minutes": _minutes(percentile(waits, 0.50)),
        "p95_minutes": _minutes(percentile(waits, 0.95)),
        "p99_minutes": _minutes(percentile(waits, 0.99)),
        "largest_backlog_requests": max(run.backlog, default=0),
        "largest_backlog_documents": max(run.backlog_documents, default=0),
        "max_instances": max(run.in_service, default=0),
        "instance_minutes": round(instance_minutes, 1),
        "cost_usd": round(instance_minutes / 60.0 * options.price_per_hour, 2),
        "back_at_zero_minutes": run.back_at_zero_minute,
        "simulated_minutes": run.minutes,
        "settings": {
            "min_capacity": variant.scaling.min_capacity,
            "max_capacity": variant.scaling.max_capacity,
            "target_backlog_per_instance": variant.scaling.target_backlog_per_instance,
            "spike_enabled": variant.scaling.spike_enabled,
            "wake_up": variant.wake_up,
            "max_documents_per_request": (
                variant.data_path.max_documents_per_request if variant.data_path.enabled else 1
            ),
            "cold_start": variant.cold_start.kind,
        },
    }


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 1)


def assumptions(options: Options) -> dict[str, Any]:
    """What every figure rests on, for the JSON summary and the docs."""
    table = options.table
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
        "seed": options.seed,
        "start": options.start.isoformat(),
    }


COLUMNS = (
    ("variant", "variant", "{}"),
    ("first result", "time_to_first_result_minutes", "{} min"),
    ("p50", "p50_minutes", "{} min"),
    ("p95", "p95_minutes", "{} min"),
    ("p99", "p99_minutes", "{} min"),
    ("max backlog", "largest_backlog_requests", "{} req"),
    ("max inst.", "max_instances", "{}"),
    ("inst.-min", "instance_minutes", "{}"),
    ("cost", "cost_usd", "${:.2f}"),
    ("at zero", "back_at_zero_minutes", "min {}"),
    ("expired", "expired", "{}"),
)


def table(summaries: Sequence[dict[str, Any]]) -> str:
    """The side-by-side comparison as a fixed-width text table (``never`` for no value)."""
    rows = [[title for title, _, _ in COLUMNS]]
    for summary in summaries:
        rows.append(
            [
                "never" if summary[key] is None else fmt.format(summary[key])
                for _, key, fmt in COLUMNS
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(summaries: Sequence[dict[str, Any]]) -> str:
    """The comparison as a Markdown table, as docs/scaling.md quotes it (a test checks it)."""
    header = "| " + " | ".join(title for title, _, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    rows = [
        "| "
        + " | ".join(
            "never" if summary[key] is None else fmt.format(summary[key]) for _, key, fmt in COLUMNS
        )
        + " |"
        for summary in summaries
    ]
    return "\n".join([header, rule, *rows])


def write_json(
    path: Path, scenario: str, summaries: list[dict[str, Any]], options: Options
) -> None:
    """Write the scenario's summaries and assumptions (stable key order, for checked-in files)."""
    document = {"scenario": scenario, "assumptions": assumptions(options), "variants": summaries}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def plot(path: Path, title: str, runs: Sequence[Run]) -> None:
    """Backlog, desired and in-service instances, and completions over time, one column per run."""
    try:
        import matplotlib
    except ImportError:
        raise SimulationError(
            "plot", ["matplotlib is not installed (requirements-dev.txt pins it): pip install it"]
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        3, len(runs), figsize=(5.5 * len(runs), 7.5), sharex="col", squeeze=False
    )
    for column, run in enumerate(runs):
        minutes = list(range(1, run.minutes + 1))
        backlog, instances, done = axes[0][column], axes[1][column], axes[2][column]
        backlog.plot(minutes, run.backlog_documents, color="tab:red")
        backlog.set_title(run.variant.name, fontsize=10)
        backlog.set_ylabel("backlog (documents)")
        instances.step(minutes, run.desired, where="post", label="desired", color="tab:blue")
        instances.step(minutes, run.in_service, where="post", label="in service", color="tab:green")
        instances.set_ylabel("instances")
        instances.legend(loc="upper right", fontsize=8)
        done.fill_between(minutes, run.completions, step="post", color="tab:purple")
        done.set_ylabel("summaries per minute")
        done.set_xlabel("minutes since the first upload")
    figure.suptitle(f"{title} (simulation of documented behaviour, not a measurement)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata keeps the checked-in PNG identical across regenerations.
    figure.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(figure)
