"""A real-time SageMaker endpoint, with optional blue/green deployment guardrails.

Real-time endpoints answer ``InvokeEndpoint`` synchronously: at most 6 MB per request and 60 s
per invocation, at least one instance always running. ``RealtimeScaling`` (``realtime_scaling``)
adds the autoscaling strategies of the autoscaling article.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Names
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib._validation import check_int, raise_if_problems
from constructs_lib.endpoint.construct import (
    check_container_timeout,
    instance_endpoint_name,
    instance_variant,
)
from constructs_lib.endpoint.deployment import blue_green_config, grant_describe_alarms
from constructs_lib.hosting._common import (
    ModelLike,
    SynchronousEndpoint,
    variant_problems,
)
from constructs_lib.hosting.realtime_settings import (
    BlueGreenDeployment,
)
from constructs_lib.model.instance_types import instance_type_problems


class RealtimeEndpoint(SynchronousEndpoint):
    """``AWS::SageMaker::EndpointConfig`` with one instance-based variant, and its ``Endpoint``.

    With ``deployment`` updates go blue/green with CloudWatch-alarm auto-rollback. The rollback
    alarms watch this endpoint's metrics while the endpoint lists the alarms; the endpoint's
    literal name breaks the cycle. The execution role may ``cloudwatch:DescribeAlarms`` on
    exactly those alarms, which SageMaker needs to read them during a deployment.

    The endpoint's name is derived from its construct path and ends with the instance type (no
    clock, no randomness): a new ``instance_type`` replaces the endpoint rather than updating
    it, because SageMaker refuses to change the instance type of a variant registered with
    autoscaling (``instance_endpoint_name``). A blue/green deployment covers the other updates.

    ``grant_invoke`` gives a caller ``sagemaker:InvokeEndpoint`` on this endpoint only.

    Args:
        model: any model with a name and an execution role (``HuggingFaceModel`` or a
            multi-container model).
        instance_type: the variant's instance type.
        initial_instance_count: instances of the variant. Default: ``1``.
        variant_name: the production variant's name. Default: ``"AllTraffic"``.
        volume_key: encrypts the instance volume, except on instance families with local NVMe
            storage, which refuse one (the hardware encrypts it). Default: ``None`` (SageMaker's
            AWS-managed key).
        container_startup_timeout_seconds: each instance's time to download the model and pass
            its health check, 60-3600. Default: ``600``.
        deployment: blue/green guardrails for updates. Default: ``None`` (SageMaker replaces
            the fleet all at once, without rollback).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ModelLike,
        instance_type: str,
        initial_instance_count: int = 1,
        variant_name: str = "AllTraffic",
        volume_key: kms.IKey | None = None,
        container_startup_timeout_seconds: int = 600,
        deployment: BlueGreenDeployment | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = instance_type_problems("instance_type", instance_type)
        check_int(problems, "initial_instance_count", initial_instance_count, minimum=1)
        check_container_timeout(
            problems, "container_startup_timeout_seconds", container_startup_timeout_seconds
        )
        problems += variant_problems(variant_name)
        if deployment is not None:
            problems += deployment.problems()
        raise_if_problems("RealtimeEndpoint", problems)

        self.model = model
        self.role = model.role
        self.variant_name = variant_name
        self.instance_type = instance_type
        self._create_endpoint_config(
            variant=instance_variant(
                variant_name=variant_name,
                model_name=model.model_name,
                instance_type=instance_type,
                initial_instance_count=initial_instance_count,
                startup_timeout_seconds=container_startup_timeout_seconds,
            ),
            instance_type=instance_type,
            volume_key=volume_key,
        )

        self.rollback_alarms: list[cloudwatch.IAlarm] = []
        if deployment is None:
            self._create_endpoint(instance_type=instance_type)
            return
        name = instance_endpoint_name(self, instance_type) or Names.unique_resource_name(
            self, max_length=63, separator="-"
        )
        self._endpoint_name = name
        self._add_rollback_alarms(deployment)
        grant_describe_alarms(self.role, [alarm.alarm_arn for alarm in self.rollback_alarms])
        self._create_endpoint(
            endpoint_name=name, deployment_config=self._deployment_config(deployment)
        )

    def _add_rollback_alarms(self, deployment: BlueGreenDeployment) -> None:
        if deployment.alarm_on_5xx_errors:
            self.rollback_alarms.append(
                cloudwatch.Alarm(
                    self,
                    "Rollback5xxAlarm",
                    alarm_description="Model 5xx errors during a deployment: roll back.",
                    metric=self.metric_invocation_5xx_errors(),
                    threshold=1,
                    comparison_operator=(
                        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                    ),
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        if deployment.max_model_latency_ms is not None:
            self.rollback_alarms.append(
                cloudwatch.Alarm(
                    self,
                    "RollbackLatencyAlarm",
                    alarm_description=(
                        f"Model latency above {deployment.max_model_latency_ms:g} ms during a "
                        "deployment: roll back."
                    ),
                    # ModelLatency is published in microseconds.
                    metric=self.metric_model_latency(statistic="p90"),
                    threshold=deployment.max_model_latency_ms * 1000,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=2,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        self.rollback_alarms.extend(deployment.rollback_alarms)

    def _deployment_config(
        self, deployment: BlueGreenDeployment
    ) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
        return blue_green_config(
            traffic_routing=deployment.traffic_routing,
            step_percent=deployment.step_percent,
            wait_interval_seconds=deployment.wait_interval_seconds,
            termination_wait_seconds=deployment.termination_wait_seconds,
            maximum_execution_timeout_seconds=deployment.maximum_execution_timeout_seconds,
            alarm_names=[alarm.alarm_name for alarm in self.rollback_alarms],
        )

    def metric_gpu_utilization(self, **props: Any) -> cloudwatch.Metric:
        """GPU use summed over the instance's GPUs (Average; 0-100 % per GPU)."""
        return self.metric("GPUUtilization", **props)
