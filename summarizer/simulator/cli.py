"""``python -m summarizer.simulator``: the side-by-side comparison on one or more traces.

Usage errors (bad options, traces, tables or settings) print one message and exit with status 2;
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from summarizer.simulator.engine import (
    COLD_STARTS,
    DEFAULT_FROM_ZERO,
    DEFAULT_PUBLICATION_DELAY_SECONDS,
    DEFAULT_SEEDS,
    FROM_ZERO_RULES,
    G5_XLARGE_PRICE_PER_HOUR_USD,
    HUB_COLD_START,
    MAX_COLD_START_MINUTES,
    MAX_SEEDS,
    ColdStart,
    Options,
    Variant,
    custom_cold_start,
    simulate_seeds,
)
from summarizer.simulator.environment import load_environment, parse_overrides
from summarizer.simulator.errors import SimulationError
from summarizer.simulator.results import aggregate, spread_note, table, write_json
from summarizer.simulator.scenarios import ARTICLE, SCENARIOS, scenario
from summarizer.simulator.throughput import load_table
from summarizer.simulator.traffic import Document, daily, poisson, read_trace, trickle
from summarizer.simulator.traffic import burst as burst_of

DEFAULT_ENVIRONMENT = "prod"


def number(text: str) -> float:
    """A finite number (argparse's float accepts nan and inf)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


number.__name__ = "number"


def whole(text: str) -> int:
    """A whole number."""
    return int(text)


whole.__name__ = "whole number"


def add_arrival_arguments(parser: argparse.ArgumentParser) -> None:
    """Options choosing the arrivals: a standard scenario, a generator or a CSV trace."""
    group = parser.add_argument_group("arrivals (one of these)")
    group.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        action="append",
        help="a standard scenario: " + "; ".join(f"{k}: {v}" for k, v in sorted(SCENARIOS.items())),
    )
    group.add_argument("--burst", type=whole, metavar="N", help="N documents at once")
    group.add_argument(
        "--trickle-minutes",
        type=number,
        metavar="M",
        help="one document every M minutes (with --count, default 36)",
    )
    group.add_argument(
        "--count", type=whole, default=36, help="documents of --trickle-minutes (default 36)"
    )
    group.add_argument(
        "--poisson", type=number, metavar="PER_MINUTE", help="Poisson arrivals (with --minutes)"
    )
    group.add_argument(
        "--daily",
        type=number,
        metavar="PEAK_PER_MINUTE",
        help="working-day sine from 06:00 to 18:00, peak at noon (with --days, default 1)",
    )
    group.add_argument(
        "--minutes", type=number, default=60.0, help="duration of --poisson (default 60)"
    )
    group.add_argument("--days", type=number, default=1.0, help="days of --daily (default 1)")
    group.add_argument("--trace", type=Path, metavar="CSV", help="timestamp[,size_bytes] rows")


def arrivals_from(
    args: argparse.Namespace, *, default: Sequence[str]
) -> list[tuple[str, list[Document]]]:
    """The (name, documents) pairs the arrival options ask for (``default`` scenarios if none)."""
    chosen = [
        name
        for name, value in (
            ("--scenario", args.scenario),
            ("--burst", args.burst),
            ("--trickle-minutes", args.trickle_minutes),
            ("--poisson", args.poisson),
            ("--daily", args.daily),
            ("--trace", args.trace),
        )
        if value is not None
    ]
    if len(chosen) > 1:
        raise SimulationError("arrivals", [f"give only one of {', '.join(chosen)}"])
    seed = args.seed
    if args.burst is not None:
        return [(f"burst of {args.burst}", burst_of(args.burst))]
    if args.trickle_minutes is not None:
        docs = trickle(every_minutes=args.trickle_minutes, count=args.count)
        return [(f"one every {args.trickle_minutes:g} min x {args.count}", docs)]
    if args.poisson is not None:
        docs = poisson(per_minute=args.poisson, minutes=args.minutes, seed=seed)
        return [(f"Poisson {args.poisson:g}/min for {args.minutes:g} min", docs)]
    if args.daily is not None:
        docs = daily(peak_per_minute=args.daily, days=args.days, seed=seed)
        return [(f"daily pattern, peak {args.daily:g}/min, {args.days:g} day(s)", docs)]
    if args.trace is not None:
        return [(f"trace {args.trace}", read_trace(args.trace))]
    return [(name, scenario(name)) for name in (args.scenario or default)]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options about the configuration read and the service model."""
    parser.add_argument(
        "--env",
        default=DEFAULT_ENVIRONMENT,
        help=f"environment of cdk.json simulated as ours (default {DEFAULT_ENVIRONMENT})",
    )
    parser.add_argument(
        "--cdk-json", type=Path, default=Path("cdk.json"), help="default ./cdk.json"
    )
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override like cdk -c, e.g. summarizer.scaling.max_capacity=10 (repeatable)",
    )
    parser.add_argument(
        "--cold-start",
        choices=sorted(COLD_STARTS),
        help=f"ours: hub ({HUB_COLD_START.low_minutes:g}-{HUB_COLD_START.high_minutes:g} min) "
        "or staged (an estimate); default from model_data_uri",
    )
    parser.add_argument(
        "--cold-start-minutes",
        type=cold_start_range,
        metavar="LOW-HIGH",
        help="every variant's time from a launch request to an instance in service, e.g. 4-6 "
        "or 5 (replaces --cold-start)",
    )
    parser.add_argument(
        "--throughput-table",
        type=Path,
        help="JSON table of articles/s by batch (default: the ml.g5.xlarge ESTIMATE; "
        "bench/bench_gpu.py writes a measured one)",
    )
    parser.add_argument(
        "--price-per-hour",
        type=number,
        default=G5_XLARGE_PRICE_PER_HOUR_USD,
        help=f"USD per instance-hour (default {G5_XLARGE_PRICE_PER_HOUR_USD}, ml.g5.xlarge, "
        "us-east-1)",
    )
    parser.add_argument("--seed", type=whole, default=1, help="first random seed (default 1)")
    parser.add_argument(
        "--seeds",
        type=whole,
        default=DEFAULT_SEEDS,
        help=f"seeds to run; figures are the median [min-max] over them (default {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--publication-delay-seconds",
        type=number,
        default=DEFAULT_PUBLICATION_DELAY_SECONDS,
        help="when a minute's CloudWatch datapoint becomes visible after the minute ends "
        f"(default {DEFAULT_PUBLICATION_DELAY_SECONDS:g}, an assumption: AWS publishes none)",
    )
    parser.add_argument(
        "--from-zero",
        choices=sorted(FROM_ZERO_RULES),
        default=DEFAULT_FROM_ZERO,
        help="target tracking's undocumented step from 0 instances: "
        + "; ".join(f"{k}: {v}" for k, v in FROM_ZERO_RULES.items())
        + f" (default {DEFAULT_FROM_ZERO})",
    )


def cold_start_range(text: str) -> ColdStart:
    """``LOW-HIGH`` or one number of minutes (argparse type)."""
    low_text, dash, high_text = text.partition("-")
    low = number(low_text)
    high = number(high_text) if dash else low
    if not 0 <= low <= high <= MAX_COLD_START_MINUTES:
        raise ValueError(text)
    return custom_cold_start(low, high)


cold_start_range.__name__ = f"LOW-HIGH minutes (0 <= LOW <= HIGH <= {MAX_COLD_START_MINUTES:g})"


def options_from(args: argparse.Namespace) -> Options:
    """``Options`` from the parsed arguments, every bad value reported at once."""
    problems = []
    if not 0 < args.price_per_hour <= 1000:
        problems.append(
            f"--price-per-hour: must be above 0 and at most 1000 (got {args.price_per_hour:g})"
        )
    if not 0 <= args.publication_delay_seconds <= 600:
        problems.append(
            "--publication-delay-seconds: must be from 0 to 600 "
            f"(got {args.publication_delay_seconds:g})"
        )
    if not 0 <= args.seed < 2**63 - MAX_SEEDS:
        problems.append(f"--seed: must be from 0 to 2**63-{MAX_SEEDS + 1} (got {args.seed})")
    if not 1 <= args.seeds <= MAX_SEEDS:
        problems.append(f"--seeds: must be from 1 to {MAX_SEEDS} (got {args.seeds})")
    if args.cold_start is not None and args.cold_start_minutes is not None:
        problems.append("--cold-start-minutes: give it or --cold-start, not both")
    horizon = getattr(args, "horizon_minutes", None)
    if horizon is not None and not 1 <= horizon <= 31 * 1440:
        problems.append(f"--horizon-minutes: must be from 1 to {31 * 1440} (got {horizon})")
    if problems:
        raise SimulationError("options", problems)
    return Options(
        table=load_table(args.throughput_table),
        seed=args.seed,
        seeds=args.seeds,
        publication_delay_seconds=args.publication_delay_seconds,
        price_per_hour=args.price_per_hour,
        horizon_minutes=horizon,
        from_zero=args.from_zero,
    )


def ours_from(args: argparse.Namespace, extra: Sequence[str] = ()) -> Variant:
    """The environment's configuration with ``-c`` (and ``extra``) overrides, as a variant."""
    overrides = parse_overrides([*args.context, *extra])
    # As with cdk: -c summarizer.environment=dev selects the environment.
    name = overrides.pop("summarizer.environment", args.env)
    environment = load_environment(args.cdk_json, name, overrides, cold_start=args.cold_start)
    return with_cold_start(args, environment.variant(f"ours ({name})"))


def with_cold_start(args: argparse.Namespace, variant: Variant) -> Variant:
    """``variant`` with ``--cold-start-minutes`` when it was given."""
    if args.cold_start_minutes is None:
        return variant
    return dataclasses.replace(variant, cold_start=args.cold_start_minutes)


def variants_from(args: argparse.Namespace) -> list[Variant]:
    """The article's setup, ours, and each ``--variant NAME;KEY=VALUE;...``."""
    variants = [with_cold_start(args, ARTICLE), ours_from(args)]
    for spec in args.variant:
        name, *pairs = [part.strip() for part in spec.split(";") if part.strip()] or [""]
        if not name or "=" in name or not pairs:
            raise SimulationError(
                "--variant",
                [
                    f"{spec!r}: must look like 'NAME;summarizer.<section>.<key>=<value>;...', "
                    "e.g. 'spike;summarizer.scaling.spike_enabled=true'"
                ],
            )
        variant = ours_from(args, pairs)
        variants.append(dataclasses.replace(variant, name=name))
    return variants


def parser() -> argparse.ArgumentParser:
    """The simulator's command line."""
    cli = argparse.ArgumentParser(
        prog="python -m summarizer.simulator",
        description=(
            "Replay uploads through the data path, the endpoint and its scaling policies; "
            "compare the source article's setup, ours and any variant side by side. A "
            "simulation of documented behaviour, not a measurement of AWS."
        ),
    )
    add_arrival_arguments(cli)
    add_model_arguments(cli)
    cli.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME;KEY=VALUE;...",
        help="another variant: ours with these overrides (repeatable)",
    )
    cli.add_argument("--horizon-minutes", type=whole, help="simulate exactly this long")
    cli.add_argument("--out-dir", type=Path, help="write simulation-<scenario>.json and .png here")
    cli.add_argument("--no-plot", action="store_true", help="with --out-dir: only the JSON")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; 0 on success, 2 on a usage error."""
    args = parser().parse_args(argv)
    try:
        options = options_from(args)
        variants = variants_from(args)
        traces = arrivals_from(args, default=("burst", "trickle"))
    except SimulationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    (other,) = set(FROM_ZERO_RULES) - {options.from_zero}
    for index, (name, documents) in enumerate(traces):
        try:
            runs = [simulate_seeds(documents, variant, options) for variant in variants]
            aggregates = [aggregate(seeds, options) for seeds in runs]
            alternative = dataclasses.replace(options, from_zero=other)
            differing = []
            for variant, mine in zip(variants, aggregates, strict=True):
                theirs = aggregate(simulate_seeds(documents, variant, alternative), alternative)
                if theirs["figures"] != mine["figures"]:
                    differing.append({**theirs, "variant": f"{variant.name}, {other} from zero"})
        except SimulationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if index:
            print()
        print(f"== {name}: {len(documents)} documents ==")
        print(table(aggregates))
        if differing:
            print(
                f"With target tracking's step from zero {FROM_ZERO_RULES[other]} instead of "
                f"{FROM_ZERO_RULES[options.from_zero]} (--from-zero {other}; undocumented):"
            )
            print(table(differing))
        if args.out_dir is not None:
            slug = name if name in SCENARIOS else "trace"
            other_json = {"rule": other, "means": FROM_ZERO_RULES[other], "variants": differing}
            write_json(
                args.out_dir / f"simulation-{slug}.json", name, aggregates, options, other_json
            )
            if not args.no_plot:
                from summarizer.simulator.plots import plot

                plot(
                    args.out_dir / f"simulation-{slug}.png",
                    name,
                    runs,
                    aggregates,
                    footer(options, variants),
                    options.price_per_hour,
                )
    print()
    print(spread_note(options))
    print(
        footer(options, variants)
        + ": documented behaviour, not a measurement of AWS (docs/scaling.md)."
    )
    return 0


def footer(options: Options, variants: Sequence[Variant]) -> str:
    """What the figures rest on, in one line."""
    batches = "/".join(str(b) for b in sorted({v.batch_size for v in variants}))
    return (
        f"Simulated with the {options.table.label()} in generate calls of at most {batches} "
        f"(SUMMARIZER_BATCH_SIZE), ${options.price_per_hour:g}/instance-hour, "
        f"CloudWatch delay {options.publication_delay_seconds:g} s (assumed), target tracking "
        f"from zero {FROM_ZERO_RULES[options.from_zero]} (assumed), seeds "
        f"{options.seed}-{options.seed + options.seeds - 1}"
    )


def run(entry: Callable[[], int]) -> int:
    """Run a CLI entry point; output piped into ``head`` ends quietly, not with a traceback."""
    try:
        code = entry()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's documented recipe: point stdout at devnull so the exit flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code
