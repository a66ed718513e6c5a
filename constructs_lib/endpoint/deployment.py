"""The async endpoint's deployment guardrails in CloudFormation: rollback alarms, the endpoint's
``DeploymentConfig`` and the execution role's right to read those alarms.

"You can only use the auto-rollback functionality in deployment guardrails if you set up
CloudWatch alarms that can monitor an endpoint. If any of your alarms trip during the specified
monitoring period, SageMaker AI initiates a complete rollback to the old endpoint", and "Ensure
that your IAM execution role has permission to perform the cloudwatch:DescribeAlarms action on
the auto-rollback alarms you specify" ("Configure and manage deployment guardrails",
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
DescribeAlarms takes alarm ARNs as resources; only composite alarms need it on ``*``
(CloudWatch API reference, DescribeAlarms), and these are metric alarms.

The endpoint lists the alarms and the alarms watch the endpoint: they read its name as a literal
(the endpoint's physical name is derived at synthesis, ``instance_endpoint_name``), never with
``GetAtt``, so the template has no cycle and the alarms exist before the endpoint is updated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib.endpoint.base import ENDPOINT_NAMESPACE
from constructs_lib.endpoint.deployment_settings import DeploymentSettings

RUNBOOK = "Runbook: docs/deployments.md."


def alarm_arn(alarm_name: str) -> str:
    """The ARN of this account's and region's alarm ``alarm_name`` (a name or its token)."""
    return (
        f"arn:{cdk_values.PARTITION}:cloudwatch:{cdk_values.REGION}:{cdk_values.ACCOUNT_ID}"
        f":alarm:{alarm_name}"
    )


def rollback_alarms(
    scope: Construct,
    *,
    settings: DeploymentSettings,
    endpoint_name: str,
    variant_name: str,
) -> list[cloudwatch.CfnAlarm]:
    """The endpoint's own rollback alarms: invocation failures and, unless turned off, model
    latency. No actions: they gate deployments; ``AsyncEndpointMonitoring`` pages.

    Both read the variant's metrics (``EndpointName`` + ``VariantName``), which cover the old and
    the new fleet. The developer guide's new-fleet-only alarm adds the ``EndpointConfigName``
    dimension, which it documents for real-time endpoints; for asynchronous ones it is not
    documented, and an alarm on a dimension that is never published never fires. With all
    traffic on the new fleet during the bake, the variant's metrics are the new fleet's.
    """
    dimensions = [
        cloudwatch.CfnAlarm.DimensionProperty(name="EndpointName", value=endpoint_name),
        cloudwatch.CfnAlarm.DimensionProperty(name="VariantName", value=variant_name),
    ]

    def alarm(construct_id: str, what: str, **metric_and_threshold: Any) -> cloudwatch.CfnAlarm:
        """A one-minute alarm on a variant metric; ``what`` opens its description."""
        return cloudwatch.CfnAlarm(
            scope,
            construct_id,
            alarm_description=(
                f"Async endpoint {endpoint_name}: {what} During a deployment this rolls the "
                f"update back to the old fleet. {RUNBOOK}"
            ),
            namespace=ENDPOINT_NAMESPACE,
            dimensions=dimensions,
            period=60,
            # Counters are published only with traffic, and an endpoint at zero instances
            # publishes almost nothing: no data means nothing failed.
            treat_missing_data="notBreaching",
            **metric_and_threshold,
        )

    alarms = [
        alarm(
            "RollbackFailuresAlarm",
            f"{settings.failures_threshold} or more invocations failed in a minute.",
            metric_name="InvocationFailures",
            statistic="Sum",
            evaluation_periods=1,
            datapoints_to_alarm=1,
            threshold=settings.failures_threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
    ]
    latency = settings.max_model_latency_seconds
    if latency is not None:
        alarms.append(
            alarm(
                "RollbackLatencyAlarm",
                f"model latency p90 above {latency:g} s in 2 of 3 minutes.",
                metric_name="ModelLatency",
                extended_statistic="p90",
                evaluation_periods=3,
                datapoints_to_alarm=2,
                # ModelLatency is published in microseconds.
                threshold=latency * 1_000_000,
                comparison_operator="GreaterThanThreshold",
            )
        )
    return alarms


def deployment_config(
    settings: DeploymentSettings, alarm_names: Sequence[str]
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """``AWS::SageMaker::Endpoint.DeploymentConfig`` of ``settings`` rolling back on
    ``alarm_names`` (1 to 10, checked by the caller)."""
    step = sagemaker.CfnEndpoint.CapacitySizeProperty(
        type="CAPACITY_PERCENT", value=settings.step_percent
    )
    rollback = sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
        alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name) for name in alarm_names]
    )
    if settings.strategy == "ROLLING":
        rollback_step = settings.rollback_step_percent
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            rolling_update_policy=sagemaker.CfnEndpoint.RollingUpdatePolicyProperty(
                maximum_batch_size=step,
                wait_interval_in_seconds=settings.wait_interval_seconds,
                maximum_execution_timeout_in_seconds=settings.maximum_execution_timeout_seconds,
                rollback_maximum_batch_size=(
                    None
                    if rollback_step is None
                    else sagemaker.CfnEndpoint.CapacitySizeProperty(
                        type="CAPACITY_PERCENT", value=rollback_step
                    )
                ),
            ),
            auto_rollback_configuration=rollback,
        )
    return blue_green_config(
        traffic_routing=settings.strategy,
        step_percent=settings.step_percent,
        wait_interval_seconds=settings.wait_interval_seconds,
        termination_wait_seconds=settings.termination_wait,
        maximum_execution_timeout_seconds=settings.maximum_execution_timeout_seconds,
        alarm_names=alarm_names,
    )


def blue_green_config(
    *,
    traffic_routing: str,
    step_percent: int,
    wait_interval_seconds: int,
    termination_wait_seconds: int | None,
    maximum_execution_timeout_seconds: int | None,
    alarm_names: Sequence[str],
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """A blue/green ``DeploymentConfig`` (``ALL_AT_ONCE``, ``CANARY`` or ``LINEAR`` traffic
    shifting, in steps of ``step_percent`` of the capacity), rolling back on ``alarm_names``;
    the asynchronous and the real-time endpoints share it."""
    step = sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=step_percent)
    routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type=traffic_routing,
        wait_interval_in_seconds=wait_interval_seconds,
        canary_size=step if traffic_routing == "CANARY" else None,
        linear_step_size=step if traffic_routing == "LINEAR" else None,
    )
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=routing,
            termination_wait_in_seconds=termination_wait_seconds,
            maximum_execution_timeout_in_seconds=maximum_execution_timeout_seconds,
        ),
        auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name) for name in alarm_names]
        ),
    )


def grant_describe_alarms(role: iam.IRole, alarm_arns: Sequence[str]) -> iam.Grant:
    """``cloudwatch:DescribeAlarms`` on exactly these alarms, for the execution role.

    "Ensure that your IAM execution role has permission to perform the
    cloudwatch:DescribeAlarms action on the auto-rollback alarms you specify"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
    DescribeAlarms takes alarm ARNs as resources (Service Authorization Reference), so the grant
    names these alarms only.
    """
    return iam.Grant.add_to_principal(
        grantee=role, actions=["cloudwatch:DescribeAlarms"], resource_arns=list(alarm_arns)
    )
