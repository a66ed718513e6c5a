"""The autoscaling article's sizing method (constructs_lib/hosting/sizing.py): pure functions."""

from __future__ import annotations

import math

import pytest

from constructs_lib.hosting.sizing import (
    SizingError,
    invocations_per_instance_target,
    max_capacity,
    min_capacity,
    size_realtime_endpoint,
)


def test_the_articles_example_gives_min_1_and_max_8() -> None:
    # 5,000 invocations per instance per minute, 70 to 500 requests per second, growth 20 %.
    assert min_capacity(70, 5000) == 1
    assert max_capacity(500, 5000, 1.2) == 8


def test_max_capacity_multiplies_the_rounded_base_and_rounds_up() -> None:
    # 500 / (5000 / 60) is exactly 6 (6.000000000000001 in floating point), 6 x 1.2 = 7.2 -> 8.
    assert max_capacity(500, 5000, 1.2) == math.ceil(6 * 1.2)
    # 510 rps needs 7 instances before growth: 7 x 1.5 = 10.5 -> 11.
    assert max_capacity(510, 5000, 1.5) == 11


def test_min_capacity_rounds_up_and_never_drops_below_one() -> None:
    assert min_capacity(84, 5000) == 2  # 84 / 83.33 -> 1.008 -> 2
    assert min_capacity(0, 5000) == 1  # real-time endpoints cannot scale to zero


def test_the_target_is_the_benchmark_rate_times_safety_times_sixty() -> None:
    assert invocations_per_instance_target(10, safety_factor=0.5) == 300
    assert invocations_per_instance_target(10) == 300  # default safety factor 0.5
    assert invocations_per_instance_target(10, safety_factor=1) == 600


def test_the_whole_method_in_one_call() -> None:
    sizing = size_realtime_endpoint(
        max_rps_per_instance=2, min_rps=0.5, max_rps=9, safety_factor=0.5, growth_factor=1.2
    )
    # 2 rps x 0.5 x 60 = 60 per minute = 1 rps per instance: min 1, max ceil(9) x 1.2 -> 11.
    assert (sizing.invocations_per_instance, sizing.min_capacity, sizing.max_capacity) == (
        60,
        1,
        11,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: max_capacity(500, 5000, 1.0),
            "growth_factor: must be greater than 1 (got 1.0)",
        ),
        (
            lambda: max_capacity(0, 5000, 1.2),
            "max_rps: must be greater than 0 (got 0)",
        ),
        (
            lambda: min_capacity(-1, 5000),
            "min_rps: must be at least 0 (got -1)",
        ),
        (
            lambda: min_capacity(10, float("nan")),
            "invocations_per_instance: must be a finite number (got nan)",
        ),
        (
            lambda: invocations_per_instance_target(10, safety_factor=1.5),
            "safety_factor: must be at most 1 (got 1.5)",
        ),
        (
            lambda: size_realtime_endpoint(max_rps_per_instance=2, min_rps=10, max_rps=5),
            "min_rps: must not exceed max_rps 5 (got 10)",
        ),
    ],
)
def test_bad_inputs_are_refused_with_the_field_value_and_limit(call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SizingError) as raised:
        call()
    assert raised.value.problems == (message,)


def test_every_bad_input_is_reported_at_once() -> None:
    with pytest.raises(SizingError) as raised:
        max_capacity(-5, 0, "2")  # type: ignore[arg-type]
    assert raised.value.problems == (
        "max_rps: must be greater than 0 (got -5)",
        "invocations_per_instance: must be greater than 0 (got 0)",
        "growth_factor: must be a finite number (got '2')",
    )
    assert str(raised.value).startswith("sizing: 3 problems:\n  - max_rps")
