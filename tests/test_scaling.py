"""AsyncEndpointScaling and ScalingSettings: the scalable target, its policies and alarms.

One app is synthesized once for the module. It holds three stacks, each with the real storage,
topics, model and endpoint: ``Default`` (default settings), ``Tuned`` (non-default values
everywhere, spike policy and scheduled actions on, so each value seen can only have come from the
settings) and ``NamedEndpoint`` (an endpoint with a literal name, which needs an explicit
DependsOn).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Capture, Match, Template
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from constructs_lib._validation import ConfigurationError
from constructs_lib.endpoint.construct import AsyncEndpoint
from constructs_lib.scaling.construct import AsyncEndpointScaling
from constructs_lib.scaling.schedules import schedule_expression_problem
from constructs_lib.scaling.settings import ScalingSettings, ScheduledCapacity
from tests.conftest import construct_app, endpoint_in

TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
ALARM = "AWS::CloudWatch::Alarm"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SERVICE_LINKED_ROLE = (
    ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
FIXED_NAME = "pegasus-fixed-name"
IMPORTED_NAME = "existing-summarizer"

BUSINESS_HOURS = ScheduledCapacity(
    name="business-hours",
    schedule="cron(0 8 ? * MON-FRI *)",
    min_capacity=1,
    timezone="Europe/Berlin",
)
NIGHT = ScheduledCapacity(
    name="night", schedule="cron(0 20 ? * MON-FRI *)", min_capacity=0, max_capacity=4
)
TUNED = ScalingSettings(
    min_capacity=0,
    max_capacity=8,
    target_backlog_per_instance=20,
    scale_in_cooldown_seconds=300,
    scale_out_cooldown_seconds=60,
    wake_up_period_seconds=120,
    wake_up_evaluation_periods=2,
    wake_up_cooldown_seconds=420,
    spike_enabled=True,
    spike_threshold_multiple=2.5,
    spike_step_instances=3,
    spike_large_step_instances=6,
    spike_period_seconds=180,
    spike_evaluation_periods=2,
    scheduled_actions=(BUSINESS_HOURS, NIGHT),
)


@dataclass(frozen=True)
class Built:
    default: Template
    tuned: Template
    named: Template
    imported: Template
    default_scaling: AsyncEndpointScaling
    tuned_scaling: AsyncEndpointScaling
    endpoint: AsyncEndpoint


@pytest.fixture(scope="module")
def built(code_dir: Path) -> Built:
    app = construct_app()
    stacks = {}
    scalings = {}
    for name, settings, options in (
        ("Default", ScalingSettings(), {}),
        ("Tuned", TUNED, {}),
        ("NamedEndpoint", ScalingSettings(), {"endpoint_name": FIXED_NAME}),
    ):
        stack = cdk.Stack(app, name)
        endpoint = endpoint_in(stack, code_dir, **options)
        scalings[name] = AsyncEndpointScaling(
            stack, "Scaling", endpoint=endpoint, settings=settings
        )
        stacks[name] = stack
    # An endpoint this app does not create: scaling attaches to it by name alone.
    stack = cdk.Stack(app, "Imported")
    existing = AsyncEndpoint.from_endpoint_name(stack, "Existing", IMPORTED_NAME)
    AsyncEndpointScaling(stack, "Scaling", endpoint=existing, settings=ScalingSettings())
    stacks["Imported"] = stack
    return Built(
        default=Template.from_stack(stacks["Default"]),
        tuned=Template.from_stack(stacks["Tuned"]),
        named=Template.from_stack(stacks["NamedEndpoint"]),
        imported=Template.from_stack(stacks["Imported"]),
        default_scaling=scalings["Default"],
        tuned_scaling=scalings["Tuned"],
        endpoint=scalings["Default"].endpoint,
    )


def only(template: Template, resource_type: str, props: Any = None) -> tuple[str, dict[str, Any]]:
    """The one resource of ``resource_type`` (matching ``props``): (logical id, definition)."""
    found = template.find_resources(resource_type, props or {})
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def endpoint_id(template: Template) -> str:
    return only(template, "AWS::SageMaker::Endpoint")[0]


def endpoint_dimensions(template: Template) -> list[dict[str, Any]]:
    """Exactly one dimension, EndpointName, holding the endpoint's name attribute."""
    return [
        {"Name": "EndpointName", "Value": {"Fn::GetAtt": [endpoint_id(template), "EndpointName"]}}
    ]


def policy_named_by(template: Template, alarm_metric: str) -> tuple[str, dict[str, Any]]:
    """The scaling policy that the alarm on ``alarm_metric`` triggers (through its ARN)."""
    actions = Capture()
    template.has_resource_properties(ALARM, {"MetricName": alarm_metric, "AlarmActions": actions})
    assert len(actions.as_array()) == 1
    # Ref of AWS::ApplicationAutoScaling::ScalingPolicy is the policy's ARN.
    policy_id = actions.as_array()[0]["Ref"]
    return policy_id, template.to_json()["Resources"][policy_id]


# --- scalable target ----------------------------------------------------------------------------


def test_scalable_target_registers_the_variant_with_min_and_max(built: Built) -> None:
    built.default.resource_count_is(TARGET, 1)
    built.default.has_resource_properties(
        TARGET,
        {
            "ServiceNamespace": "sagemaker",
            "ScalableDimension": DIMENSION,
            "MinCapacity": 0,
            "MaxCapacity": 5,
            "ResourceId": {
                "Fn::Join": [
                    "",
                    [
                        "endpoint/",
                        {"Fn::GetAtt": [endpoint_id(built.default), "EndpointName"]},
                        "/variant/AllTraffic",
                    ],
                ]
            },
            "ScheduledActions": Match.absent(),
        },
    )


def test_scalable_target_is_created_after_and_deleted_before_the_endpoint(built: Built) -> None:
    # The ResourceId's GetAtt on the endpoint is the dependency (CloudFormation orders creation
    # and, reversed, deletion by it); an explicit DependsOn on top would be cfn-lint W3005.
    logical_id, target = only(built.default, TARGET)
    join_parts = target["Properties"]["ResourceId"]["Fn::Join"][1]
    assert {"Fn::GetAtt": [endpoint_id(built.default), "EndpointName"]} in join_parts
    assert "DependsOn" not in target
    # The policies reference the target, so they go after it (and before it on delete).
    for policy in built.default.find_resources(POLICY).values():
        assert policy["Properties"]["ScalingTargetId"] == {"Ref": logical_id}


def test_a_literal_endpoint_name_gets_an_explicit_depends_on(built: Built) -> None:
    _, target = only(built.named, TARGET)
    assert target["Properties"]["ResourceId"] == f"endpoint/{FIXED_NAME}/variant/AllTraffic"
    assert endpoint_id(built.named) in target["DependsOn"]


def test_an_imported_endpoint_is_scaled_by_name_with_both_policies(built: Built) -> None:
    _, target = only(built.imported, TARGET)
    assert target["Properties"]["ResourceId"] == f"endpoint/{IMPORTED_NAME}/variant/AllTraffic"
    assert "DependsOn" not in target
    built.imported.resource_count_is("AWS::SageMaker::Endpoint", 0)
    _, wake_up = policy_named_by(built.imported, "HasBacklogWithoutCapacity")
    assert wake_up["Properties"]["PolicyType"] == "StepScaling"
    built.imported.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "HasBacklogWithoutCapacity",
            "Dimensions": [{"Name": "EndpointName", "Value": IMPORTED_NAME}],
        },
    )


def test_scalable_target_uses_the_service_linked_role_and_creates_no_role(built: Built) -> None:
    built.default.has_resource_properties(
        TARGET,
        {
            "RoleARN": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":iam::",
                        {"Ref": "AWS::AccountId"},
                        SERVICE_LINKED_ROLE,
                    ],
                ]
            }
        },
    )
    autoscaling_roles = built.default.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Principal": {"Service": "application-autoscaling.amazonaws.com"}}
                            )
                        ]
                    )
                }
            }
        },
    )
    assert autoscaling_roles == {}


# --- target tracking ----------------------------------------------------------------------------


def test_target_tracking_follows_backlog_per_instance_with_the_default_settings(
    built: Built,
) -> None:
    built.default.has_resource_properties(
        POLICY,
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance",
                    "Namespace": "AWS/SageMaker",
                    "Statistic": "Average",
                    "Dimensions": endpoint_dimensions(built.default),
                },
                "TargetValue": 5,
                "ScaleInCooldown": 120,
                "ScaleOutCooldown": 120,
                "DisableScaleIn": Match.absent(),
            },
        },
    )


def test_target_tracking_takes_target_and_cooldowns_from_settings(built: Built) -> None:
    built.tuned.has_resource_properties(
        POLICY,
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "CustomizedMetricSpecification": Match.object_like(
                    {
                        "MetricName": "ApproximateBacklogSizePerInstance",
                        "Dimensions": endpoint_dimensions(built.tuned),
                    }
                ),
                "TargetValue": 20,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        },
    )


# --- wake-up from zero --------------------------------------------------------------------------


def test_wake_up_alarm_watches_backlog_without_capacity_for_one_minute(built: Built) -> None:
    built.default.has_resource_properties(
        ALARM,
        {
            "MetricName": "HasBacklogWithoutCapacity",
            "Namespace": "AWS/SageMaker",
            "Dimensions": endpoint_dimensions(built.default),
            "Statistic": "Average",
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": Match.absent(),
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def test_wake_up_alarm_triggers_a_single_step_of_plus_one(built: Built) -> None:
    policy_id, policy = policy_named_by(built.default, "HasBacklogWithoutCapacity")
    assert policy["Type"] == POLICY
    assert policy["Properties"]["PolicyType"] == "StepScaling"
    # Bounds are relative to the threshold 1: [0, inf) is "HasBacklogWithoutCapacity >= 1".
    assert policy["Properties"]["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Average",
        "Cooldown": 600,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }
    scaling = built.default_scaling
    assert cdk.Stack.of(scaling).resolve(scaling.wake_up_action.scaling_policy_arn) == {
        "Ref": policy_id
    }


def test_wake_up_period_evaluations_and_cooldown_come_from_settings(built: Built) -> None:
    built.tuned.has_resource_properties(
        ALARM,
        {"MetricName": "HasBacklogWithoutCapacity", "Period": 120, "EvaluationPeriods": 2},
    )
    _, policy = policy_named_by(built.tuned, "HasBacklogWithoutCapacity")
    assert policy["Properties"]["StepScalingPolicyConfiguration"]["Cooldown"] == 420


def test_default_settings_make_no_spike_policy_and_no_schedules(built: Built) -> None:
    built.default.resource_count_is(POLICY, 2)
    built.default.resource_count_is(ALARM, 1)
    assert built.default_scaling.spike_action is None
    assert built.default_scaling.spike_alarm is None


# --- spike policy -------------------------------------------------------------------------------


def test_spike_alarm_fires_at_the_threshold_multiple_of_the_target(built: Built) -> None:
    assert TUNED.spike_threshold == 50  # 20 x 2.5
    built.tuned.has_resource_properties(
        ALARM,
        {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": endpoint_dimensions(built.tuned),
            "Statistic": "Average",
            "Period": 180,
            "EvaluationPeriods": 2,
            "Threshold": 50,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def test_spike_alarm_triggers_two_steps_with_the_scale_out_cooldown(built: Built) -> None:
    _, policy = policy_named_by(built.tuned, "ApproximateBacklogSizePerInstance")
    assert policy["Properties"]["PolicyType"] == "StepScaling"
    # Backlog per instance in [50, 100) adds 3 instances, [100, inf) adds 6.
    assert policy["Properties"]["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Average",
        "Cooldown": 60,
        "StepAdjustments": [
            {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 50, "ScalingAdjustment": 3},
            {"MetricIntervalLowerBound": 50, "ScalingAdjustment": 6},
        ],
    }


def test_tuned_stack_has_three_policies_and_two_alarms(built: Built) -> None:
    built.tuned.resource_count_is(POLICY, 3)
    built.tuned.resource_count_is(ALARM, 2)
    assert built.tuned_scaling.spike_action is not None
    assert built.tuned_scaling.spike_alarm is not None


# --- scheduled actions --------------------------------------------------------------------------


def test_scheduled_actions_change_min_and_max_on_the_target(built: Built) -> None:
    built.tuned.has_resource_properties(
        TARGET,
        {
            "MinCapacity": 0,
            "MaxCapacity": 8,
            "ScheduledActions": [
                {
                    "ScheduledActionName": "business-hours",
                    "Schedule": "cron(0 8 ? * MON-FRI *)",
                    "ScalableTargetAction": {"MinCapacity": 1},
                    "Timezone": "Europe/Berlin",
                },
                {
                    "ScheduledActionName": "night",
                    "Schedule": "cron(0 20 ? * MON-FRI *)",
                    "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 4},
                    "Timezone": Match.absent(),
                },
            ],
        },
    )


# --- lint ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["default", "tuned", "named"])
def test_cfn_lint_reports_nothing(built: Built, which: str) -> None:
    template = getattr(built, which).to_json()
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


# --- settings validation ------------------------------------------------------------------------


def test_default_and_tuned_settings_have_no_problems() -> None:
    assert ScalingSettings().problems() == []
    assert TUNED.problems() == []


def test_defaults_are_the_documented_ones() -> None:
    settings = ScalingSettings()
    assert (
        settings.min_capacity,
        settings.max_capacity,
        settings.target_backlog_per_instance,
        settings.scale_in_cooldown_seconds,
        settings.scale_out_cooldown_seconds,
        settings.wake_up_period_seconds,
        settings.wake_up_evaluation_periods,
        settings.spike_enabled,
        settings.scheduled_actions,
    ) == (0, 5, 5, 120, 120, 60, 1, False, ())


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"min_capacity": -1}, ["min_capacity: must be at least 0 (got -1)"]),
        ({"max_capacity": 0}, ["max_capacity: must be at least 1 (got 0)"]),
        (
            {"min_capacity": 6},
            ["min_capacity: must not exceed max_capacity 5 (got 6)"],
        ),
        ({"max_capacity": 2.5}, ["max_capacity: must be a whole number (got 2.5)"]),
        (
            {"target_backlog_per_instance": 0},
            ["target_backlog_per_instance: must be greater than 0 (got 0)"],
        ),
        (
            {"target_backlog_per_instance": "5"},
            ["target_backlog_per_instance: must be a number (got '5')"],
        ),
        (
            {"target_backlog_per_instance": float("nan")},
            ["target_backlog_per_instance: must be a finite number (got nan)"],
        ),
        (
            {"scale_in_cooldown_seconds": -1},
            ["scale_in_cooldown_seconds: must be at least 0 (got -1)"],
        ),
        (
            {"scale_out_cooldown_seconds": -5},
            ["scale_out_cooldown_seconds: must be at least 0 (got -5)"],
        ),
        (
            {"wake_up_period_seconds": 30},
            ["wake_up_period_seconds: must be at least 60 (got 30)"],
        ),
        (
            {"wake_up_period_seconds": 90},
            [
                "wake_up_period_seconds: must be a multiple of 60 (SageMaker publishes these "
                "metrics once a minute) (got 90)"
            ],
        ),
        (
            {"wake_up_evaluation_periods": 0},
            ["wake_up_evaluation_periods: must be at least 1 (got 0)"],
        ),
        (
            {"wake_up_period_seconds": 3600, "wake_up_evaluation_periods": 25},
            [
                "wake_up_evaluation_periods: wake_up_period_seconds x wake_up_evaluation_periods "
                "must be at most one day (86400 s) (got 25)"
            ],
        ),
        (
            {"wake_up_cooldown_seconds": -1},
            ["wake_up_cooldown_seconds: must be at least 0 (got -1)"],
        ),
        ({"spike_enabled": "yes"}, ["spike_enabled: must be true or false (got 'yes')"]),
        (
            {"spike_threshold_multiple": 1},
            ["spike_threshold_multiple: must be greater than 1 (got 1)"],
        ),
        ({"spike_step_instances": 0}, ["spike_step_instances: must be at least 1 (got 0)"]),
        (
            {"spike_step_instances": 3, "spike_large_step_instances": 2},
            ["spike_large_step_instances: must be at least spike_step_instances 3 (got 2)"],
        ),
        (
            {"spike_period_seconds": 61},
            [
                "spike_period_seconds: must be a multiple of 60 (SageMaker publishes these "
                "metrics once a minute) (got 61)"
            ],
        ),
        (
            {"spike_evaluation_periods": 0},
            ["spike_evaluation_periods: must be at least 1 (got 0)"],
        ),
        (
            {"scheduled_actions": "night"},
            ["scheduled_actions: must be a list of scheduled actions (got 'night')"],
        ),
        (
            {"scheduled_actions": ({"name": "night"},)},
            ["scheduled_actions[0]: must be a ScheduledCapacity (got {'name': 'night'})"],
        ),
    ],
)
def test_each_bad_setting_is_reported_with_its_value(
    changes: dict[str, Any], expected: list[str]
) -> None:
    assert dataclasses.replace(ScalingSettings(), **changes).problems() == expected


def action(**changes: Any) -> ScheduledCapacity:
    return dataclasses.replace(BUSINESS_HOURS, **changes)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (
            (action(schedule="cron(0 8 * * ?)"),),
            [
                "scheduled_actions[0].schedule: cron expressions need 6 space-separated fields: "
                "minutes hours day-of-month month day-of-week year (found 5) "
                "(got 'cron(0 8 * * ?)')"
            ],
        ),
        (
            (action(schedule="cron(0 25 ? * MON-FRI *)"),),
            [
                "scheduled_actions[0].schedule: cron hours field '25' is not valid "
                "(got 'cron(0 25 ? * MON-FRI *)')"
            ],
        ),
        (
            (action(schedule="cron(0 8 ? * MON-FRY *)"),),
            [
                "scheduled_actions[0].schedule: cron day-of-week field 'MON-FRY' is not valid "
                "(got 'cron(0 8 ? * MON-FRY *)')"
            ],
        ),
        (
            (action(schedule="cron(0 8 * * MON-FRI *)"),),
            [
                "scheduled_actions[0].schedule: cron expressions need '?' in exactly one of "
                "day-of-month and day-of-week (got 'cron(0 8 * * MON-FRI *)')"
            ],
        ),
        (
            (action(schedule="cron(0 8 ? * ? *)"),),
            [
                "scheduled_actions[0].schedule: cron expressions need '?' in exactly one of "
                "day-of-month and day-of-week (got 'cron(0 8 ? * ? *)')"
            ],
        ),
        (
            (action(schedule="rate(0 minutes)", timezone=None),),
            [
                "scheduled_actions[0].schedule: rate expressions look like 'rate(N unit)' with "
                "N >= 1 and unit minute(s), hour(s) or day(s) (got 'rate(0 minutes)')"
            ],
        ),
        (
            (action(schedule="rate(5 weeks)", timezone=None),),
            [
                "scheduled_actions[0].schedule: rate expressions look like 'rate(N unit)' with "
                "N >= 1 and unit minute(s), hour(s) or day(s) (got 'rate(5 weeks)')"
            ],
        ),
        (
            (action(schedule="at(2026-02-30T08:00:00)"),),
            [
                "scheduled_actions[0].schedule: at expressions look like "
                "'at(yyyy-mm-ddThh:mm:ss)' with a real date and time "
                "(got 'at(2026-02-30T08:00:00)')"
            ],
        ),
        (
            (action(schedule="0 8 * * 1-5"),),
            [
                "scheduled_actions[0].schedule: must be a cron(...), rate(...) or at(...) "
                "expression (got '0 8 * * 1-5')"
            ],
        ),
        (
            (action(name="weekday:morning"),),
            [
                "scheduled_actions[0].name: must be 1-256 printable ASCII characters without "
                "':', '/' or '|', not starting with a space (got 'weekday:morning')"
            ],
        ),
        (
            (action(name=""),),
            [
                "scheduled_actions[0].name: must be 1-256 printable ASCII characters without "
                "':', '/' or '|', not starting with a space (got '')"
            ],
        ),
        (
            (BUSINESS_HOURS, action(min_capacity=2)),
            [
                "scheduled_actions[1].name: must be unique among scheduled actions "
                "(got 'business-hours')"
            ],
        ),
        (
            (action(min_capacity=None),),
            ["scheduled_actions[0]: give min_capacity, max_capacity or both (got neither)"],
        ),
        (
            (action(min_capacity=6),),
            [
                "scheduled_actions[0].min_capacity: must be within min_capacity 0 and "
                "max_capacity 5 (got 6)"
            ],
        ),
        (
            (action(min_capacity=None, max_capacity=-1),),
            ["scheduled_actions[0].max_capacity: must be at least 0 (got -1)"],
        ),
        (
            (action(min_capacity=3, max_capacity=2),),
            [
                "scheduled_actions[0].min_capacity: must not exceed the action's max_capacity 2 "
                "(got 3)"
            ],
        ),
        (
            (action(timezone="Mars/Olympus_Mons"),),
            [
                "scheduled_actions[0].timezone: must be an IANA time zone name such as "
                "'Europe/Berlin' (got 'Mars/Olympus_Mons')"
            ],
        ),
        (
            (action(schedule="rate(1 day)"),),
            [
                "scheduled_actions[0].timezone: only applies to cron and at schedules "
                "(got 'Europe/Berlin')"
            ],
        ),
    ],
)
def test_each_bad_scheduled_action_is_reported_with_its_value(
    actions: tuple[ScheduledCapacity, ...], expected: list[str]
) -> None:
    settings = ScalingSettings(scheduled_actions=actions)
    assert settings.problems() == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 8 ? * MON-FRI *)",
        "cron(*/15 8-18 ? * 2-6 2026-2030)",
        "cron(0 0 1,15 JAN-MAR ? *)",
        "cron(30 22 L * ? *)",
        "cron(0 9 15W * ? *)",
        "cron(0 9 ? * 6L *)",
        "cron(0 9 ? * MON#2 *)",
        "cron(0/30 * ? * * *)",
        "rate(1 minute)",
        "rate(12 hours)",
        "at(2026-12-24T18:00:00)",
    ],
)
def test_well_formed_schedule_expressions_pass(expression: str) -> None:
    assert schedule_expression_problem(expression) is None


def test_every_problem_is_reported_at_once() -> None:
    settings = ScalingSettings(
        min_capacity=-1,
        target_backlog_per_instance=0,
        scheduled_actions=(action(schedule="rate(5 weeks)", timezone=None),),
    )
    assert settings.problems() == [
        "min_capacity: must be at least 0 (got -1)",
        "target_backlog_per_instance: must be greater than 0 (got 0)",
        "scheduled_actions[0].schedule: rate expressions look like 'rate(N unit)' with N >= 1 "
        "and unit minute(s), hour(s) or day(s) (got 'rate(5 weeks)')",
    ]


def test_the_construct_raises_configuration_error_listing_every_problem(built: Built) -> None:
    settings = ScalingSettings(max_capacity=0, scale_in_cooldown_seconds=-1)
    scope = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ConfigurationError) as raised:
        AsyncEndpointScaling(scope, "Scaling", endpoint=built.endpoint, settings=settings)
    assert raised.value.problems == (
        "max_capacity: must be at least 1 (got 0)",
        "scale_in_cooldown_seconds: must be at least 0 (got -1)",
    )
    assert str(raised.value).startswith("AsyncEndpointScaling: 2 problems:\n")
    assert scope.node.try_find_child("Scaling") is not None  # raised inside, before any resource
    assert scope.node.find_child("Scaling").node.children == []
