"""The capacity planner's command line: ``python -m summarizer.planner``.

Apart from ``capacity_planner`` (the model and the search) so each stays readable. Usage errors
print one message and exit with status 2; a search that finds nothing exits with 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from summarizer.planner.search import (
    DEFAULT_GROWTH_FACTOR,
    DEFAULT_PEAK_TRACE_MINUTES,
    DEFAULT_SEARCH_MAX_CAPACITY,
    PEAK_TRACE_MAX_DOCUMENTS,
    PEAK_TRACE_MIN_DOCUMENTS,
    SEARCH_TARGETS,
    PlanningError,
    plain_number,
    plan_capacity,
    search,
)
from summarizer.simulator import cli as sim_cli
from summarizer.simulator.engine import Options, Variant, simulate_seeds
from summarizer.simulator.errors import SimulationError
from summarizer.simulator.results import aggregate, spread_note, table
from summarizer.simulator.scenarios import ARTICLE
from summarizer.simulator.traffic import Document, poisson, trickle

_num = plain_number

RETIRED = {
    "--concurrency": (
        "no longer used: concurrent invocations queue for the model server's single worker "
        "per GPU, so they add no throughput; the planner reads throughput by batch from "
        "--throughput-table"
    ),
    "--seconds-per-article": (
        "no longer used: the time per article depends on the batch (articles per request); "
        "give your measured table with --throughput-table"
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m summarizer.planner",
        description=(
            "Suggest max_capacity, target_backlog_per_instance and the spike setting for the "
            "endpoint's scaling, by arithmetic from a peak (--peak-per-minute) or by simulation "
            "against a p95 goal (--p95-goal-minutes)."
        ),
    )
    parser.add_argument(
        "--peak-per-minute", type=sim_cli.number, help="documents arriving per minute at peak"
    )
    parser.add_argument(
        "--p95-goal-minutes",
        type=sim_cli.number,
        help="search for the cheapest settings whose simulated p95 time to summary meets this",
    )
    parser.add_argument(
        "--growth-factor",
        type=sim_cli.number,
        default=DEFAULT_GROWTH_FACTOR,
        help=f"headroom above the peak, > 1 (default {DEFAULT_GROWTH_FACTOR})",
    )
    parser.add_argument(
        "--max-wait-seconds",
        type=sim_cli.number,
        help="acceptable time a request waits in the queue before processing starts",
    )
    parser.add_argument(
        "--max-capacity-limit",
        type=sim_cli.whole,
        default=DEFAULT_SEARCH_MAX_CAPACITY,
        help=f"largest max_capacity searched (default {DEFAULT_SEARCH_MAX_CAPACITY})",
    )
    sim_cli.add_arrival_arguments(parser)
    sim_cli.add_model_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print the plan; 0 on success, 1 when no searched setting meets the goal, 2 on bad input."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    for argument in arguments:
        option = argument.partition("=")[0]
        if option in RETIRED:
            print(f"error: {option}: {RETIRED[option]}", file=sys.stderr)
            return 2
    args = _parser().parse_args(arguments)
    try:
        if args.peak_per_minute is None and args.p95_goal_minutes is None:
            raise PlanningError(
                ["give --peak-per-minute (sizing by arithmetic) or --p95-goal-minutes (search)"]
            )
        options = sim_cli.options_from(args)
        ours = sim_cli.ours_from(args)
        if args.p95_goal_minutes is not None:
            return _search_mode(args, options, ours)
        return _peak_mode(args, options, ours)
    except (PlanningError, SimulationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _documents(args: argparse.Namespace, default: Sequence[str]) -> tuple[str, list[Document]]:
    given = any(
        getattr(args, key) is not None
        for key in ("scenario", "burst", "trickle_minutes", "poisson", "daily", "trace")
    )
    if not given and args.peak_per_minute is not None:
        peak = args.peak_per_minute
        if peak * DEFAULT_PEAK_TRACE_MINUTES < PEAK_TRACE_MIN_DOCUMENTS:
            # An hour of a very quiet load may hold no document at all: space a few evenly.
            every = 1.0 / peak
            documents = trickle(every_minutes=every, count=PEAK_TRACE_MIN_DOCUMENTS)
            return f"one every {_num(every)} min x {PEAK_TRACE_MIN_DOCUMENTS}", documents
        # Keep the trace small enough to simulate in a moment at high peaks.
        minutes = min(DEFAULT_PEAK_TRACE_MINUTES, PEAK_TRACE_MAX_DOCUMENTS / peak)
        documents = poisson(per_minute=peak, minutes=minutes, seed=args.seed)
        return f"Poisson {_num(peak)}/min for {_num(minutes)} min", documents
    traces = sim_cli.arrivals_from(args, default=default)
    if len(traces) != 1:
        raise PlanningError(["give one trace to plan for (one --scenario)"])
    return traces[0]


def _peak_mode(args: argparse.Namespace, options: Options, ours: Variant) -> int:
    # One cold start for the arithmetic and the simulation: ours (--cold-start-minutes if given).
    plan = plan_capacity(
        peak_per_minute=args.peak_per_minute,
        growth_factor=args.growth_factor,
        max_wait_seconds=args.max_wait_seconds,
        cold_start_minutes=ours.cold_start.middle_minutes,
        table=options.table,
        data_path=ours.data_path,
        batch_size=ours.batch_size,
    )
    for line in plan.reasoning:
        print(f"- {line}")
    for line in plan.warnings:
        print(f"! {line}")
    suggested = dataclasses.replace(
        ours,
        name="suggested",
        scaling=dataclasses.replace(
            ours.scaling,
            max_capacity=max(plan.max_capacity, ours.scaling.min_capacity),
            target_backlog_per_instance=float(plan.target_backlog_per_instance),
            scheduled_actions=(),
        ),
    )
    name, documents = _documents(args, default=("burst",))
    _print_simulated(
        name, documents, [sim_cli.with_cold_start(args, ARTICLE), ours, suggested], options
    )
    print()
    print('Suggested "scaling" values for cdk.json:')
    print(json.dumps({"scaling": plan.scaling_settings()}, indent=2))
    return 0


def _search_mode(args: argparse.Namespace, options: Options, ours: Variant) -> int:
    name, documents = _documents(args, default=("burst",))
    result = search(
        documents,
        ours,
        options,
        p95_goal_minutes=args.p95_goal_minutes,
        max_capacity_limit=args.max_capacity_limit,
    )
    lowest = max(1, ours.scaling.min_capacity)
    delays = " and ".join(f"{d:g} s" for d in result.delays)
    print(
        f"Searched {len(result.candidates)} settings (max_capacity {lowest}-"
        f"{args.max_capacity_limit}, "
        f"target {', '.join(f'{t:g}' for t in SEARCH_TARGETS)} requests, spike off/on) on "
        f"{name} for p95 <= {_num(args.p95_goal_minutes)} min with nothing expired, on every "
        f"one of {options.seeds} seeds ({options.seed}-{options.seed + options.seeds - 1}) and "
        f"with a CloudWatch publication delay of {delays} (the delay is an assumption: doubled "
        "to check the recommendation does not depend on it)."
    )
    if result.best is None or result.best_summary is None:
        closest = min(
            (c for c in result.candidates if c["p95_minutes"] is not None),
            key=lambda c: c["p95_minutes"],
            default=None,
        )
        missed = (
            "none finished within the goal"
            if closest is None
            else f"closest: {closest['variant']}, p95 {closest['p95_minutes']} min at "
            f"{closest['decided_by']['delay_seconds']:g} s, seed {closest['decided_by']['seed']}"
        )
        print(
            f"No searched setting meets the goal on every seed ({missed}); raise "
            "--max-capacity-limit, relax the goal, or keep instances warm (min_capacity).",
            file=sys.stderr,
        )
        return 1
    recommended = dataclasses.replace(result.best, name="recommended")
    _print_simulated(
        name, documents, [sim_cli.with_cold_start(args, ARTICLE), ours, recommended], options
    )
    assert result.worst_run is not None
    delay, seed = result.worst_run
    print()
    print(
        f"Margin: the recommendation's worst p95 over {options.seeds} seeds x "
        f"{len(result.delays)} delays is {result.worst_p95:.2f} min (delay {delay:g} s, seed "
        f"{seed}): {result.margin:.2f} min under the goal of {_num(args.p95_goal_minutes)} min."
    )
    scaling = recommended.scaling
    print()
    print('Recommended "scaling" values for cdk.json:')
    values = {
        "max_capacity": scaling.max_capacity,
        "target_backlog_per_instance": scaling.target_backlog_per_instance,
        "spike_enabled": scaling.spike_enabled,
    }
    print(json.dumps({"scaling": values}, indent=2))
    return 0


def _print_simulated(
    name: str, documents: list[Document], variants: Sequence[Variant], options: Options
) -> None:
    summaries = [aggregate(simulate_seeds(documents, v, options), options) for v in variants]
    print()
    print(
        f"Simulated on {name} ({len(documents)} documents; {options.table.label()}; CloudWatch "
        f"delay {options.publication_delay_seconds:g} s):"
    )
    print(table(summaries))
    print(spread_note(options))
