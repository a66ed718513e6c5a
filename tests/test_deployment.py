"""Deployment guardrails of the async endpoint: the DeploymentConfig, its rollback alarms, the
execution role's right to read them, and every setting refused with its key and value.

Shapes are checked against the CloudFormation schemas cfn-lint 1.58 ships (AWS::SageMaker::Endpoint
8c0105c1afacbace, AWS::CloudWatch::Alarm f21841a2fca2ebc7) besides cfn-lint over whole templates
(tests/test_gates.py).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.endpoint.deployment_settings import DeploymentSettings
from stacks.config import load_configs
from tests._schemas import schema_errors
from tests._variants import variants
from tests.conftest import cdk_json_context, construct_app, endpoint_in, only


def endpoint_of(template: Any) -> dict[str, Any]:
    _, endpoint = only(template, "AWS::SageMaker::Endpoint")
    return dict(endpoint["Properties"])


def rollback_alarm_ids(template: Any) -> list[str]:
    config = endpoint_of(template)["DeploymentConfig"]
    return [a["AlarmName"]["Ref"] for a in config["AutoRollbackConfiguration"]["Alarms"]]


def alarm(template: Any, logical_id: str) -> dict[str, Any]:
    return dict(template.find_resources("AWS::CloudWatch::Alarm")[logical_id]["Properties"])


def execution_role_grants(template: Any) -> dict[str, list[Any]]:
    from tests.test_model_and_endpoint import allowed, execution_role_policy

    _, policy = execution_role_policy(template)
    return allowed(policy)


def alarm_arn(logical_id: str) -> dict[str, Any]:
    parts = ["arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":"]
    return {"Fn::Join": ["", [*parts, {"Ref": "AWS::AccountId"}, ":alarm:", {"Ref": logical_id}]]}


# --- the default templates --------------------------------------------------------------------


def test_prod_updates_blue_green_all_at_once_with_a_bake_and_three_rollback_alarms(
    prod: Any,
) -> None:
    endpoint = endpoint_of(prod)
    failures, latency, recorder = rollback_alarm_ids(prod)
    assert endpoint["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
            "TerminationWaitInSeconds": 600,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [
                {"AlarmName": {"Ref": failures}},
                {"AlarmName": {"Ref": latency}},
                {"AlarmName": {"Ref": recorder}},
            ]
        },
    }
    # Updates keep the instance count scaling set (an idle endpoint stays at zero).
    assert endpoint["RetainAllVariantProperties"] is True
    assert schema_errors("AWS::SageMaker::Endpoint", endpoint) == []


def test_dev_bakes_two_minutes_and_keeps_no_old_fleet(dev: Any) -> None:
    assert endpoint_of(dev)["DeploymentConfig"]["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 120},
        "TerminationWaitInSeconds": 0,
        "MaximumExecutionTimeoutInSeconds": 3600,
    }


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_endpoints_own_rollback_alarms_watch_it_by_its_literal_name(
    environment: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(environment)
    name = endpoint_of(template)["EndpointName"]
    assert isinstance(name, str)  # a literal: a GetAtt would make the endpoint wait for itself
    failures, latency, _ = rollback_alarm_ids(template)
    dimensions = [
        {"Name": "EndpointName", "Value": name},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    expected_failures = {
        "Namespace": "AWS/SageMaker",
        "MetricName": "InvocationFailures",
        "Dimensions": dimensions,
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }
    expected_latency = {
        "Namespace": "AWS/SageMaker",
        "MetricName": "ModelLatency",
        "Dimensions": dimensions,
        "ExtendedStatistic": "p90",
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        # 60 s in microseconds, the unit SageMaker publishes ModelLatency in.
        "Threshold": 60_000_000,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
    topic_id, _ = only(
        template,
        "AWS::SNS::Topic",
        {"Properties": {"DisplayName": "Summarization endpoint alarms"}},
    )
    for logical_id, expected in ((failures, expected_failures), (latency, expected_latency)):
        properties = alarm(template, logical_id)
        description = properties.pop("AlarmDescription")
        assert description.endswith("Runbook: docs/deployments.md.")
        # A rollback pages the operations topic (and an alarm without an action would fail
        # CT.CLOUDWATCH.PR.1 in a governed account).
        assert properties == {
            **expected,
            "AlarmActions": [{"Ref": topic_id}],
            "OKActions": [{"Ref": topic_id}],
        }
        assert schema_errors("AWS::CloudWatch::Alarm", properties) == []


def test_the_data_paths_recorder_errors_roll_back_too(prod: Any) -> None:
    *_, recorder_alarm = rollback_alarm_ids(prod)
    recorder_id, _ = only(
        prod,
        "AWS::Lambda::Function",
        {
            "Properties": {
                "Description": "Records async inference outcomes as jobs and curated summaries"
            }
        },
    )
    properties = alarm(prod, recorder_alarm)
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", "Errors")
    assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": recorder_id}}]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_execution_role_may_describe_exactly_the_rollback_alarms(
    environment: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(environment)
    failures, latency, recorder = rollback_alarm_ids(template)
    grants = execution_role_grants(template)
    assert sorted(map(str, grants["cloudwatch:DescribeAlarms"])) == sorted(
        map(
            str,
            [
                alarm_arn(failures),
                alarm_arn(latency),
                {"Fn::GetAtt": [recorder, "Arn"]},
            ],
        )
    )


# --- other configurations of the app (tests/_variants.py) -------------------------------------


def test_a_fleet_of_two_or_more_rolls_in_batches() -> None:
    template = variants().template("rolling")
    endpoint = endpoint_of(template)
    failures, recorder = rollback_alarm_ids(template)  # the latency alarm is off
    assert endpoint["DeploymentConfig"] == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 1800,
            "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": {"Ref": failures}}, {"AlarmName": {"Ref": recorder}}]
        },
    }
    assert schema_errors("AWS::SageMaker::Endpoint", endpoint) == []


def test_without_guardrails_the_endpoint_updates_as_sagemaker_does_by_default() -> None:
    template = variants().template("unguarded")
    assert "DeploymentConfig" not in endpoint_of(template)
    assert "cloudwatch:DescribeAlarms" not in execution_role_grants(template)
    for properties in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert "deployment" not in properties["Properties"].get("AlarmDescription", "")


# --- the construct on its own -----------------------------------------------------------------


def _endpoint(code_dir: Path, **options: Any) -> tuple[Any, Any]:
    import aws_cdk as cdk

    stack = cdk.Stack(construct_app(), "Guarded")
    return endpoint_in(stack, code_dir, **options), stack


@pytest.mark.parametrize(
    ("strategy", "routing"),
    [
        (
            "CANARY",
            {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
        ),
        (
            "LINEAR",
            {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 300,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
        ),
    ],
)
def test_canary_and_linear_shift_a_share_of_the_new_fleet(
    code_dir: Path, strategy: str, routing: dict[str, Any]
) -> None:
    from aws_cdk.assertions import Template

    _, stack = _endpoint(
        code_dir, initial_instance_count=2, deployment=DeploymentSettings(strategy=strategy)
    )
    endpoint = endpoint_of(Template.from_stack(stack))
    assert endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": routing,
        "TerminationWaitInSeconds": 600,
        "MaximumExecutionTimeoutInSeconds": 3600,
    }
    assert schema_errors("AWS::SageMaker::Endpoint", endpoint) == []


def test_a_stepped_strategy_on_one_instance_is_refused(code_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        _endpoint(code_dir, deployment=DeploymentSettings(strategy="CANARY", step_percent=50))
    assert error.value.problems == (
        "deployment.strategy: CANARY moves 50 % of the instances at a time, at most half and "
        "at least one, so it needs 2 or more whenever the endpoint is updated, but "
        "initial_instance_count lets it be at 1; use ALL_AT_ONCE or set initial_instance_count "
        "to 2 or more (got strategy 'CANARY' with initial_instance_count 1)",
    )


def test_scaling_a_stepped_endpoint_below_two_instances_is_refused(code_dir: Path) -> None:
    from constructs_lib import AsyncEndpointScaling, ScalingSettings

    endpoint, stack = _endpoint(
        code_dir, initial_instance_count=2, deployment=DeploymentSettings(strategy="ROLLING")
    )
    with pytest.raises(ConfigurationError) as error:
        AsyncEndpointScaling(stack, "Scaling", endpoint=endpoint, settings=ScalingSettings())
    assert error.value.problems == (
        "deployment.strategy: ROLLING moves 25 % of the instances at a time, at most half and "
        "at least one, so it needs 2 or more whenever the endpoint is updated, but "
        "min_capacity lets it be at 0; use ALL_AT_ONCE or set min_capacity to 2 or more "
        "(got strategy 'ROLLING' with min_capacity 0)",
    )


def test_no_latency_alarm_when_it_is_turned_off(code_dir: Path) -> None:
    from aws_cdk.assertions import Template

    endpoint, stack = _endpoint(
        code_dir, deployment=DeploymentSettings(max_model_latency_seconds=None)
    )
    template = Template.from_stack(stack)
    (failures,) = rollback_alarm_ids(template)
    assert alarm(template, failures)["MetricName"] == "InvocationFailures"
    assert len(endpoint.rollback_alarm_names) == 1


def test_rollback_alarms_need_guardrails(code_dir: Path) -> None:
    from aws_cdk import aws_cloudwatch as cloudwatch

    endpoint, stack = _endpoint(code_dir)
    other = cloudwatch.Alarm.from_alarm_arn(
        stack, "Other", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:other"
    )
    with pytest.raises(ConfigurationError) as error:
        endpoint.add_rollback_alarms([other])
    assert error.value.problems == (
        "alarms: rollback alarms need deployment guardrails: give the endpoint "
        "deployment=DeploymentSettings(...)",
    )


def test_an_endpoint_rolls_back_on_at_most_ten_alarms(code_dir: Path) -> None:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk.assertions import Template

    endpoint, stack = _endpoint(code_dir, deployment=DeploymentSettings())
    others = [
        cloudwatch.Alarm.from_alarm_arn(
            stack, f"Other{i}", f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:other-{i}"
        )
        for i in range(9)
    ]
    with pytest.raises(ConfigurationError) as error:
        endpoint.add_rollback_alarms(others)
    assert error.value.problems == (
        "alarms: an endpoint rolls back on at most 10 alarms (got 11 with the 2 it has)",
    )
    endpoint.add_rollback_alarms(others[:8])
    alarms = endpoint_of(Template.from_stack(stack))["DeploymentConfig"][
        "AutoRollbackConfiguration"
    ]["Alarms"]
    assert [a["AlarmName"] for a in alarms[2:]] == [f"other-{i}" for i in range(8)]


# --- configuration ----------------------------------------------------------------------------


def dev_with(**fields: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {"summarizer": copy.deepcopy(cdk_json_context()["summarizer"])}
    ctx["summarizer"]["environments"]["dev"].update(fields)
    ctx["summarizer.environment"] = "dev"
    return ctx


def problems_of(ctx: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigurationError) as error:
        load_configs(ctx)
    return error.value.problems


@pytest.mark.parametrize(
    ("deployment", "problem"),
    [
        (
            {"strategy": "BLUE_GREEN"},
            "deployment.strategy: must be one of ALL_AT_ONCE, CANARY, LINEAR, ROLLING "
            "(got 'BLUE_GREEN')",
        ),
        (
            {"wait_interval_seconds": 3601, "maximum_execution_timeout_seconds": 7200},
            "deployment.wait_interval_seconds: must be at most 3600 (got 3601)",
        ),
        (
            {"termination_wait_seconds": -1},
            "deployment.termination_wait_seconds: must be at least 0 (got -1)",
        ),
        (
            {"maximum_execution_timeout_seconds": 599},
            "deployment.maximum_execution_timeout_seconds: must be at least 600 (got 599)",
        ),
        (
            {"maximum_execution_timeout_seconds": 900},
            "deployment.maximum_execution_timeout_seconds: must be more than "
            "wait_interval_seconds + the termination wait (900 s), and leave time for the new "
            "instances' cold start (got 900)",
        ),
        ({"failures_threshold": 0}, "deployment.failures_threshold: must be at least 1 (got 0)"),
        (
            {"max_model_latency_seconds": 0},
            "deployment.max_model_latency_seconds: must be greater than 0 (got 0.0)",
        ),
        (
            {"rollback_step_percent": 50},
            "deployment.rollback_step_percent: only applies to strategy ROLLING; a blue/green "
            "rollback moves all traffic back at once (got 50 with strategy 'ALL_AT_ONCE')",
        ),
        (
            {"rollback_on_data_path_errors": "yes"},
            "deployment.rollback_on_data_path_errors: must be bool (got 'yes')",
        ),
    ],
)
def test_each_bad_deployment_setting_is_named_with_its_value(
    deployment: dict[str, Any], problem: str
) -> None:
    # prod's own waits (300 + 600 s) make the timeout's lower bound visible.
    base = {"wait_interval_seconds": 300, "termination_wait_seconds": 600}
    assert problems_of(dev_with(deployment={**base, **deployment})) == (f"[dev] {problem}",)


@pytest.mark.parametrize(
    ("strategy", "step", "problem"),
    [
        ("LINEAR", 5, "deployment.step_percent: must be at least 10 (got 5)"),
        ("ROLLING", 4, "deployment.step_percent: must be at least 5 (got 4)"),
        ("CANARY", 51, "deployment.step_percent: must be at most 50 (got 51)"),
    ],
)
def test_each_strategy_has_its_step_bounds(strategy: str, step: int, problem: str) -> None:
    ctx = dev_with(
        initial_instance_count=2,
        scaling={"min_capacity": 2, "max_capacity": 4},
        deployment={"strategy": strategy, "step_percent": step, "termination_wait_seconds": None},
    )
    assert problems_of(ctx) == (f"[dev] {problem}",)


def test_rolling_has_no_termination_wait() -> None:
    ctx = dev_with(
        initial_instance_count=2,
        scaling={"min_capacity": 2, "max_capacity": 4},
        deployment={"strategy": "ROLLING", "termination_wait_seconds": 0},
    )
    assert problems_of(ctx) == (
        "[dev] deployment.termination_wait_seconds: only applies to blue/green; strategy "
        "ROLLING removes old instances after each batch and has no termination wait (got 0)",
    )


def test_rolling_counts_no_termination_wait_against_the_timeout() -> None:
    ctx = dev_with(
        initial_instance_count=2,
        scaling={"min_capacity": 2, "max_capacity": 4},
        deployment={
            "strategy": "ROLLING",
            "wait_interval_seconds": 60,
            "termination_wait_seconds": None,
            "maximum_execution_timeout_seconds": 600,
        },
    )
    (dev,) = load_configs(ctx)
    assert dev.deployment is not None and dev.deployment.termination_wait == 0


def test_the_default_scale_to_zero_endpoint_refuses_stepped_strategies() -> None:
    problems = problems_of(dev_with(deployment={"strategy": "CANARY"}))
    assert problems == (
        "[dev] deployment.strategy: CANARY moves 25 % of the instances at a time, at most half "
        "and at least one, so it needs 2 or more whenever the endpoint is updated, but "
        "scaling.min_capacity lets it be at 0; use ALL_AT_ONCE or set scaling.min_capacity to 2 "
        "or more (got strategy 'CANARY' with scaling.min_capacity 0)",
        "[dev] deployment.strategy: CANARY moves 25 % of the instances at a time, at most half "
        "and at least one, so it needs 2 or more whenever the endpoint is updated, but "
        "initial_instance_count lets it be at 1; use ALL_AT_ONCE or set initial_instance_count "
        "to 2 or more (got strategy 'CANARY' with initial_instance_count 1)",
    )


def test_deployment_does_not_apply_to_another_hosting_option_and_says_so() -> None:
    # Not refused: an environment's guardrails stay written while it tries another option.
    (dev,) = load_configs(dev_with(hosting="realtime", deployment={"wait_interval_seconds": 60}))
    assert dev.warnings() == [
        "deployment: guardrails of the async endpoint's updates do not apply to hosting "
        "'realtime' (real-time: realtime.blue_green); ignored"
    ]
    # Their own bounds are still checked: a bad value is bad whichever option reads it.
    assert problems_of(dev_with(hosting="realtime", deployment={"wait_interval_seconds": -1})) == (
        "[dev] deployment.wait_interval_seconds: must be at least 0 (got -1)",
    )


def test_null_turns_the_guardrails_off() -> None:
    (dev,) = load_configs(dev_with(deployment=None))
    assert dev.deployment is None
