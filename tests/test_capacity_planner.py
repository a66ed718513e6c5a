"""The capacity planner: worked examples computed by hand, the search, the CLI and bad inputs."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.capacity_planner import (
    MAX_PLANNED_INSTANCES,
    PlanningError,
    main,
    plan_capacity,
    search,
)
from constructs_lib.data_path.settings import DataPathSettings
from constructs_lib.scaling_settings import ScalingSettings
from constructs_lib.simulator.engine import Options, Variant
from constructs_lib.simulator.throughput import table_from_mapping
from constructs_lib.simulator.traffic import burst

ROOT = Path(__file__).resolve().parent.parent

# Round numbers to check by hand: 1 article/s alone, 5 articles/s in batches of 10, 1 s per request.
SIMPLE = table_from_mapping(
    {
        "instance_type": "ml.g5.xlarge",
        "kind": "measured",
        "request_overhead_seconds": 1.0,
        "points": [
            {"batch": 1, "articles_per_second": 1.0},
            {"batch": 10, "articles_per_second": 5.0},
        ],
    }
)
TEN_PER_REQUEST = DataPathSettings(max_documents_per_request=10, batching_window_seconds=20)


def test_a_worked_example() -> None:
    # 60 documents/min = 1/s: a group collects 1 + 1 x 20 = 21 in its window, capped at 10 per
    # request. 10 articles at 5/s = 2 s + 1 s overhead = 3 s per request: 10 / 3 s = 200
    # articles/min per instance. 60 / 200 = 0.3 -> 1 instance; x 1.2 -> 2 = max_capacity.
    # Within 30 s an instance clears 30 / 3 = 10 requests = the target; 10 x 3 s = 30 s wait.
    # An 8 min cold start at peak queues 60 x 8 = 480 articles.
    plan = plan_capacity(
        peak_per_minute=60, max_wait_seconds=30, table=SIMPLE, data_path=TEN_PER_REQUEST
    )
    assert plan.articles_per_request == 10
    assert plan.seconds_per_request == 3
    assert plan.per_instance_per_minute == pytest.approx(200)
    assert (plan.instances_for_peak, plan.max_capacity) == (1, 2)
    assert plan.target_backlog_per_instance == 10
    assert plan.wait_at_target_seconds == pytest.approx(30)
    assert plan.cold_start_backlog == 480
    assert plan.reasoning[:4] == (
        "The data path groups documents for up to 20 s or 10 documents: at 60 documents/min a "
        "request carries about 10 article(s).",
        "One instance serves one request at a time (one model-server worker per GPU; more "
        "concurrent invocations only queue): 10 articles at 5 articles/s + 1 s per request = 3 s "
        "-> 200 articles/min per instance (ml.g5.xlarge MEASURED throughput table).",
        "Peak 60 articles/min / 200 per instance = 0.3 -> 1 instance(s) keep up with the peak.",
        "Growth factor 1.2: 1 x 1.2 = 1.2 -> max_capacity 2.",
    )
    assert plan.warnings == ()
    assert ScalingSettings(**plan.scaling_settings()).problems() == []


def test_throughput_grows_with_the_batch_not_with_concurrency() -> None:
    # Without the data path every article is its own request: 1 article at 1/s + 1 s = 2 s,
    # 30 articles/min per instance; 60/min needs 2 instances instead of 1.
    alone = plan_capacity(
        peak_per_minute=60, table=SIMPLE, data_path=DataPathSettings(enabled=False)
    )
    assert alone.articles_per_request == 1
    assert alone.per_instance_per_minute == pytest.approx(30)
    assert alone.instances_for_peak == 2
    assert alone.reasoning[0] == "The data path is disabled: one article per request."


def test_a_quiet_load_still_batches_what_arrives_within_the_window() -> None:
    # 3 documents/min = 0.05/s: 1 + 0.05 x 20 = 2 articles per request.
    plan = plan_capacity(peak_per_minute=3, table=SIMPLE, data_path=TEN_PER_REQUEST)
    assert plan.articles_per_request == pytest.approx(2)


def test_the_default_table_is_the_labelled_g5_estimate() -> None:
    plan = plan_capacity(peak_per_minute=600)
    # 600/min: full requests of 32 at 10.5 articles/s + 0.5 s = 3.548 s -> 541 articles/min.
    assert plan.articles_per_request == 32
    assert plan.per_instance_per_minute == pytest.approx(32 / (0.5 + 32 / 10.5) * 60)
    assert (plan.instances_for_peak, plan.max_capacity) == (2, 3)
    assert plan.warnings == (
        "Throughput comes from the ml.g5.xlarge ESTIMATE throughput table: measure your own and "
        "pass it with --throughput-table before relying on these numbers.",
    )


def test_without_a_wait_the_default_target_is_kept() -> None:
    plan = plan_capacity(peak_per_minute=60, table=SIMPLE, data_path=TEN_PER_REQUEST)
    assert plan.target_backlog_per_instance == ScalingSettings().target_backlog_per_instance
    assert plan.wait_at_target_seconds == pytest.approx(15)


def test_a_wait_shorter_than_one_request_still_gives_a_target_of_1() -> None:
    plan = plan_capacity(
        peak_per_minute=60, max_wait_seconds=2, table=SIMPLE, data_path=TEN_PER_REQUEST
    )
    assert plan.target_backlog_per_instance == 1
    assert plan.reasoning[4].endswith("-> 1 queued request(s) (at least 1).")


@pytest.mark.parametrize("peak", [0.001, 0.5, 1.0])
def test_tiny_loads_never_suggest_max_capacity_0(peak: float) -> None:
    plan = plan_capacity(peak_per_minute=peak)
    assert plan.max_capacity >= 1
    assert ScalingSettings(**plan.scaling_settings()).problems() == []


@pytest.mark.parametrize(
    ("peak", "trace"),
    [
        ("0.001", "Simulated on one every 1000 min x 10 (10 documents;"),
        ("600", "Simulated on Poisson 600/min for 60 min ("),
        ("30000", "Simulated on Poisson 30000/min for 1.667 min ("),
    ],
)
def test_cli_simulates_the_suggestion_at_any_accepted_peak(
    peak: str, trace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--peak-per-minute", peak]) == 0
    out = capsys.readouterr().out
    assert trace in out
    values = json.loads(out.partition('Suggested "scaling" values for cdk.json:\n')[2])
    assert ScalingSettings(**values["scaling"]).problems() == []


def test_float_noise_does_not_add_an_instance() -> None:
    # 10 x 1.1 is 11.000000000000002 in floating point: still 11 instances, not 12. 10 instances
    # of 200 articles/min = 2000/min.
    plan = plan_capacity(
        peak_per_minute=2000, growth_factor=1.1, table=SIMPLE, data_path=TEN_PER_REQUEST
    )
    assert plan.instances_for_peak == 10
    assert plan.max_capacity == 11


def test_large_plans_warn_about_quotas() -> None:
    plan = plan_capacity(peak_per_minute=20_000, table=SIMPLE, data_path=TEN_PER_REQUEST)
    assert plan.max_capacity == 120
    assert plan.warnings[0].startswith("max_capacity 120: check your account's SageMaker quota")


def test_absurd_loads_are_refused_not_planned() -> None:
    # 1,000,000/min at 200 per instance is 5,000 instances.
    with pytest.raises(PlanningError) as raised:
        plan_capacity(peak_per_minute=1_000_000, table=SIMPLE, data_path=TEN_PER_REQUEST)
    assert raised.value.problems == (
        f"peak_per_minute: 1000000 documents/min needs about 5000 instances, more than the "
        f"{MAX_PLANNED_INSTANCES} the planner plans for (got 1000000); split the load across "
        "endpoints or measure a faster instance type with --throughput-table",
    )


@pytest.mark.parametrize(
    ("peak", "problem"),
    [
        (1e308, "peak_per_minute: must be a number from 0.001 to 1000000 (got 1e+308)"),
        (5e-324, "peak_per_minute: must be a number from 0.001 to 1000000 (got 5e-324)"),
        (0, "peak_per_minute: must be a number from 0.001 to 1000000 (got 0)"),
        (float("nan"), "peak_per_minute: must be a finite number (got nan)"),
        ("600", "peak_per_minute: must be a number (got '600')"),
    ],
)
def test_extreme_peaks_get_a_clear_error(peak: object, problem: str) -> None:
    with pytest.raises(PlanningError) as raised:
        plan_capacity(peak_per_minute=peak)  # type: ignore[arg-type]
    assert raised.value.problems == (problem,)


def test_bad_inputs_are_all_reported_at_once() -> None:
    with pytest.raises(PlanningError) as raised:
        plan_capacity(
            peak_per_minute=-1,
            growth_factor=1.0,
            max_wait_seconds=0,
            cold_start_minutes=float("inf"),
        )
    assert raised.value.problems == (
        "peak_per_minute: must be a number from 0.001 to 1000000 (got -1)",
        "growth_factor: must be a number above 1 and at most 10 (got 1.0)",
        "max_wait_seconds: must be a number from 1 to 86400 (got 0)",
        "cold_start_minutes: must be a finite number (got inf)",
    )
    assert str(raised.value).startswith("capacity planner: 4 problems:\n  - peak_per_minute")


# --- the search ----------------------------------------------------------------------------------

OPTIONS = Options(table=SIMPLE)


def test_search_keeps_the_cheapest_setting_that_meets_the_goal() -> None:
    documents = burst(2000)
    result = search(documents, Variant(name="ours"), OPTIONS, p95_goal_minutes=30)
    assert result.best is not None and result.best_summary is not None
    meeting = [
        c for c in result.candidates if c["p95_minutes"] is not None and c["p95_minutes"] <= 30
    ]
    assert result.best_summary["cost_usd"] == min(c["cost_usd"] for c in meeting)
    assert result.best_summary["p95_minutes"] <= 30
    assert result.best.scaling.problems() == []
    assert result.best.scaling.max_capacity >= 1
    # 10 capacities x 5 targets x spike off/on.
    assert len(result.candidates) == 100


def test_a_stricter_goal_costs_more_instances() -> None:
    # 2,000 documents = 63 requests of 7.4 s on one instance (about 8 min) after a 9 min wake-up:
    # one instance meets 60 minutes; 13 minutes needs more, started before the first is up.
    documents = burst(2000)
    loose = search(documents, Variant(name="ours"), OPTIONS, p95_goal_minutes=60)
    strict = search(documents, Variant(name="ours"), OPTIONS, p95_goal_minutes=13)
    assert loose.best is not None and strict.best is not None
    assert loose.best.scaling.max_capacity == 1
    assert strict.best.scaling.max_capacity > 1
    assert strict.best_summary is not None and loose.best_summary is not None
    assert strict.best_summary["cost_usd"] > loose.best_summary["cost_usd"]


def test_search_reports_when_nothing_meets_the_goal() -> None:
    result = search(burst(2000), Variant(name="ours"), OPTIONS, p95_goal_minutes=1)
    assert result.best is None


def test_search_rejects_bad_arguments() -> None:
    with pytest.raises(PlanningError) as raised:
        search(burst(1), Variant(name="ours"), OPTIONS, p95_goal_minutes=0, max_capacity_limit=0)
    assert raised.value.problems == (
        "p95_goal_minutes: must be a number from 0.1 to 10000 (got 0)",
        "max_capacity_limit: must be a whole number from 1 to 100 (got 0)",
    )


# --- the command line ----------------------------------------------------------------------------


def _makefile_plan_example() -> list[str]:
    """The arguments of the example in the Makefile's own plan comment."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("## plan:") and 'ARGS="' in line:
            return shlex.split(line.split('ARGS="', 1)[1].split('"', 1)[0])
    raise AssertionError("the Makefile has no plan example")


def test_the_makefiles_own_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_makefile_plan_example()) == 0
    out = capsys.readouterr().out
    reasoning, _, suggestion = out.partition('Suggested "scaling" values for cdk.json:\n')
    assert "ours (prod)" in reasoning and "suggested" in reasoning
    values = json.loads(suggestion)["scaling"]
    assert ScalingSettings(**values).problems() == []


def test_the_makefiles_default_search_runs(capsys: pytest.CaptureFixture[str]) -> None:
    makefile = (ROOT / "Makefile").read_text()
    default = makefile.split("PLAN_ARGS := $(or $(ARGS),", 1)[1].split(")", 1)[0]
    assert main(shlex.split(default)) == 0
    out = capsys.readouterr().out
    assert out.startswith("Searched 100 settings")
    values = json.loads(out.partition('Recommended "scaling" values for cdk.json:\n')[2])
    assert ScalingSettings(**values["scaling"]).problems() == []
    assert values["scaling"]["max_capacity"] >= 1
    # docs/scaling.md quotes this run: keep it true.
    rows = {line.split()[0]: line.split("  ") for line in out.splitlines() if "min  " in line}
    cells = [c.strip() for c in rows["recommended"] if c.strip()]
    ours = [c.strip() for c in rows["ours"] if c.strip()]
    p95, instance_minutes, ours_minutes = cells[3], cells[7], ours[7]
    docs = " ".join((ROOT / "docs" / "scaling.md").read_text().split())
    assert (
        f"`max_capacity: {values['scaling']['max_capacity']}` (p95 {p95}, {instance_minutes} "
        f"instance-minutes against {ours_minutes} for ours)"
    ) in docs


def test_cli_without_a_goal_or_peak_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert capsys.readouterr().err == (
        "error: capacity planner: 1 problem:\n  - give --peak-per-minute (sizing by arithmetic) "
        "or --p95-goal-minutes (search)\n"
    )


@pytest.mark.parametrize("option", ["--concurrency", "--seconds-per-article"])
def test_retired_options_explain_why(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--peak-per-minute", "600", option, "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option}: no longer used: ")
    assert "--throughput-table" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--peak-per-minute", "1e308"], "peak_per_minute: must be a number from 0.001 to 1000000"),
        (["--peak-per-minute", "5e-324"], "(got 5e-324)"),
        (["--p95-goal-minutes", "-5"], "p95_goal_minutes: must be a number from 0.1 to 10000"),
        (["--peak-per-minute", "60", "--throughput-table", "/none.json"], "cannot be read"),
        (["--p95-goal-minutes", "20", "--scenario", "burst", "--scenario", "trickle"], "one trace"),
    ],
)
def test_cli_bad_values_exit_2_without_a_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cli_rejects_what_is_not_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--peak-per-minute", "lots"])
    assert raised.value.code == 2
    assert "argument --peak-per-minute: invalid number value: 'lots'" in capsys.readouterr().err


def test_cli_search_without_a_solution_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--p95-goal-minutes", "1", "--burst", "2000", "--max-capacity-limit", "2"]) == 1
    assert "No searched setting meets the goal" in capsys.readouterr().err


def test_module_runs_as_a_script_without_cdk() -> None:
    # Pure Python: no Node banner, no jsii start.
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.capacity_planner", *_makefile_plan_example()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert '"max_capacity": 3' in result.stdout
