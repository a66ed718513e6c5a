"""The scaling simulator: each documented behaviour of the deployed policies, as a test.

Pure Python (no CDK, no AWS). Traces are small and the loop steps in minutes, so the whole file
runs in a few seconds.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.data_path.settings import DataPathSettings
from constructs_lib.scaling_settings import ScalingSettings, ScheduledCapacity
from constructs_lib.simulator import cli
from constructs_lib.simulator.cloudwatch import ALARM, INSUFFICIENT_DATA, OK, Alarm, MetricSeries
from constructs_lib.simulator.engine import (
    HUB_COLD_START,
    STAGED_COLD_START,
    Options,
    Run,
    Variant,
    simulate,
)
from constructs_lib.simulator.errors import SimulationError
from constructs_lib.simulator.policies import TargetTracking
from constructs_lib.simulator.results import markdown_table, summarize
from constructs_lib.simulator.scenarios import ARTICLE
from constructs_lib.simulator.schedules import schedules_of
from constructs_lib.simulator.settings_loader import load_environment, parse_overrides
from constructs_lib.simulator.throughput import load_table, table_from_mapping
from constructs_lib.simulator.traffic import (
    Document,
    burst,
    daily,
    group_requests,
    poisson,
    read_trace,
    trickle,
)

ROOT = Path(__file__).resolve().parent.parent
TABLE = load_table()
OPTIONS = Options(table=TABLE)
OURS = Variant(name="ours")
# The wake-up alarm's period (60 s) and CloudWatch's publication delay (60 s) by default.
PERIOD = 60.0


def causes(run: Run, cause: str) -> list[tuple[float, int, int]]:
    return [(a.time, a.before, a.after) for a in run.activities if a.cause == cause]


def per_instance(run: Run) -> list[float]:
    """The ApproximateBacklogSizePerInstance datapoints the run published."""
    return [b / n if n else float(b) for b, n in zip(run.backlog, run.in_service, strict=True)]


# --- the documented behaviours -------------------------------------------------------------------


def test_one_queued_request_with_the_articles_policy_never_scales_out() -> None:
    # Target tracking alone: a backlog of 1 never exceeds the target of 5, so the one request
    # waits until its RequestTTLSeconds (6 h) runs out.
    run = simulate(burst(1), ARTICLE, OPTIONS)
    assert run.activities == []
    assert max(run.desired) == 0
    assert run.completed == [None]
    assert run.expired == [True]
    summary = summarize(run, OPTIONS)
    assert summary["time_to_first_result_minutes"] is None
    assert summary["p95_minutes"] is None
    assert summary["instance_minutes"] == 0


def test_ours_requests_the_first_instance_within_two_alarm_periods() -> None:
    run = simulate(burst(1), OURS, OPTIONS)
    (wake, *_) = run.activities
    assert (wake.cause, wake.before, wake.after) == ("wake-up", 0, 1)
    assert wake.time <= 2 * PERIOD
    # The result follows the cold start (7-9 min from the Hub) plus one request's service.
    (done,) = run.completed
    assert done is not None
    service = TABLE.service_seconds(1)
    low, high = HUB_COLD_START.low_minutes * 60, HUB_COLD_START.high_minutes * 60
    assert wake.time + low <= done <= wake.time + high + service


def test_staged_weights_shorten_the_cold_start() -> None:
    staged = dataclasses.replace(OURS, cold_start=STAGED_COLD_START)
    hub_done = simulate(burst(1), OURS, OPTIONS).completed[0]
    staged_done = simulate(burst(1), staged, OPTIONS).completed[0]
    assert hub_done is not None and staged_done is not None
    assert staged_done < hub_done
    assert staged_done <= 2 * PERIOD + STAGED_COLD_START.high_minutes * 60 + 5


def test_an_empty_queue_scales_in_after_the_scale_in_datapoints() -> None:
    run = simulate(burst(2000), OURS, OPTIONS)
    scale_ins = [a for a in run.activities if a.after < a.before]
    assert scale_ins, "never scaled in"
    first_in = scale_ins[0]
    assert (first_in.cause, first_in.after) == ("target tracking", 0)
    # The 15 datapoints before it are all below 90 % of the target; the one before those not.
    metric = per_instance(run)
    last_visible = int((first_in.time - OPTIONS.publication_delay_seconds) // 60) - 1
    window = metric[last_visible - 14 : last_visible + 1]
    assert len(window) == 15
    assert all(v < 0.9 * OURS.scaling.target_backlog_per_instance for v in window)
    assert metric[last_visible - 15] >= 0.9 * OURS.scaling.target_backlog_per_instance
    assert run.back_at_zero_minute is not None


def test_the_wake_up_cooldown_holds_while_the_instance_starts() -> None:
    # The alarm stays in ALARM for the whole cold start; the 600 s cooldown keeps it from adding a
    # second instance for the same waiting request. Without the cooldown it would.
    held = simulate(burst(1), OURS, OPTIONS)
    assert causes(held, "wake-up") == [(120.0, 0, 1)]
    impatient = dataclasses.replace(OURS, scaling=ScalingSettings(wake_up_cooldown_seconds=60))
    eager = simulate(burst(1), impatient, OPTIONS)
    assert len(causes(eager, "wake-up")) > 1
    assert max(eager.desired) > 1


def test_target_tracking_scale_in_cooldown_holds() -> None:
    metric = MetricSeries()
    for minute in range(20):
        metric.put(minute, 1.0)  # below 90 % of the target 5: scale in to ceil(4 x 1 / 5) = 1
    policy = TargetTracking.on(metric, ScalingSettings(scale_in_cooldown_seconds=300))
    policy.low.evaluate(20 * 60.0, 60.0)
    assert policy.low.state == ALARM
    assert policy.scale_in(1200.0, 4) == 1
    policy.scaled_in(1200.0)
    assert policy.scale_in(1200.0 + 299, 2) is None
    assert policy.scale_in(1200.0 + 300, 2) == 1


def test_target_tracking_scale_out_within_its_cooldown_counts_what_it_added() -> None:
    metric = MetricSeries()
    for minute in range(5):
        metric.put(minute, 10.0)  # twice the target 5
    policy = TargetTracking.on(metric, ScalingSettings(scale_out_cooldown_seconds=120))
    policy.high.evaluate(300.0, 60.0)
    assert policy.scale_out(300.0, 2) == 4
    policy.scaled_out(300.0, 2)
    # Within the cooldown: from the capacity before that scale-out (2), not from 4.
    assert policy.scale_out(360.0, 4) == 4
    assert policy.scale_out(420.0, 4) == 8


def test_max_capacity_caps_every_policy() -> None:
    capped = dataclasses.replace(OURS, scaling=ScalingSettings(max_capacity=3, spike_enabled=True))
    run = simulate(burst(10_000), capped, OPTIONS)
    assert max(run.desired) == 3
    assert max(run.in_service) == 3
    assert all(a.after <= 3 for a in run.activities)


def test_a_schedule_changes_min_and_max_at_its_time() -> None:
    # The simulation starts on Monday 2026-12-07 00:00 UTC. 08:00 raises the minimum to 1; a burst
    # at 10:00 meets a maximum lowered to 2 at 09:00.
    settings = ScalingSettings(
        scheduled_actions=(
            ScheduledCapacity(name="office", schedule="cron(0 8 ? * MON-FRI *)", min_capacity=1),
            ScheduledCapacity(name="cap", schedule="at(2026-12-07T09:00:00)", max_capacity=2),
        )
    )
    variant = dataclasses.replace(OURS, scaling=settings)
    options = dataclasses.replace(OPTIONS, horizon_minutes=11 * 60)
    run = simulate(burst(3000, at_seconds=10 * 3600), variant, options)
    assert causes(run, "schedule office") == [(8 * 3600.0, 0, 1)]
    assert run.desired[8 * 60 - 1] == 0
    assert run.desired[8 * 60] == 1
    assert min(run.desired[8 * 60 :]) == 1
    assert max(run.desired[9 * 60 :]) == 2


def test_a_schedule_in_another_time_zone_fires_at_its_local_time() -> None:
    action = ScheduledCapacity(
        name="berlin", schedule="cron(0 8 ? * MON *)", min_capacity=1, timezone="Europe/Berlin"
    )
    (schedule,) = schedules_of((action,), OPTIONS.start)
    # 08:00 in Berlin in December is 07:00 UTC.
    assert [m for m in range(24 * 60) if schedule.fires(m)] == [7 * 60]


def test_the_spike_policy_adds_its_large_step_at_once() -> None:
    spiky = dataclasses.replace(OURS, scaling=ScalingSettings(spike_enabled=True))
    run = simulate(burst(10_000), spiky, OPTIONS)
    # 313 requests with no instance: far above twice the threshold (15) -> +4 beats the wake-up +1.
    (first, *_) = run.activities
    assert (first.cause, first.before, first.after) == ("spike", 0, 4)


def test_requests_queue_for_one_worker_per_instance() -> None:
    # 10 single-document requests, one instance kept warm: served one after the other.
    warm = Variant(
        name="warm",
        scaling=ScalingSettings(min_capacity=1),
        data_path=DataPathSettings(enabled=False),
    )
    run = simulate(burst(10), warm, OPTIONS)
    done = sorted(c for c in run.completed if c is not None)
    service = TABLE.service_seconds(1)
    assert done == pytest.approx([service * (i + 1) for i in range(10)])


def test_summary_figures_of_a_single_request() -> None:
    run = simulate(burst(1), OURS, OPTIONS)
    summary = summarize(run, OPTIONS)
    (done,) = run.completed
    assert done is not None
    assert summary["time_to_first_result_minutes"] == round(done / 60, 1)
    assert summary["p50_minutes"] == summary["p99_minutes"] == round(done / 60, 1)
    assert summary["largest_backlog_requests"] == 1
    assert summary["max_instances"] == 1
    assert summary["cost_usd"] == round(summary["instance_minutes"] / 60 * 1.408, 2)
    assert summary["back_at_zero_minutes"] == run.back_at_zero_minute


def test_simulation_is_deterministic_for_a_seed() -> None:
    documents = poisson(per_minute=30, minutes=30, seed=7)
    assert documents == poisson(per_minute=30, minutes=30, seed=7)
    assert documents != poisson(per_minute=30, minutes=30, seed=8)
    first = summarize(simulate(documents, OURS, OPTIONS), OPTIONS)
    again = summarize(simulate(documents, OURS, OPTIONS), OPTIONS)
    other = dataclasses.replace(OPTIONS, seed=2)
    assert first == again
    assert first != summarize(simulate(documents, OURS, other), other)


# --- arrivals and grouping ---------------------------------------------------------------------


def test_the_data_path_groups_a_burst_into_full_requests() -> None:
    requests = group_requests(burst(100), DataPathSettings(), TABLE.windows)
    assert [len(r.documents) for r in requests] == [32, 32, 32, 4]
    # Full groups leave at once; the remainder when the batching window (20 s) ends.
    assert [r.dispatched for r in requests] == [0, 0, 0, 20]


def test_the_data_path_sends_large_documents_alone_and_respects_the_byte_limit() -> None:
    settings = DataPathSettings(max_request_bytes=10_000, large_document_bytes=8_000)
    documents = [Document(0, 4_000), Document(1, 4_000), Document(2, 9_000), Document(3, 4_000)]
    requests = group_requests(documents, settings, TABLE.windows)
    assert sorted((r.dispatched, [d.size_bytes for d in r.documents]) for r in requests) == [
        (2, [9_000]),
        (3, [4_000, 4_000]),
        (23, [4_000]),
    ]
    # The third 4,000 would pass 10,000 bytes: the first group leaves at 3 s and the last
    # document opens its own, which leaves when its window ends (3 + 20 s). 9,000 bytes at
    # 3,000 bytes per window is 3 windows of work.
    assert next(r.windows for r in requests if r.dispatched == 2) == 3


def test_without_the_data_path_every_document_is_a_request() -> None:
    requests = group_requests(trickle(every_minutes=20, count=3), ARTICLE.data_path, TABLE.windows)
    assert [(r.dispatched, len(r.documents)) for r in requests] == [(0, 1), (1200, 1), (2400, 1)]


def test_generators() -> None:
    assert len(burst(5)) == 5
    assert [d.arrival for d in trickle(every_minutes=20, count=3)] == [0, 1200, 2400]
    arrivals = [d.arrival for d in daily(peak_per_minute=10, days=1, seed=1)]
    hours = {int(a // 3600) for a in arrivals}
    assert hours <= set(range(6, 18))
    # The sine's mean over 12 hours is 2/pi of the peak: about 4,580 documents.
    assert 4_300 < len(arrivals) < 4_900


def test_a_csv_trace_with_iso_times_and_sizes(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text(
        "timestamp,size_bytes\n2026-12-01T08:00:30Z,5000\n2026-12-01T08:00:00Z,\n", "utf-8"
    )
    assert read_trace(trace) == [Document(0.0, None), Document(30.0, 5000)]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty: expected a header 'timestamp[,size_bytes]'"),
        (
            "time\n1\n",
            "line 1: header must be 'timestamp' or 'timestamp,size_bytes' (got ['time'])",
        ),
        ("timestamp\n", "has a header but no rows"),
        (
            "timestamp\n1\nsoon\n",
            "line 3: timestamp must be seconds or an ISO 8601 time with an offset such as "
            "2026-12-01T08:00:00Z (got 'soon')",
        ),
        (
            "timestamp\n2026-12-01T08:00:00\n",
            "line 2: timestamp must be seconds or an ISO 8601 time with an offset such as "
            "2026-12-01T08:00:00Z (got '2026-12-01T08:00:00')",
        ),
        (
            "timestamp,size_bytes\n1,-5\n",
            "line 2: size_bytes must be a whole number from 1 to 1000000000 (got '-5')",
        ),
        ("timestamp\n1,2\n", "line 2: expected 1 column(s) (got ['1', '2'])"),
        (
            "timestamp\nnan\n",
            "line 2: timestamp must be seconds or an ISO 8601 time with an "
            "offset such as 2026-12-01T08:00:00Z (got 'nan')",
        ),
    ],
)
def test_bad_traces_get_one_clear_error(tmp_path: Path, content: str, problem: str) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text(content, "utf-8")
    with pytest.raises(SimulationError) as raised:
        read_trace(trace)
    assert raised.value.problems == (problem,)
    assert str(raised.value).startswith(f"trace {trace}: 1 problem:\n  - ")


def test_a_missing_trace_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SimulationError) as raised:
        read_trace(tmp_path / "nope.csv")
    assert raised.value.problems == ("cannot be read (No such file or directory)",)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: burst(0), "burst: must be a whole number from 1 to 1000000 (got 0)"),
        (
            lambda: poisson(per_minute=1e308, minutes=1, seed=1),
            "poisson per_minute: must be a number above 0 and at most 100000 (got 1e+308)",
        ),
        (
            lambda: poisson(per_minute=100_000, minutes=60, seed=1),
            "poisson: would generate about 6000000 documents, more than the 1000000 a simulation "
            "holds (lower the rate or the duration)",
        ),
        (
            lambda: trickle(every_minutes=float("nan"), count=3),
            "trickle every_minutes: must be a number above 0 and at most 1440 (got nan)",
        ),
    ],
)
def test_bad_generator_arguments(make: object, problem: str) -> None:
    with pytest.raises(SimulationError) as raised:
        make()  # type: ignore[operator]
    assert raised.value.problems == (problem,)


# --- settings, tables, CloudWatch -------------------------------------------------------------


def test_bad_settings_get_one_clear_error() -> None:
    bad = Variant(name="bad", scaling=ScalingSettings(max_capacity=0))
    with pytest.raises(SimulationError) as raised:
        simulate(burst(1), bad, OPTIONS)
    assert str(raised.value) == (
        "variant 'bad': 1 problem:\n  - scaling.max_capacity: must be at least 1 (got 0)"
    )


def test_settings_come_from_cdk_json_with_overrides() -> None:
    dev = load_environment(ROOT / "cdk.json", "dev")
    assert dev.scaling.max_capacity == 2
    assert dev.cold_start == HUB_COLD_START
    overrides = parse_overrides(
        ["summarizer.scaling.max_capacity=10", "summarizer.data_path.max_documents_per_request=8"]
    )
    tuned = load_environment(ROOT / "cdk.json", "dev", overrides)
    assert tuned.scaling.max_capacity == 10
    assert tuned.data_path.max_documents_per_request == 8
    staged = load_environment(
        ROOT / "cdk.json", "prod", {"model_data_uri": "s3://bucket/model.tar.gz"}
    )
    assert staged.cold_start == STAGED_COLD_START


def test_bad_overrides_name_the_key_and_value() -> None:
    overrides = parse_overrides(
        ["summarizer.scaling.max_capacity=ten", "summarizer.scaling.spike_enabled=1"]
    )
    with pytest.raises(SimulationError) as raised:
        load_environment(ROOT / "cdk.json", "dev", overrides)
    assert raised.value.problems == (
        "scaling.max_capacity: must be int (got 'ten')",
        "scaling.spike_enabled: must be bool (got 1)",
    )
    with pytest.raises(SimulationError) as raised:
        load_environment(ROOT / "cdk.json", "staging")
    assert raised.value.problems == (
        "environment: unknown environment 'staging' (known: dev, prod)",
    )
    with pytest.raises(SimulationError) as raised:
        parse_overrides(["scaling.max_capacity=3"])
    assert raised.value.problems == (
        "'scaling.max_capacity=3': must look like 'summarizer.<section>.<key>=<value>', e.g. "
        "'summarizer.scaling.max_capacity=10'",
    )


def test_a_scheduled_action_without_its_schedule_is_named() -> None:
    overrides = parse_overrides(['summarizer.scaling.scheduled_actions=[{"name": "x"}]'])
    with pytest.raises(SimulationError) as raised:
        load_environment(ROOT / "cdk.json", "dev", overrides)
    assert raised.value.problems == ("scaling.scheduled_actions[0].schedule: required",)


def test_values_the_configuration_rejects_are_rejected_here_too() -> None:
    overrides = parse_overrides(["summarizer.scaling.target_backlog_per_instance=0"])
    with pytest.raises(SimulationError) as raised:
        load_environment(ROOT / "cdk.json", "dev", overrides)
    assert raised.value.problems == (
        "scaling.target_backlog_per_instance: must be greater than 0 (got 0.0)",
    )


def test_the_throughput_table_interpolates_and_caps() -> None:
    assert TABLE.kind == "estimate"
    assert TABLE.articles_per_second(1) == 0.6
    assert TABLE.articles_per_second(24) == pytest.approx((7.0 + 10.5) / 2)
    assert TABLE.articles_per_second(500) == 14.0
    assert TABLE.service_seconds(32) == pytest.approx(0.5 + 32 / 10.5)


def test_a_bad_throughput_table_lists_every_problem() -> None:
    with pytest.raises(SimulationError) as raised:
        table_from_mapping(
            {
                "instance_type": "g5",
                "kind": "guess",
                "points": [
                    {"batch": 4, "articles_per_second": 2},
                    {"batch": 2, "articles_per_second": 1},
                    {"batch": 8, "articles_per_second": -1},
                ],
                "colour": "red",
                "measurement": "on my laptop",
            }
        )
    assert raised.value.problems == (
        "colour: unknown key (known: assumptions, instance_type, kind, measurement, model, "
        "points, reference_document_bytes, request_overhead_seconds, source)",
        "instance_type: must be an instance type like 'ml.g5.xlarge' (got 'g5')",
        "kind: must be one of estimate, measured (got 'guess')",
        "points[1].batch: batches must be in increasing order (got 2 after 4)",
        "points[2].articles_per_second: must be a number above 0 and at most 1000000 (got -1)",
        "measurement: must be an object (got str)",
    )


@pytest.mark.parametrize(
    ("treatment", "state"),
    [("missing", INSUFFICIENT_DATA), ("notBreaching", OK), ("breaching", ALARM), ("ignore", OK)],
)
def test_alarm_missing_data_treatment(treatment: str, state: str) -> None:
    metric = MetricSeries()
    alarm = Alarm("a", metric, 1, "GreaterThanOrEqualToThreshold", treat_missing_data=treatment)
    alarm.state = OK
    # Nothing published yet: each treatment decides what the gap means.
    assert alarm.evaluate(180.0, 60.0) == state


def test_alarm_periods_average_their_datapoints_and_wait_for_publication() -> None:
    metric = MetricSeries()
    for minute, value in enumerate([0.0, 1.0, 1.0, 1.0]):
        metric.put(minute, value)
    alarm = Alarm("a", metric, 1, "GreaterThanOrEqualToThreshold", period_minutes=2)
    # At 4:00 with a 60 s delay, minutes 0-2 are visible: one complete period (0-1), average 0.5.
    assert alarm.evaluate(240.0, 60.0) == OK
    assert alarm.last_value == 0.5
    # At 5:00 minutes 0-3: the period 2-3 averages 1.
    assert alarm.evaluate(300.0, 60.0) == ALARM


def test_unsupported_cron_items_are_refused() -> None:
    action = ScheduledCapacity(name="w", schedule="cron(0 8 15W * ? *)", min_capacity=1)
    with pytest.raises(SimulationError) as raised:
        schedules_of((action,), OPTIONS.start)
    assert raised.value.problems == (
        "scheduled_actions[0].schedule: the simulator does not evaluate 'W' (nearest weekday) "
        "day-of-month items (got 'cron(0 8 15W * ? *)')",
    )


def test_cron_last_and_nth_weekday() -> None:
    last_friday = ScheduledCapacity(name="l", schedule="cron(0 0 ? * 6L *)", min_capacity=1)
    second_monday = ScheduledCapacity(name="n", schedule="cron(0 0 ? * MON#2 *)", min_capacity=1)
    first, second = schedules_of((last_friday, second_monday), OPTIONS.start)
    days = range(0, 31 * 1440, 1440)
    # December 2026: the last Friday is the 25th, the second Monday the 14th (start: the 7th).
    assert [m // 1440 + 7 for m in days if first.fires(m)] == [25]
    assert [m // 1440 + 7 for m in days if second.fires(m)] == [14]


# --- the command line and the checked-in docs ----------------------------------------------------


def test_cli_prints_the_side_by_side_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["--burst", "200", "--variant", "big;summarizer.scaling.max_capacity=8", "--env", "dev"]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "== burst of 200: 200 documents =="
    assert [line.split("  ")[0] for line in lines[3:6]] == ["article", "ours (dev)", "big"]
    assert "not a measurement of AWS" in out


def test_cli_selects_the_environment_like_cdk(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--burst", "5", "-c", "summarizer.environment=dev"]) == 0
    assert "\nours (dev) " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--burst", "0"], "error: arrivals: 1 problem:\n  - burst: must be a whole number"),
        (["--burst", "5", "--trace", "x.csv"], "give only one of --burst, --trace"),
        (["--burst", "5", "-c", "summarizer.scaling.max_capacity=0"], "scaling.max_capacity: "),
        (["--burst", "5", "--variant", "noname"], "--variant: 1 problem:\n  - 'noname': must"),
        (["--burst", "5", "--variant", "x;"], "--variant: 1 problem:\n  - 'x;': must"),
        (["--burst", "5", "--price-per-hour", "0"], "--price-per-hour: must be above 0"),
        (["--burst", "5", "--env", "qa"], "unknown environment 'qa' (known: dev, prod)"),
        (["--trace", "/nonexistent.csv"], "trace /nonexistent.csv: 1 problem:\n  - cannot be read"),
    ],
)
def test_cli_usage_errors_exit_2_with_one_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_cli_rejects_what_is_not_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["--poisson", "inf"])
    assert raised.value.code == 2
    assert "argument --poisson: invalid number value: 'inf'" in capsys.readouterr().err


def _make_simulate_args() -> list[str]:
    """The arguments the Makefile's simulate target passes to the simulator."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nsimulate:", 1)[1].splitlines()[1]
    words = shlex.split(recipe)
    return words[words.index("constructs_lib.simulator") + 1 :]


def test_the_checked_in_summaries_match_what_the_current_policy_simulates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _make_simulate_args()
    out_dir = args.index("--out-dir") + 1
    args[out_dir] = str(tmp_path)
    # The JSON is the contract; drawing the PNGs again would only cost time.
    assert cli.main([*args, "--no-plot"]) == 0
    capsys.readouterr()
    for scenario in ("burst", "trickle"):
        name = f"simulation-{scenario}.json"
        fresh = json.loads((tmp_path / name).read_text())
        checked_in = json.loads((ROOT / "docs" / "img" / name).read_text())
        assert fresh == checked_in, f"docs/img/{name} is stale: run `make simulate`"
        assert (ROOT / "docs" / "img" / f"simulation-{scenario}.png").stat().st_size > 10_000


def test_the_docs_quote_the_checked_in_figures() -> None:
    text = (ROOT / "docs" / "scaling.md").read_text()
    for scenario in ("burst", "trickle"):
        summary = json.loads((ROOT / "docs" / "img" / f"simulation-{scenario}.json").read_text())
        assert markdown_table(summary["variants"]) in text, f"docs/scaling.md: {scenario} table"
        assert f"](img/simulation-{scenario}.png)" in text
    assert "simulation of documented behaviour, not a measurement of AWS" in text


def test_the_simulator_imports_no_cdk() -> None:
    code = (
        "import sys, constructs_lib.simulator.cli, constructs_lib.capacity_planner; "
        "sys.exit(any(m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs') and m != "
        "'constructs_lib' for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_percentiles_treat_unfinished_documents_as_never() -> None:
    from constructs_lib.simulator.engine import percentile

    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, math.inf], 0.95) is None
    assert percentile([1.0] * 99 + [math.inf], 0.95) == 1.0
    assert percentile([], 0.5) is None


def test_the_plot_is_a_png_with_one_column_per_variant(tmp_path: Path) -> None:
    from constructs_lib.simulator.results import plot

    runs = [simulate(burst(50), v, OPTIONS) for v in (ARTICLE, OURS)]
    target = tmp_path / "plot.png"
    plot(target, "burst of 50", runs)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # Width in the IHDR chunk: two columns of 5.5 inches at 80 dpi.
    assert int.from_bytes(data[16:20], "big") == 2 * 5.5 * 80


def test_the_readme_quotes_the_checked_in_burst() -> None:
    summary = json.loads((ROOT / "docs" / "img" / "simulation-burst.json").read_text())
    article, ours = summary["variants"][0], summary["variants"][1]
    last_article = article["p99_minutes"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (
        f"the article's setup takes {round(last_article)} minutes and "
        f"{article['instance_minutes']:g} instance-minutes, ours {round(ours['p99_minutes'])} "
        f"minutes and {ours['instance_minutes']:g}"
    ) in readme
