"""The capacity planner: worked examples computed by hand, the CLI, and bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.capacity_planner import PlanningError, main, plan_capacity
from constructs_lib.scaling import ScalingSettings

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_example() -> None:
    # 2 articles at a time, 4 s each: 2 / 4 = 0.5 articles/s = 30 articles/min per instance.
    # Peak 600/min / 30 = 20 instances; x 1.2 growth = 24 = max_capacity.
    # Within 300 s an instance clears 0.5 x 300 = 150 queued articles = the target; at that
    # backlog a new article waits 150 / 0.5 = 300 s. An 8 min cold start at peak queues
    # 600 x 8 = 4800 articles.
    plan = plan_capacity(
        peak_per_minute=600, seconds_per_article=4, concurrency=2, max_wait_seconds=300
    )
    assert plan.per_instance_per_minute == 30
    assert plan.instances_for_peak == 20
    assert plan.max_capacity == 24
    assert plan.target_backlog_per_instance == 150
    assert plan.wait_at_target_seconds == 300
    assert plan.cold_start_backlog == 4800
    assert plan.reasoning == (
        "One instance runs 2 article(s) at a time, 4 s each: 2 / 4 s = 0.5 articles/s "
        "= 30 articles/min per instance.",
        "Peak 600 articles/min / 30 per instance = 20 -> 20 instance(s) keep up with the peak.",
        "Growth factor 1.2: 20 x 1.2 = 24 -> max_capacity 24.",
        "Within the acceptable wait of 300 s one instance clears 0.5 x 300 = 150 -> 150 queued "
        "article(s).",
        "target_backlog_per_instance 150: at the target a new article waits about 150 / 0.5 "
        "per s = 300 s before it starts.",
        "From zero, a cold start of about 8 min at peak queues 4800 article(s) before the first "
        "instance serves; consider min_capacity 1 (or a scheduled action) for the hours such "
        "bursts are expected, and the spike policy to add instances faster.",
        "min_capacity 0: the endpoint scales to zero when idle and the wake-up alarm brings it "
        "back.",
    )
    assert plan.scaling_settings() == {
        "min_capacity": 0,
        "max_capacity": 24,
        "target_backlog_per_instance": 150,
    }


def test_the_blogs_own_numbers_give_its_max_capacity_of_8() -> None:
    # The blog: peak 500 requests/s, 5000 invocations per instance per minute, growth 1.2:
    # ceil(500 / (5000 / 60)) = 6, x 1.2 = 7.2 -> 8. Here: 30000/min, one at a time, 60/5000 s.
    plan = plan_capacity(peak_per_minute=30_000, seconds_per_article=60 / 5000, concurrency=1)
    assert plan.instances_for_peak == 6
    assert plan.max_capacity == 8


def test_rounding_up_instances_and_down_the_backlog() -> None:
    # 1 article at a time, 3 s each: 1/3 articles/s = 20/min. Peak 100/min / 20 = 5 instances;
    # x 1.5 = 7.5 -> 8. Within 10 s: 10 / 3 = 3.33 -> 3 queued articles (round down, or the
    # wait is exceeded); 3 / (1/3) = 9 s wait at the target.
    plan = plan_capacity(
        peak_per_minute=100,
        seconds_per_article=3,
        concurrency=1,
        growth_factor=1.5,
        max_wait_seconds=10,
    )
    assert (plan.instances_for_peak, plan.max_capacity) == (5, 8)
    assert plan.target_backlog_per_instance == 3
    assert plan.wait_at_target_seconds == pytest.approx(9)


def test_float_noise_does_not_add_an_instance() -> None:
    # 6 s per article = 10/min; 100/min needs 10 instances; 10 x 1.1 is 11.000000000000002 in
    # floating point, which must still give 11, not 12.
    plan = plan_capacity(
        peak_per_minute=100, seconds_per_article=6, concurrency=1, growth_factor=1.1
    )
    assert plan.max_capacity == 11


def test_a_wait_shorter_than_processing_raises_the_target_to_the_concurrency() -> None:
    # 4 at a time, 10 s each: 0.4 articles/s. Within 5 s: 0.4 x 5 = 2 < 4 slots -> target 4,
    # which means 4 / 0.4 = 10 s of wait. Peak 60/min / 24 = 2.5 -> 3; x 1.2 = 3.6 -> 4.
    plan = plan_capacity(
        peak_per_minute=60, seconds_per_article=10, concurrency=4, max_wait_seconds=5
    )
    assert plan.target_backlog_per_instance == 4
    assert plan.wait_at_target_seconds == pytest.approx(10)
    assert plan.max_capacity == 4
    assert any(line.startswith("That is below the concurrency (4)") for line in plan.reasoning)


def test_without_a_wait_the_default_target_is_kept() -> None:
    # Default target 5 at 0.5 articles/s: 5 / 0.5 = 10 s of wait.
    plan = plan_capacity(peak_per_minute=600, seconds_per_article=4, concurrency=2)
    assert plan.target_backlog_per_instance == ScalingSettings().target_backlog_per_instance
    assert plan.wait_at_target_seconds == 10
    assert plan.reasoning[3] == (
        "No acceptable wait given: keeping target_backlog_per_instance 5 (the Hugging Face "
        "example's)."
    )


def test_no_cold_start_means_no_cold_start_advice() -> None:
    plan = plan_capacity(
        peak_per_minute=600, seconds_per_article=4, concurrency=2, cold_start_minutes=0
    )
    assert plan.cold_start_backlog == 0
    assert not any("cold start" in line for line in plan.reasoning)


def test_suggested_values_are_valid_scaling_settings() -> None:
    plan = plan_capacity(
        peak_per_minute=600, seconds_per_article=4, concurrency=2, max_wait_seconds=300
    )
    assert ScalingSettings(**plan.scaling_settings()).problems() == []


def test_bad_inputs_are_all_reported_at_once() -> None:
    with pytest.raises(PlanningError) as raised:
        plan_capacity(
            peak_per_minute=0,
            seconds_per_article=float("nan"),
            concurrency=0,
            growth_factor=1.0,
            max_wait_seconds=-3,
            cold_start_minutes=-1,
        )
    assert raised.value.problems == (
        "peak_per_minute: must be greater than 0 (got 0)",
        "seconds_per_article: must be a finite number (got nan)",
        "concurrency: must be between 1 and 1000 (got 0)",
        "growth_factor: must be greater than 1 (got 1.0)",
        "max_wait_seconds: must be greater than 0 (got -3)",
        "cold_start_minutes: must be at least 0 (got -1)",
    )
    assert str(raised.value).startswith("capacity planner: 6 problems:\n  - peak_per_minute")


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"concurrency": 2.5}, "concurrency: must be a whole number (got 2.5)"),
        ({"concurrency": True}, "concurrency: must be a whole number (got True)"),
        ({"seconds_per_article": "4"}, "seconds_per_article: must be a number (got '4')"),
        ({"peak_per_minute": float("inf")}, "peak_per_minute: must be a finite number (got inf)"),
    ],
)
def test_wrong_types_are_reported(kwargs: dict[str, object], problem: str) -> None:
    arguments: dict[str, object] = {
        "peak_per_minute": 600,
        "seconds_per_article": 4,
        "concurrency": 2,
        **kwargs,
    }
    with pytest.raises(PlanningError) as raised:
        plan_capacity(**arguments)  # type: ignore[arg-type]
    assert raised.value.problems == (problem,)


ARGS = ["--peak-per-minute", "600", "--seconds-per-article", "4", "--concurrency", "2"]


def test_cli_prints_reasoning_and_the_cdk_json_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--max-wait-seconds", "300"]) == 0
    out = capsys.readouterr().out
    reasoning, _, suggestion = out.partition('\nSuggested "scaling" values for cdk.json:\n')
    assert reasoning.splitlines()[2] == "- Growth factor 1.2: 20 x 1.2 = 24 -> max_capacity 24."
    assert len(reasoning.splitlines()) == 7
    assert json.loads(suggestion) == {
        "scaling": {"min_capacity": 0, "max_capacity": 24, "target_backlog_per_instance": 150}
    }


def test_cli_growth_factor_option(capsys: pytest.CaptureFixture[str]) -> None:
    # 20 instances x 1.5 = 30.
    assert main([*ARGS, "--growth-factor", "1.5"]) == 0
    suggestion = capsys.readouterr().out.partition("cdk.json:\n")[2]
    assert json.loads(suggestion)["scaling"]["max_capacity"] == 30


def test_cli_bad_values_exit_2_with_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--peak-per-minute", "-1", "--seconds-per-article", "0", "--concurrency", "2"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err == (
        "error: capacity planner: 2 problems:\n"
        "  - peak_per_minute: must be greater than 0 (got -1.0)\n"
        "  - seconds_per_article: must be greater than 0 (got 0.0)\n"
    )


def test_cli_rejects_what_is_not_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--peak-per-minute", "lots", "--seconds-per-article", "4", "--concurrency", "2"])
    assert raised.value.code == 2
    assert "argument --peak-per-minute: invalid float value: 'lots'" in capsys.readouterr().err


def test_module_runs_as_a_script_without_cdk() -> None:
    # The planner is plain arithmetic: running it must not start jsii (no Node banner, fast).
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.capacity_planner", *ARGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert '"max_capacity": 24' in result.stdout
