"""The policies every scaled SageMaker target is given, made one way for each endpoint family.

The asynchronous endpoint (``AsyncEndpointScaling``), the real-time endpoint
(``RealtimeScaling``) and inference components (``InferenceComponent``) differ only in the
metrics they follow and the steps they take; the target tracking policies, the alarm-driven step
policies and the scheduled actions are made here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib.scaling.settings import ScheduledCapacity

# (change in capacity, lower bound, upper bound or None for unbounded); bounds are relative to
# the alarm threshold, as in the API: (1, 0, None) adds one while the metric is >= threshold.
Step = tuple[int, float, float | None]


def cooldowns(scale_in_seconds: int, scale_out_seconds: int) -> tuple[Duration, Duration]:
    """The (scale-in, scale-out) cooldowns that every target tracking policy of a target shares."""
    return cdk_values.seconds(scale_in_seconds), cdk_values.seconds(scale_out_seconds)


def track(
    target: appscaling.ScalableTarget,
    construct_id: str,
    target_value: float | None,
    metric: appscaling.PredefinedMetric | cloudwatch.IMetric,
    cooldown: tuple[Duration, Duration],
) -> appscaling.TargetTrackingScalingPolicy | None:
    """A target tracking policy on ``metric`` (predefined or custom) with the (scale-in,
    scale-out) ``cooldown``; None when ``target_value`` is None (the policy is turned off)."""
    if target_value is None:
        return None
    predefined = metric if isinstance(metric, appscaling.PredefinedMetric) else None
    return target.scale_to_track_metric(
        construct_id,
        target_value=target_value,
        predefined_metric=predefined,
        custom_metric=None if isinstance(metric, appscaling.PredefinedMetric) else metric,
        scale_in_cooldown=cooldown[0],
        scale_out_cooldown=cooldown[1],
    )


def step_on_alarm(
    scope: Construct,
    name: str,
    *,
    target: appscaling.ScalableTarget,
    steps: Iterable[Step],
    cooldown_seconds: int,
    alarm_description: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    evaluation_periods: int,
    datapoints_to_alarm: int | None = None,
    aggregation: appscaling.MetricAggregationType = appscaling.MetricAggregationType.AVERAGE,
) -> tuple[appscaling.StepScalingAction, cloudwatch.Alarm]:
    """A step scaling action ``<name>Action`` that adds capacity by ``steps``, and the alarm
    ``<name>Alarm`` (metric >= ``threshold``) that runs it.

    No data is no evidence of demand: a missing datapoint is not breaching (breaching would add
    capacity, and keep adding it while the alarm stayed in ALARM, on a metric gap).
    """
    action = appscaling.StepScalingAction(
        scope,
        f"{name}Action",
        scaling_target=target,
        adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        metric_aggregation_type=aggregation,
        cooldown=cdk_values.seconds(cooldown_seconds),
    )
    for change, lower, upper in steps:
        action.add_adjustment(adjustment=change, lower_bound=lower, upper_bound=upper)
    alarm = cloudwatch.Alarm(
        scope,
        f"{name}Alarm",
        alarm_description=alarm_description,
        metric=metric,
        threshold=threshold,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cw_actions.ApplicationScalingAction(action))
    return action, alarm


def schedule(target: appscaling.ScalableTarget, actions: Sequence[ScheduledCapacity]) -> None:
    """Scheduled actions that move the target's min/max capacity for forecast traffic."""
    for action in actions:
        target.scale_on_schedule(
            action.name,
            schedule=appscaling.Schedule.expression(action.schedule),
            min_capacity=action.min_capacity,
            max_capacity=action.max_capacity,
            time_zone=TimeZone.of(action.timezone) if action.timezone else None,
        )
