"""A real-time SageMaker endpoint, with optional blue/green deployment guardrails.

Real-time endpoints answer ``InvokeEndpoint`` synchronously: at most 6 MB per request and 60 s
per invocation, at least one instance always running. ``RealtimeScaling`` (``realtime_scaling``)
adds the autoscaling strategies of the autoscaling article.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Names
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .. import dlc_image
from .._validation import check_int, raise_if_problems
from ..endpoint import LOCAL_STORAGE_FAMILIES, instance_endpoint_name, instance_variant
from ..model import instance_type_problems
from ._common import VOLUME_KEY_ACTIONS, ModelLike, SynchronousEndpoint, variant_problems

TRAFFIC_ROUTING = ("ALL_AT_ONCE", "CANARY", "LINEAR")
# UpdateEndpoint's auto-rollback takes 1 to 10 alarms.
MAX_ROLLBACK_ALARMS = 10


@dataclass(frozen=True, kw_only=True)
class BlueGreenDeployment:
    """Deployment guardrails: a new fleet takes traffic in steps, rolled back on an alarm.

    ``traffic_routing`` (default ``"ALL_AT_ONCE"``): ``CANARY`` shifts ``step_percent`` of the
    capacity first, then the rest; ``LINEAR`` shifts ``step_percent`` per step. Between steps
    (``wait_interval_seconds``, default 300, the baking period) SageMaker watches the
    alarms; any alarm in ALARM rolls traffic back to the old fleet. ``termination_wait_seconds``
    (default 0) keeps the old fleet after the shift; ``maximum_execution_timeout_seconds`` (default
    None: SageMaker's) bounds the deployment. ``alarm_on_5xx_errors`` and
    ``max_model_latency_ms`` (defaults: on, and None for no latency alarm) make the endpoint's own
    rollback alarms; ``rollback_alarms`` adds alarms made elsewhere.
    """

    traffic_routing: str = "ALL_AT_ONCE"
    step_percent: int = 10
    wait_interval_seconds: int = 300
    termination_wait_seconds: int = 0
    maximum_execution_timeout_seconds: int | None = None
    alarm_on_5xx_errors: bool = True
    max_model_latency_ms: float | None = None
    rollback_alarms: Sequence[cloudwatch.IAlarm] = field(default_factory=tuple)

    def problems(self) -> list[str]:
        """Every problem, as ``"deployment.<field>: ... (got ...)"``."""
        problems: list[str] = []
        if self.traffic_routing not in TRAFFIC_ROUTING:
            problems.append(
                f"deployment.traffic_routing: must be one of {', '.join(TRAFFIC_ROUTING)} "
                f"(got {self.traffic_routing!r})"
            )
        # CanarySize at most 50 % of the fleet; LinearStepSize 10-50 % (SageMaker API).
        low = 10 if self.traffic_routing == "LINEAR" else 1
        check_int(problems, "deployment.step_percent", self.step_percent, minimum=low, maximum=50)
        check_int(
            problems,
            "deployment.wait_interval_seconds",
            self.wait_interval_seconds,
            minimum=0,
            maximum=3600,
        )
        check_int(
            problems,
            "deployment.termination_wait_seconds",
            self.termination_wait_seconds,
            minimum=0,
            maximum=3600,
        )
        if self.maximum_execution_timeout_seconds is not None:
            check_int(
                problems,
                "deployment.maximum_execution_timeout_seconds",
                self.maximum_execution_timeout_seconds,
                minimum=600,
                maximum=28800,
            )
        if self.max_model_latency_ms is not None and (
            isinstance(self.max_model_latency_ms, bool)
            or not isinstance(self.max_model_latency_ms, int | float)
            or not self.max_model_latency_ms > 0
        ):
            problems.append(
                "deployment.max_model_latency_ms: must be a number above 0 "
                f"(got {self.max_model_latency_ms!r})"
            )
        alarms = (
            len(self.rollback_alarms)
            + int(self.alarm_on_5xx_errors is True)
            + int(self.max_model_latency_ms is not None)
        )
        if not 1 <= alarms <= MAX_ROLLBACK_ALARMS:
            problems.append(
                f"deployment: auto-rollback needs 1 to {MAX_ROLLBACK_ALARMS} alarms (got {alarms})"
            )
        return problems


class RealtimeEndpoint(SynchronousEndpoint):
    """``AWS::SageMaker::EndpointConfig`` with one instance-based variant, and its ``Endpoint``.

    ``model`` is any model with a name and an execution role (``HuggingFaceModel`` or a
    multi-container model), served on ``initial_instance_count`` (default 1) instances of
    ``instance_type`` in the variant ``variant_name`` (default ``"AllTraffic"``), each allowed
    ``container_startup_timeout_seconds`` (default 600, 60-3600) to download the model and pass
    its health check. The instance volume is encrypted with ``volume_key`` (default: none
    given, SageMaker's AWS-managed key), except on instance families with local NVMe storage,
    which refuse a volume key (their storage is encrypted by the hardware).

    With ``deployment`` (default None: SageMaker replaces the fleet all at once, without
    rollback) updates go blue/green with CloudWatch-alarm auto-rollback. The rollback alarms
    watch this endpoint's metrics while the endpoint lists the alarms; the endpoint's literal name
    breaks the cycle.

    The endpoint's name is derived from its construct path and ends with the instance type (no
    clock, no randomness): a new ``instance_type`` replaces the endpoint rather than updating
    it, because SageMaker refuses to change the instance type of a variant registered with
    autoscaling (``instance_endpoint_name``). A blue/green deployment covers the other updates.

    ``grant_invoke`` gives a caller ``sagemaker:InvokeEndpoint`` on this endpoint only.
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
        check_int(
            problems,
            "container_startup_timeout_seconds",
            container_startup_timeout_seconds,
            minimum=60,
            maximum=3600,
        )
        problems += variant_problems(variant_name)
        if deployment is not None:
            problems += deployment.problems()
        raise_if_problems("RealtimeEndpoint", problems)

        self.model = model
        self.role = model.role
        self.variant_name = variant_name
        self.instance_type = instance_type
        uses_local_storage = dlc_image.instance_family(instance_type) in LOCAL_STORAGE_FAMILIES
        key = None if uses_local_storage or volume_key is None else volume_key
        self.cfn_endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                instance_variant(
                    variant_name=variant_name,
                    model_name=model.model_name,
                    instance_type=instance_type,
                    initial_instance_count=initial_instance_count,
                    startup_timeout_seconds=container_startup_timeout_seconds,
                )
            ],
            kms_key_id=key.key_arn if key is not None else None,
        )
        if key is not None:
            key.grant(self.role, *VOLUME_KEY_ACTIONS)

        self.rollback_alarms: list[cloudwatch.IAlarm] = []
        if deployment is None:
            self._create_endpoint(instance_type=instance_type)
            return
        name = instance_endpoint_name(self, instance_type) or Names.unique_resource_name(
            self, max_length=63, separator="-"
        )
        self._endpoint_name = name
        self._add_rollback_alarms(deployment)
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
        step = sagemaker.CfnEndpoint.CapacitySizeProperty(
            type="CAPACITY_PERCENT", value=deployment.step_percent
        )
        routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type=deployment.traffic_routing,
            wait_interval_in_seconds=deployment.wait_interval_seconds,
            canary_size=step if deployment.traffic_routing == "CANARY" else None,
            linear_step_size=step if deployment.traffic_routing == "LINEAR" else None,
        )
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=routing,
                termination_wait_in_seconds=deployment.termination_wait_seconds,
                maximum_execution_timeout_in_seconds=deployment.maximum_execution_timeout_seconds,
            ),
            auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[
                    sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name)
                    for alarm in self.rollback_alarms
                ]
            ),
        )

    def metric_gpu_utilization(self, **props: Any) -> cloudwatch.Metric:
        """GPU use summed over the instance's GPUs (Average; 0-100 % per GPU)."""
        return self.metric("GPUUtilization", **props)
